use sea_orm::entity::prelude::*;

/// Evidence sent with a complaint (a photo, document or voice note; an e-mail part). Belongs to a
/// conversation until the complaint is filed, then to the case. `content_ct` is empty
/// until the file is downloaded and checked.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
///
/// The legacy plaintext columns `legacy_media_ref`, `declared_sha256`,
/// `content_sha256` and `size_bytes` are not mapped: nothing writes them, and the
/// server's start-up backfill encrypts and empties what older versions left there.
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
    pub channel: String,
    /// The WhatsApp media id, encrypted (`None` for e-mail parts).
    pub media_ref_ct: Option<Vec<u8>>,
    /// Kept in clear: the evidence pages and the download worker's checks need it,
    /// and a type alone points at no document.
    pub mime_type: String,
    /// The SHA-256 (hex) WhatsApp announced, encrypted.
    pub declared_sha256_ct: Option<Vec<u8>>,
    /// The size in bytes (decimal), encrypted.
    pub size_ct: Option<Vec<u8>>,
    pub caption_ct: Option<Vec<u8>>,
    pub content_ct: Option<Vec<u8>>,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    /// Claims whose work has not reported back (see `buzon::outbox::claim`).
    pub open_claims: i32,
    pub created_at: DateTimeUtc,
    /// SHA-256 (hex) of the stored content, computed here, encrypted.
    pub sha256_ct: Option<Vec<u8>>,
    /// The file name as sent (e-mail), encrypted: names often identify people.
    pub filename_ct: Option<Vec<u8>>,
    /// Why the file was refused or given up on (`rejected`, `failed`).
    pub failure: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
