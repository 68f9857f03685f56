use sea_orm::entity::prelude::*;

/// A delivery status callback that arrived before the outbox row it is about knew
/// its provider id; applied when the row is marked sent, forgotten after a day.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_statuses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider_key: Vec<u8>,
    pub status: String,
    /// A `failed` status's error code and title.
    pub detail: Option<String>,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
