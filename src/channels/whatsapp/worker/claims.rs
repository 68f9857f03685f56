//! How the WhatsApp workers' rows are claimed (see [`outbox::claim`]).

use super::FAILED;
use crate::outbox;
use entity::{attachment, wa_inbox};

/// The inbox's rows as [`outbox::claim`] takes them: a message whose working
/// stopped the process on every claim is set aside as failed.
pub const INBOX_CLAIMS: outbox::Claims<wa_inbox::Column> = outbox::Claims {
    table: "wa_inbox",
    id: wa_inbox::Column::Id,
    state: wa_inbox::Column::State,
    due: wa_inbox::Column::NextAttemptAt,
    lock: wa_inbox::Column::LockedUntil,
    open_claims: wa_inbox::Column::OpenClaims,
    aside: FAILED,
    reason: None,
};

/// Evidence downloads as [`outbox::claim`] takes them: one whose download stopped
/// the process on every claim is given up (failed).
pub const MEDIA_CLAIMS: outbox::Claims<attachment::Column> = outbox::Claims {
    table: "attachments",
    id: attachment::Column::Id,
    state: attachment::Column::State,
    due: attachment::Column::NextAttemptAt,
    lock: attachment::Column::LockedUntil,
    open_claims: attachment::Column::OpenClaims,
    aside: FAILED,
    reason: None,
};
