use sea_orm::entity::prelude::*;

/// A WhatsApp contact's 24-hour customer-service window: when their last message
/// arrived (server clock) and when a template last asked them to write, keyed by the
/// sender's blind index only.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "wa_contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sender_bidx: Vec<u8>,
    pub last_inbound_at: DateTimeUtc,
    pub template_sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
