//! Retention: a case closed longer than `retention_days` (and not changed since)
//! loses everything that could identify anyone, and keeps the facts that count for
//! statistics.
//!
//! Erased: the complainant's and every member's name, phone, e-mail and worker id
//! (and their blind indexes), the narrative (replaced by an empty one), messages,
//! internal notes, attachments, evidence, RRM petition answers, and the raw e-mail
//! the case came from with its thread ids. Kept: the case reference and receipts (a
//! worker can still see "closed"), status, channel, dates, state, sector, employer
//! and city (the workplace, not the worker), violations, routing and referrals, the
//! organization and number of workers affected, and the audit log (which records
//! each purge). A case reopened before the purge reaches it is not touched: the
//! purge checks the status again in the same transaction that erases.
//!
//! SQLite runs with `secure_delete` (see [`crate::db::connect`]) and the purge ends
//! with a WAL checkpoint, so erased ciphertexts do not linger in free pages or the
//! log. On PostgreSQL, erased row versions stay on disk until (auto)vacuum reclaims
//! them; run `VACUUM` after a large purge if that matters.
//!
//! The server runs the purge every `purge_interval_secs`; `buzon purge --dry-run`
//! shows what it would erase and `--execute` runs it now. Several instances may run
//! it at once: each case is claimed by the conditional update that marks it purged.

use crate::crypto::{Aad, KeyRing};
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

/// Closed, unchanged since before `cutoff`, not yet purged.
const DUE: &str = "status = 'closed' AND updated_at < $1 AND purged_at IS NULL";

/// What a purge would erase now.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub cases: i64,
    pub messages: i64,
    pub notes: i64,
    pub attachments: i64,
    pub evidence: i64,
    pub members: i64,
    /// The longest-closed of them: when it last changed.
    pub oldest: Option<DateTime<Utc>>,
}

/// The moment before which a closed case is due.
pub fn cutoff(retention: Duration, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    now.checked_sub_signed(retention)
        .context("retention period out of range")
}

/// Counts what [`purge`] would erase, changing nothing.
pub async fn plan(db: &DatabaseConnection, cutoff: DateTime<Utc>) -> anyhow::Result<Plan> {
    let count = |table: &'static str| {
        let sql = format!(
            "SELECT COUNT(*) FROM {table} WHERE case_id IN (SELECT id FROM cases WHERE {DUE})"
        );
        async move {
            let row = crate::db::row(db, &sql, vec![cutoff.into()]).await?;
            Ok::<i64, anyhow::Error>(match row {
                Some(r) => r.try_get_by_index(0)?,
                None => 0,
            })
        }
    };
    let head = crate::db::row(
        db,
        &format!("SELECT COUNT(*), MIN(updated_at) FROM cases WHERE {DUE}"),
        vec![cutoff.into()],
    )
    .await?
    .context("no count")?;
    Ok(Plan {
        cases: head.try_get_by_index(0)?,
        oldest: head.try_get_by_index(1)?,
        messages: count("case_messages").await?,
        notes: count("case_notes").await?,
        attachments: count("attachments").await?,
        evidence: count("case_evidence").await?,
        members: count("case_members").await?,
    })
}

/// Erases the identifying data of every due case, one transaction per case, at most
/// `limit` cases. Returns how many were purged.
pub async fn purge(
    db: &DatabaseConnection,
    keys: &KeyRing,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> anyhow::Result<u64> {
    let mut purged = 0;
    while purged < limit {
        let ids: Vec<Uuid> = crate::db::all(
            db,
            &format!("SELECT id FROM cases WHERE {DUE} ORDER BY updated_at LIMIT 100"),
            vec![cutoff.into()],
            |r| r.try_get_by_index(0),
        )
        .await?;
        if ids.is_empty() {
            break;
        }
        let mut claimed_any = false;
        for id in ids {
            if purged >= limit {
                break;
            }
            if purge_case(db, keys, id, cutoff).await? {
                purged += 1;
                claimed_any = true;
            }
        }
        if !claimed_any {
            // Another instance took them all between our read and our writes.
            break;
        }
    }
    if purged > 0 && db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        // Erased pages are zeroed (secure_delete); their old versions leave the WAL.
        crate::db::exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", vec![]).await?;
    }
    Ok(purged)
}

async fn purge_case(
    db: &DatabaseConnection,
    keys: &KeyRing,
    id: Uuid,
    cutoff: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let empty = keys
        .cipher
        .encrypt_str(
            Aad {
                table: "cases",
                column: "narrative_ct",
                row: id,
            },
            "",
        )
        .context("cannot encrypt")?;
    let txn = db.begin().await.context("cannot begin")?;
    // The claim comes first (a write, so SQLite takes its lock before any read) and
    // re-checks that the case is still due: a case reopened meanwhile is left alone.
    let claimed = crate::db::exec(
        &txn,
        &format!("UPDATE cases SET purged_at = $2, narrative_ct = $3 WHERE id = $4 AND {DUE}"),
        vec![cutoff.into(), Utc::now().into(), empty.into(), id.into()],
    )
    .await?;
    if claimed == 0 {
        txn.rollback().await.ok();
        return Ok(false);
    }
    for sql in [
        "UPDATE complainants SET name_ct = NULL, phone_ct = NULL, email_ct = NULL, \
         worker_id_ct = NULL, phone_bidx = NULL, email_bidx = NULL, wa_id_ct = NULL, \
         wa_sender_bidx = NULL WHERE case_id = $1",
        "UPDATE case_members SET name_ct = NULL, phone_ct = NULL, email_ct = NULL, \
         worker_id_ct = NULL WHERE case_id = $1",
        "UPDATE rrm_petitions SET answers_ct = NULL WHERE case_id = $1",
        "DELETE FROM case_messages WHERE case_id = $1",
        "DELETE FROM case_notes WHERE case_id = $1",
        "DELETE FROM attachments WHERE case_id = $1",
        "DELETE FROM case_evidence WHERE case_id = $1",
        "DELETE FROM email_inbox WHERE case_id = $1",
        "DELETE FROM email_threads WHERE case_id = $1",
    ] {
        crate::db::exec(&txn, sql, vec![id.into()])
            .await
            .with_context(|| {
                format!(
                    "purge failed at: {}",
                    sql.split(" WHERE").next().unwrap_or(sql)
                )
            })?;
    }
    crate::audit::append(
        &txn,
        keys,
        crate::audit::Event::new(None, "purge")
            .case(id)
            .detail("retention"),
    )
    .await?;
    txn.commit().await.context("cannot commit a purge")?;
    Ok(true)
}

/// The server's schedule: purge every `interval` while `retention` is set.
pub async fn run_schedule(
    db: DatabaseConnection,
    keys: std::sync::Arc<KeyRing>,
    retention: Duration,
    interval: std::time::Duration,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let done = async {
            let cutoff = cutoff(retention, Utc::now())?;
            purge(&db, &keys, cutoff, u64::MAX).await
        }
        .await;
        match done {
            Ok(0) => {}
            Ok(n) => tracing::info!(cases = n, "retention purge erased closed cases"),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "retention purge failed; retrying next time")
            }
        }
    }
}
