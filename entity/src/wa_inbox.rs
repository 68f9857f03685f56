use sea_orm::entity::prelude::*;

/// One WhatsApp message as delivered by a signed webhook, stored before the webhook is
/// answered and worked from here. `message_key` (blind index of the WhatsApp message
/// id) is unique, so a redelivery is a no-op.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "wa_inbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub message_key: Vec<u8>,
    pub sender_bidx: Vec<u8>,
    pub payload_ct: Vec<u8>,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    /// Claims whose work has not reported back (see `buzon::outbox::claim`).
    pub open_claims: i32,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
