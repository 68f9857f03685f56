use sea_orm::entity::prelude::*;

/// A WhatsApp intake in progress: everything the worker answered so far, encrypted.
/// Erased when filed, cancelled, deleted or idle past its expiry.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "wa_conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub sender_bidx: Vec<u8>,
    pub state_ct: Vec<u8>,
    pub updated_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
