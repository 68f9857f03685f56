use sea_orm::entity::prelude::*;

/// Evidence sent with a complaint (a photo, document or voice note; an e-mail part). Belongs to a
/// conversation until the complaint is filed, then to the case. `content_ct` is empty
/// until the file is downloaded and checked.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
    pub channel: String,
    pub media_ref: String,
    pub mime_type: String,
    pub declared_sha256: Option<String>,
    pub size_bytes: Option<i64>,
    pub caption_ct: Option<Vec<u8>>,
    pub content_ct: Option<Vec<u8>>,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    /// Claims whose work has not reported back (see `buzon::outbox::claim`).
    pub open_claims: i32,
    pub created_at: DateTimeUtc,
    /// SHA-256 (hex) of the stored content, computed here.
    pub content_sha256: Option<String>,
    /// The file name as sent (e-mail), encrypted: names often identify people.
    pub filename_ct: Option<Vec<u8>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
