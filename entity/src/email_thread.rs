use sea_orm::entity::prelude::*;

/// A Message-ID (blind-indexed) known to belong to a case: our acknowledgements
/// (`ours`: unguessable, so a reply naming one threads from any sender) and the
/// complainant's own messages (thread only when the reply comes from the case's
/// contact: anyone can put a Message-ID in a reply).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "email_threads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub message_key: Vec<u8>,
    pub case_id: Uuid,
    pub ours: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
