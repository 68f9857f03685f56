//! Claims: a worker reserves an inbox, outbox or download row for a lease before
//! working it, and counts the claim in the row first, so a row whose work kills
//! the process is set aside after a few claims instead of forever.

use super::PENDING;
use anyhow::Context;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter,
};
use std::time::Duration;
use uuid::Uuid;

/// Claims of one row whose work never reported back (the process died under it:
/// a stack overflow, an abort, the OOM killer) before the row is set aside for a
/// person instead of being taken up again: a message that kills the process kills it
/// at most this many times, not once per lease forever.
pub const MAX_OPEN_CLAIMS: i32 = 3;

/// The columns of a table whose rows workers claim, and what a row that
/// [`MAX_OPEN_CLAIMS`] claims never finished becomes.
pub struct Claims<C> {
    pub table: &'static str,
    pub id: C,
    pub state: C,
    pub due: C,
    pub lock: C,
    /// Claims whose work has not reported back: one more at each claim, back to 0
    /// with every outcome the worker writes.
    pub open_claims: C,
    /// The state of a row set aside (the table's own: held, failed, dead).
    pub aside: &'static str,
    /// A column that says why, and what it says there.
    pub reason: Option<(C, &'static str)>,
}

/// What a claim came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Claimed {
    /// Reserved for this worker until then.
    Until(DateTime<Utc>),
    /// Another worker has it, or it is no longer due.
    Busy,
    /// Its work stopped the process [`MAX_OPEN_CLAIMS`] times: set aside now.
    SetAside,
}

impl Claimed {
    /// The lease, when the row is this worker's to work.
    pub fn lease(self) -> Option<DateTime<Utc>> {
        match self {
            Self::Until(until) => Some(until),
            Self::Busy | Self::SetAside => None,
        }
    }
}

/// The reason a row set aside by [`claim`] carries.
pub const CRASHED: &str = "crashed";

/// Reserves a row for this worker for `lease` (`BUZON_LEASE_SECS`), until the
/// returned moment; `Busy` when another worker got it first, or the row is no longer
/// due (a worker that failed it since the look put it off: a look's batch is claimed
/// row by row over seconds, so the look's view of a row may be stale). A row whose worker died
/// (its instance killed mid-claim) is free again once the lease ran out. A worker
/// that must not act twice finishes the row only where its lease is still the row's
/// (see `Lost`).
///
/// The claim is counted in the row (`open_claims`) in the same statement that takes
/// it, before any work starts; a row whose earlier claims all died with their
/// process is set aside (`SetAside`, logged with the row's id) rather than claimed
/// again.
pub async fn claim<E>(
    db: &DatabaseConnection,
    lease: Duration,
    id: Uuid,
    q: &Claims<E::Column>,
) -> anyhow::Result<Claimed>
where
    E: EntityTrait,
{
    let now = Utc::now();
    let until = now + lease;
    let free = || {
        sea_orm::Condition::all()
            .add(q.id.eq(id))
            .add(q.state.eq(PENDING))
            .add(q.due.lte(now))
            .add(q.lock.is_null().or(q.lock.lt(now)))
    };
    let result = E::update_many()
        .col_expr(q.lock, Expr::value(until))
        .col_expr(q.open_claims, Expr::col(q.open_claims).add(1))
        .filter(free())
        .filter(q.open_claims.lt(MAX_OPEN_CLAIMS))
        .exec(db)
        .await
        .context("cannot claim row")?;
    if result.rows_affected == 1 {
        return Ok(Claimed::Until(until));
    }
    // Rare: only a row whose claims all died gets here with it still free.
    let mut aside = E::update_many()
        .col_expr(q.state, Expr::value(q.aside))
        .col_expr(q.lock, Expr::value(Option::<DateTime<Utc>>::None));
    if let Some((column, reason)) = q.reason {
        aside = aside.col_expr(column, Expr::value(reason));
    }
    let set_aside = aside
        .filter(free())
        .filter(q.open_claims.gte(MAX_OPEN_CLAIMS))
        .exec(db)
        .await
        .context("cannot set a row aside")?;
    if set_aside.rows_affected == 1 {
        tracing::error!(
            table = q.table,
            row_id = %id,
            claims = MAX_OPEN_CLAIMS,
            "row set aside for a person: its work stopped the process every time it was taken up"
        );
        crate::metrics::set_aside(q.table);
        return Ok(Claimed::SetAside);
    }
    Ok(Claimed::Busy)
}

/// How many rows of a table were set aside by [`claim`] (for `/readyz` and the
/// metrics).
pub async fn crashed<E>(db: &DatabaseConnection, q: &Claims<E::Column>) -> anyhow::Result<u64>
where
    E: EntityTrait,
    E::Model: Sync,
{
    E::find()
        .filter(q.state.eq(q.aside))
        .filter(q.open_claims.gte(MAX_OPEN_CLAIMS))
        .count(db)
        .await
        .with_context(|| format!("cannot count {}", q.table))
}
