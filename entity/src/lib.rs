//! SeaORM entities for Buzón: table shapes only, no behaviour (that lives in the
//! `buzon` crate). `*_ct` columns are AES-256-GCM ciphertexts, `*_bidx` columns are
//! HMAC-SHA256 blind indexes; see `buzon::crypto`.

pub mod attachment;
pub mod authority;
pub mod case;
pub mod case_message;
pub mod case_suggested_violation;
pub mod case_violation;
pub mod complainant;
pub mod delivery_status;
pub mod email_inbox;
pub mod email_thread;
pub mod outbox;
pub mod setting;
pub mod wa_contact;
pub mod wa_conversation;
pub mod wa_inbox;
pub mod workplace;

pub mod prelude {
    pub use super::attachment::Entity as Attachment;
    pub use super::authority::Entity as Authority;
    pub use super::case::Entity as Case;
    pub use super::case_message::Entity as CaseMessage;
    pub use super::case_suggested_violation::Entity as CaseSuggestedViolation;
    pub use super::case_violation::Entity as CaseViolation;
    pub use super::complainant::Entity as Complainant;
    pub use super::delivery_status::Entity as DeliveryStatus;
    pub use super::email_inbox::Entity as EmailInbox;
    pub use super::email_thread::Entity as EmailThread;
    pub use super::outbox::Entity as Outbox;
    pub use super::setting::Entity as Setting;
    pub use super::wa_conversation::Entity as WaConversation;
    pub use super::wa_inbox::Entity as WaInbox;
    pub use super::workplace::Entity as Workplace;
}
