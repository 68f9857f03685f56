use sea_orm::entity::prelude::*;

/// One e-mail as received (SMTP listener or inbound-mail webhook), stored encrypted
/// before the sender is told it was accepted, and worked from here. `message_key`
/// (blind index of sender and Message-ID, or of the raw bytes when there is no
/// Message-ID) is unique, so the same message delivered twice is stored once.
/// `state`: `pending`, `done` (raw erased) or `held` (kept encrypted for a human).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "email_inbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub message_key: Vec<u8>,
    pub sender_bidx: Vec<u8>,
    pub source: String,
    pub raw_ct: Vec<u8>,
    pub envelope_ct: Option<Vec<u8>>,
    pub state: String,
    /// `case`, `follow_up`, or why it was held (`unparseable`, `bounce`, ...).
    pub outcome: Option<String>,
    pub case_id: Option<Uuid>,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    /// Claims whose work has not reported back (see `buzon::outbox::claim`).
    pub open_claims: i32,
    pub received_at: DateTimeUtc,
    /// When an acknowledgement was queued for it (the daily cap counts these).
    pub acked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
