use sea_orm::entity::prelude::*;

/// A side effect to perform (a WhatsApp reply, later an e-mail), written in the same
/// transaction as what caused it and retried with backoff until sent or dead.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub channel: String,
    pub recipient_bidx: Vec<u8>,
    pub payload_ct: Vec<u8>,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    /// Claims whose work has not reported back (see `buzon::outbox::claim`).
    pub open_claims: i32,
    pub last_error: Option<String>,
    pub provider_key: Option<Vec<u8>>,
    pub delivery: Option<String>,
    /// The case a notice is about (none for conversation replies).
    pub case_id: Option<Uuid>,
    /// Code and title of a `failed` delivery status, as WhatsApp gave them.
    pub delivery_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
