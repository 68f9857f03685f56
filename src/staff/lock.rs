//! Sign-in failures and the lockout, per e-mail address (issue 30, findings 3 and 7).
//!
//! One row of `signin_locks` per address that failed lately, keyed by the blind index
//! of the normalised e-mail ([`super::email_key`]), for real and unknown addresses
//! alike: both lock after [`LOCK_AFTER`] failures, stay locked [`LOCK_FOR`], answer
//! the same meanwhile and recover the same way, so the lockout tells nobody which
//! addresses have an account. The table is in the database, so every instance sees
//! the same count.
//!
//! A try is taken ([`take`]) before the password (or second factor) is checked, by
//! one conditional UPDATE that succeeds only while tries remain and no lock is in
//! force, so a burst of simultaneous attempts gets no more checks than
//! [`LOCK_AFTER`]. A failed check keeps its try and locks at the last one
//! ([`fail`]); a right password gives its try back ([`release`]); a completed sign-in
//! forgets the failures ([`clear`]). Times follow [`crate::clock`].
//!
//! Rows quiet for [`FORGET_AFTER`] (and not locked) count as empty and are deleted
//! by [`sweep`], for every address the same way, so the table stays bounded by the
//! addresses tried in a day.

use super::{LOCK_AFTER, LOCK_FOR};
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

/// Failures older than this (with no lock in force) are forgotten.
pub const FORGET_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// Takes one try for `key` before a check: `false` (nothing taken) while the address
/// is locked or its [`LOCK_AFTER`] tries are all taken.
pub async fn take(db: &impl ConnectionTrait, key: &[u8]) -> anyhow::Result<bool> {
    let now = crate::clock::now();
    crate::db::exec(
        db,
        "INSERT INTO signin_locks (email_bidx, failures, locked_until, updated_at) \
         VALUES ($1, 0, NULL, $2) ON CONFLICT (email_bidx) DO NOTHING",
        vec![key.to_vec().into(), now.into()],
    )
    .await?;
    // A row starts over (one try taken) when its lock has run out, its failures are
    // a day old, or its last tries were taken a lock's length ago and never resolved
    // (a crash between take and fail).
    let stale = "(locked_until IS NOT NULL OR updated_at <= $3 \
                 OR (failures >= $5 AND updated_at <= $4))";
    let taken = crate::db::exec(
        db,
        &format!(
            "UPDATE signin_locks SET \
             failures = CASE WHEN {stale} THEN 1 ELSE failures + 1 END, \
             locked_until = NULL, updated_at = $2 \
             WHERE email_bidx = $1 AND (locked_until IS NULL OR locked_until <= $2) \
             AND (failures < $5 OR {stale})"
        ),
        vec![
            key.to_vec().into(),
            now.into(),
            (now - FORGET_AFTER).into(),
            (now - LOCK_FOR).into(),
            LOCK_AFTER.into(),
        ],
    )
    .await?;
    Ok(taken == 1)
}

/// What a failed check did to the address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failed {
    /// Counted; tries remain.
    Counted,
    /// Counted, and this failure spent the last try: locked from now.
    LockedNow,
    /// Counted while another failure locked it.
    Locked,
}

impl Failed {
    pub fn locked(self) -> bool {
        self != Self::Counted
    }
}

/// A failed check: its try stays taken; the [`LOCK_AFTER`]th locks for [`LOCK_FOR`].
pub async fn fail(db: &impl ConnectionTrait, key: &[u8]) -> anyhow::Result<Failed> {
    let now = crate::clock::now();
    let locked = crate::db::exec(
        db,
        "UPDATE signin_locks SET locked_until = $2, updated_at = $3 \
         WHERE email_bidx = $1 AND failures >= $4 AND locked_until IS NULL",
        vec![
            key.to_vec().into(),
            (now + LOCK_FOR).into(),
            now.into(),
            LOCK_AFTER.into(),
        ],
    )
    .await?;
    if locked == 1 {
        return Ok(Failed::LockedNow);
    }
    Ok(if locked_until(db, key).await?.is_some() {
        Failed::Locked
    } else {
        Failed::Counted
    })
}

/// A right password: its try is given back (the second factor is still to come, so
/// earlier failures stay counted).
pub async fn release(db: &impl ConnectionTrait, key: &[u8]) -> anyhow::Result<()> {
    crate::db::exec(
        db,
        "UPDATE signin_locks SET failures = failures - 1 \
         WHERE email_bidx = $1 AND failures > 0 AND locked_until IS NULL",
        vec![key.to_vec().into()],
    )
    .await?;
    Ok(())
}

/// A completed sign-in: the failures are forgotten (a lock in force stays).
pub async fn clear(db: &impl ConnectionTrait, key: &[u8]) -> anyhow::Result<()> {
    crate::db::exec(
        db,
        "UPDATE signin_locks SET failures = 0 \
         WHERE email_bidx = $1 AND failures <> 0 AND locked_until IS NULL",
        vec![key.to_vec().into()],
    )
    .await?;
    Ok(())
}

/// When the lock of `key` ends, if one is in force.
pub async fn locked_until(
    db: &impl ConnectionTrait,
    key: &[u8],
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let row = crate::db::row(
        db,
        "SELECT locked_until FROM signin_locks WHERE email_bidx = $1",
        vec![key.to_vec().into()],
    )
    .await?;
    let until: Option<DateTime<Utc>> = match row {
        Some(r) => r.try_get_by_index(0)?,
        None => None,
    };
    Ok(until.filter(|t| *t > crate::clock::now()))
}

/// The lock key (e-mail blind index) of a staff member.
pub async fn key_of(db: &impl ConnectionTrait, staff_id: Uuid) -> anyhow::Result<Vec<u8>> {
    let row = crate::db::row(
        db,
        "SELECT email_bidx FROM staff WHERE id = $1",
        vec![staff_id.into()],
    )
    .await?;
    match row {
        Some(r) => Ok(r.try_get_by_index(0)?),
        None => anyhow::bail!("staff member not found"),
    }
}

/// Lifts a member's lock and forgets their failures (`buzon staff unlock`, a new
/// password).
pub async fn lift(db: &impl ConnectionTrait, staff_id: Uuid) -> anyhow::Result<()> {
    crate::db::exec(
        db,
        "DELETE FROM signin_locks WHERE email_bidx = (SELECT email_bidx FROM staff WHERE id = $1)",
        vec![staff_id.into()],
    )
    .await?;
    Ok(())
}

/// Deletes the rows that count as empty (quiet for [`FORGET_AFTER`], no lock in
/// force), of real and unknown addresses alike; how many.
pub async fn sweep(db: &impl ConnectionTrait) -> anyhow::Result<u64> {
    let now = crate::clock::now();
    crate::db::exec(
        db,
        "DELETE FROM signin_locks WHERE updated_at <= $1 \
         AND (locked_until IS NULL OR locked_until <= $2)",
        vec![(now - FORGET_AFTER).into(), now.into()],
    )
    .await
}
