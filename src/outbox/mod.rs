//! The durable outbox: every side effect (a WhatsApp reply today, e-mail later) is a
//! row written in the same transaction as what caused it, and one worker per instance
//! performs them. A failed send is retried with exponential backoff (429, 5xx,
//! timeouts); after `max_attempts` failures, or at once on a permanent error, the row
//! is dead-lettered: logged, counted in `/readyz`, kept for an operator.
//!
//! Messages to one recipient leave in the order they were written: a later one waits
//! while an earlier one is being retried. Once sent, a row keeps only its metadata:
//! the encrypted payload and the recipient's blind index are erased.

mod claim;
pub use claim::*;

use crate::config::OutboxSettings;
use crate::crypto::{Aad, KeyRing};
use anyhow::Context;
use chrono::{DateTime, Utc};
use entity::outbox;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, ExprTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const DEAD: &str = "dead";

/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

pub fn payload_aad(id: Uuid) -> Aad<'static> {
    Aad {
        table: "outbox",
        column: "payload_ct",
        row: id,
    }
}

/// Writes a side effect inside the caller's transaction. `recipient_bidx` orders the
/// messages of one recipient; `payload` is encrypted.
pub async fn enqueue(
    conn: &impl ConnectionTrait,
    keys: &KeyRing,
    channel: &str,
    recipient_bidx: Vec<u8>,
    payload: &serde_json::Value,
) -> anyhow::Result<Uuid> {
    enqueue_about(conn, keys, channel, recipient_bidx, payload, None).await
}

/// [`enqueue`] for a notice about a case: staff see on the case what became of it
/// (sent, waiting for the worker to write, refused by the channel).
pub async fn enqueue_about(
    conn: &impl ConnectionTrait,
    keys: &KeyRing,
    channel: &str,
    recipient_bidx: Vec<u8>,
    payload: &serde_json::Value,
    case_id: Option<Uuid>,
) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    let payload_ct = keys
        .cipher
        .encrypt(payload_aad(id), payload.to_string().as_bytes())
        .context("cannot encrypt outbox payload")?;
    outbox::ActiveModel {
        id: Set(id),
        channel: Set(channel.to_owned()),
        recipient_bidx: Set(recipient_bidx),
        payload_ct: Set(payload_ct),
        state: Set(PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        open_claims: Set(0),
        last_error: Set(None),
        provider_key: Set(None),
        delivery: Set(None),
        case_id: Set(case_id),
        delivery_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await
    .context("cannot write outbox row")?;
    Ok(id)
}

/// The delay before attempt `attempts + 1`: `base`, doubled per failure, capped.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(Ord::min(attempts.saturating_sub(1), 20));
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

/// Runs `work` until it finds nothing to do, then waits for `notify` or a short tick.
pub async fn work_loop<F, Fut>(name: &'static str, notify: Arc<tokio::sync::Notify>, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    loop {
        match work().await {
            Ok(true) => continue,
            Ok(false) => {
                tokio::select! {
                    () = notify.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
            }
            Err(e) => {
                tracing::error!(worker = name, error = %format!("{e:#}"), "worker step failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Aborts the task it holds when dropped (so aborting the supervisor stops it too).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts a worker task, and starts it again if it panics (logged): a channel never
/// goes quiet while `/readyz` says ready. Aborting the returned handle stops both.
pub fn supervised<F, Fut>(name: &'static str, make: F) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let mut task = AbortOnDrop(tokio::spawn(make()));
            match (&mut task.0).await {
                Err(e) if e.is_panic() => {
                    tracing::error!(worker = name, "worker panicked; starting it again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                _ => return,
            }
        }
    })
}

/// The moment `wait` from now.
pub fn after(wait: Duration) -> DateTime<Utc> {
    // Waits are bounded (backoff caps at ten minutes); a nonsense one is ten minutes.
    Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(10))
}

/// When to try again after `attempts` failures, backing off from `base`.
pub fn retry_at(base: Duration, attempts: u32) -> DateTime<Utc> {
    after(backoff(base, attempts))
}

/// What a delivery attempt came to.
pub enum Attempt {
    /// Sent; the provider's id for the message (blind-indexed for status callbacks).
    Sent(Option<Vec<u8>>),
    Retry(String),
    Permanent(String),
    /// Not sent, and not a failure: the channel may not carry it yet (WhatsApp's
    /// 24-hour window). The row stays pending, its attempts untouched, until `until`
    /// or until something wakes it; `note` (a fixed code) says why.
    Wait {
        until: DateTime<Utc>,
        note: &'static str,
    },
}

/// Something that performs one kind of side effect.
pub trait Sender: Send + Sync {
    fn deliver(
        &self,
        payload: serde_json::Value,
    ) -> impl std::future::Future<Output = Attempt> + Send;

    /// [`Sender::deliver`] knowing the row (its recipient's blind index, its
    /// attempts): a sender whose rules depend on the recipient overrides it.
    fn deliver_row(
        &self,
        row: &outbox::Model,
        payload: serde_json::Value,
    ) -> impl std::future::Future<Output = Attempt> + Send {
        let _ = row;
        self.deliver(payload)
    }
}

/// Counts for `/readyz`.
#[derive(Debug, serde::Serialize)]
pub struct Health {
    pub pending: u64,
    pub dead: u64,
    /// Of the dead: those whose sending stopped the process on every claim.
    pub crashed: u64,
}

pub async fn health(db: &DatabaseConnection) -> anyhow::Result<Health> {
    let count = |state: &'static str| {
        outbox::Entity::find()
            .filter(outbox::Column::State.eq(state))
            .count(db)
    };
    Ok(Health {
        pending: count(PENDING).await.context("cannot count outbox")?,
        dead: count(DEAD).await.context("cannot count outbox")?,
        crashed: crashed::<outbox::Entity>(db, &CLAIMS).await?,
    })
}

/// A stored message that can never be worked (unreadable, or its working panicked):
/// set aside at once. Its text is fixed: the cause (which may quote decrypted
/// content) is dropped.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Poison(pub &'static str);

/// Attempts at working one stored inbox message before it is set aside: with the
/// backoff (2 s doubling, at most 10 min) about three hours, so an outage of the
/// database or a saturated server delays messages without losing them.
pub const INBOX_MAX_ATTEMPTS: i32 = 24;

/// Works one claimed inbox row in a task of its own: a message that makes the
/// worker panic becomes a [`Poison`] error (set aside) instead of being retried
/// forever.
pub async fn isolated<F>(work: F) -> anyhow::Result<()>
where
    F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(result) => result,
        Err(_) => Err(Poison("working the message panicked").into()),
    }
}

/// What to do with an inbox row whose working failed (`attempts` includes this one).
pub enum AfterFailure {
    /// Another worker holds it now: leave it alone.
    Lost,
    /// Unreadable, panicked, or failed too often: keep it for a person.
    SetAside,
    /// Try again then.
    RetryAt(DateTime<Utc>),
}

pub fn after_failure(err: &anyhow::Error, attempts: i32) -> AfterFailure {
    if err.chain().any(|c| c.is::<Lost>()) {
        AfterFailure::Lost
    } else if err.chain().any(|c| c.is::<Poison>()) || attempts >= INBOX_MAX_ATTEMPTS {
        AfterFailure::SetAside
    } else {
        AfterFailure::RetryAt(retry_at(Duration::from_secs(2), attempts.unsigned_abs()))
    }
}

/// The lease ran out and another worker took the row over: this worker's work is
/// rolled back, the other one's stands.
#[derive(Debug, thiserror::Error)]
#[error("lease lost to another worker")]
pub struct Lost;

/// Up to 50 rows that may be worked now, oldest first: pending, due, not reserved,
/// and the oldest pending row of their key (sender or recipient), so each key's
/// rows go in order (across instances too: a reserved row stays pending until it is
/// finished) and one key's backlog or backoff never hides another key's rows.
/// `table` and `key` are fixed identifiers from this crate, never input.
pub async fn due_heads<E>(
    db: &DatabaseConnection,
    table: &str,
    key: &str,
    channel: Option<&str>,
) -> anyhow::Result<Vec<E::Model>>
where
    E: EntityTrait,
{
    let (sql, values) = due_sql(table, key, channel, "*");
    E::find()
        .from_raw_sql(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .all(db)
        .await
        .with_context(|| format!("cannot read due rows of {table}"))
}

/// The ids of [`due_heads`]: for tables whose rows are large (raw e-mail), each row
/// is then read alone once claimed.
pub async fn due_head_ids(
    db: &DatabaseConnection,
    table: &str,
    key: &str,
    channel: Option<&str>,
) -> anyhow::Result<Vec<Uuid>> {
    let (sql, values) = due_sql(table, key, channel, "id");
    let rows = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .await
        .with_context(|| format!("cannot read due rows of {table}"))?;
    rows.iter()
        .map(|r| r.try_get_by_index::<Uuid>(0).context("due row without id"))
        .collect()
}

fn due_sql(
    table: &str,
    key: &str,
    channel: Option<&str>,
    columns: &str,
) -> (String, Vec<sea_orm::Value>) {
    let now = Utc::now();
    let mut values: Vec<sea_orm::Value> = vec![PENDING.into(), now.into()];
    let channel_filter = match channel {
        Some(c) => {
            values.push(c.into());
            " AND a.channel = $3"
        }
        None => "",
    };
    // A window over the pending rows rather than a correlated NOT EXISTS: its cost
    // does not depend on the planner's statistics (a fresh or fast-growing table
    // otherwise gets a quadratic plan). The window reads only the key and the id
    // (from the `(state, key, id)` index, in its order); only the heads' rows are
    // then read, so a backlog of large rows (payloads, raw e-mail) is not copied
    // through on every look.
    let sql = format!(
        "SELECT t.{columns} FROM {table} t JOIN (\
           SELECT a.id, ROW_NUMBER() OVER (PARTITION BY a.{key} ORDER BY a.id) AS head_rank \
           FROM {table} a WHERE a.state = $1{channel_filter}\
         ) h ON t.id = h.id \
         WHERE h.head_rank = 1 AND t.next_attempt_at <= $2 \
           AND (t.locked_until IS NULL OR t.locked_until < $2) \
         ORDER BY t.id LIMIT 50"
    );
    (sql, values)
}

/// The outbox's rows as [`claim`] takes them: one whose sending stopped the process
/// [`MAX_OPEN_CLAIMS`] times is dead-lettered.
pub const CLAIMS: Claims<outbox::Column> = Claims {
    table: "outbox",
    id: outbox::Column::Id,
    state: outbox::Column::State,
    due: outbox::Column::NextAttemptAt,
    lock: outbox::Column::LockedUntil,
    open_claims: outbox::Column::OpenClaims,
    aside: DEAD,
    reason: Some((outbox::Column::LastError, CRASHED)),
};

#[derive(Clone)]
pub struct Worker<S> {
    pub db: DatabaseConnection,
    pub keys: Arc<KeyRing>,
    pub settings: OutboxSettings,
    pub notify: Arc<tokio::sync::Notify>,
    pub channel: &'static str,
    pub sender: S,
}

impl<S: Sender> Worker<S> {
    /// Works the outbox until the task is dropped.
    pub async fn run(self) {
        let notify = Arc::clone(&self.notify);
        work_loop("outbox", notify, || self.work_once()).await;
    }

    /// Sends the due heads of one look (one message per recipient, up to 50), each
    /// once claimed; true if it sent anything.
    pub async fn work_once(&self) -> anyhow::Result<bool> {
        let heads =
            due_heads::<outbox::Entity>(&self.db, "outbox", "recipient_bidx", Some(self.channel))
                .await?;
        let mut worked = false;
        for row in heads {
            if claim::<outbox::Entity>(&self.db, self.settings.lease, row.id, &CLAIMS)
                .await?
                .lease()
                .is_none()
            {
                continue;
            }
            self.deliver(row).await?;
            worked = true;
        }
        Ok(worked)
    }

    async fn deliver(&self, row: outbox::Model) -> anyhow::Result<()> {
        let payload = self
            .keys
            .cipher
            .decrypt(payload_aad(row.id), &row.payload_ct)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
        let attempt = match payload {
            Some(payload) => self.sender.deliver_row(&row, payload).await,
            None => Attempt::Permanent("payload unreadable".into()),
        };
        let attempts = u32::try_from(row.attempts).unwrap_or(0).saturating_add(1);
        let now = Utc::now();
        let mut update: outbox::ActiveModel = row.clone().into();
        update.attempts = Set(i32::try_from(attempts).unwrap_or(i32::MAX));
        update.locked_until = Set(None);
        update.open_claims = Set(0);
        update.updated_at = Set(now);
        match attempt {
            Attempt::Wait { until, note } => {
                // Not an attempt: the retry budget is kept for real failures.
                update.attempts = Set(row.attempts);
                update.next_attempt_at = Set(until);
                update.last_error = Set(Some(note.to_owned()));
                tracing::info!(outbox_id = %row.id, note, "outbox message waits");
            }
            Attempt::Sent(provider_key) => {
                update.state = Set(SENT.to_owned());
                update.provider_key = Set(provider_key);
                update.delivery = Set(Some("sent".to_owned()));
                update.last_error = Set(None);
                // Sent: neither the content nor the recipient is needed here any more.
                update.payload_ct = Set(Vec::new());
                update.recipient_bidx = Set(Vec::new());
                tracing::debug!(outbox_id = %row.id, attempts, "outbox message sent");
            }
            Attempt::Retry(reason) if attempts < self.settings.max_attempts => {
                let wait = backoff(self.settings.retry_base, attempts);
                update.next_attempt_at = Set(after(wait));
                tracing::info!(outbox_id = %row.id, attempts, reason = %reason, retry_in_ms = wait.as_millis() as u64, "outbox send failed; will retry");
                crate::metrics::outbox_failure(&row.channel, false);
                update.last_error = Set(Some(reason));
            }
            Attempt::Retry(reason) | Attempt::Permanent(reason) => {
                update.state = Set(DEAD.to_owned());
                tracing::warn!(outbox_id = %row.id, channel = %row.channel, attempts, reason = %reason, "outbox message dead-lettered");
                crate::metrics::outbox_failure(&row.channel, true);
                update.last_error = Set(Some(reason));
            }
        }
        let saved = update
            .update(&self.db)
            .await
            .context("cannot update outbox row")?;
        if let Some(key) = saved.provider_key.as_deref() {
            apply_parked(&self.db, key).await?;
        }
        Ok(())
    }
}

/// Puts the dead letters of the last 24 hours back in the queue with a fresh retry
/// budget; how many.
pub async fn requeue_dead(db: &DatabaseConnection) -> anyhow::Result<u64> {
    let result = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(PENDING))
        .col_expr(outbox::Column::Attempts, Expr::value(0))
        .col_expr(outbox::Column::OpenClaims, Expr::value(0))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(Utc::now()))
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(outbox::Column::State.eq(DEAD))
        // WhatsApp takes free-form replies only within 24 h of the worker's last
        // message, and an older reply would arrive after newer ones.
        .filter(outbox::Column::UpdatedAt.gt(Utc::now() - chrono::Duration::hours(24)))
        .filter(
            outbox::Column::LastError
                .ne("payload unreadable")
                .or(outbox::Column::LastError.is_null()),
        )
        .exec(db)
        .await
        .context("cannot requeue dead letters")?;
    Ok(result.rows_affected)
}

/// Delivery statuses in the order they happen; a status never replaces a later one.
/// `played`: a voice message was listened to (after `read`); `deleted`: the message
/// was deleted on the phone, the last thing that can happen to it.
pub const DELIVERY_ORDER: [&str; 6] = ["sent", "delivered", "read", "played", "failed", "deleted"];

/// Records a delivery status callback (any of [`DELIVERY_ORDER`]; `detail`: a failed
/// one's error code and title) on the outbox row of the message it is about.
/// Callbacks arrive in any order: a status never replaces a later one ("read" stays
/// "read"). It writes before it reads inside a transaction (SQLite refuses a
/// read-then-write while another connection writes). A status for a message whose
/// send is not recorded yet is parked and applied when it is.
pub async fn record_delivery(
    conn: &impl ConnectionTrait,
    provider_key: Vec<u8>,
    status: &str,
    detail: Option<&str>,
) -> anyhow::Result<()> {
    let Some(rank) = DELIVERY_ORDER.iter().position(|s| *s == status) else {
        return Ok(());
    };
    let earlier: Vec<&str> = DELIVERY_ORDER[..rank].to_vec();
    let detail = detail.map(|d| crate::domain::truncate(d, 96));
    let mut update = outbox::Entity::update_many()
        .col_expr(outbox::Column::Delivery, Expr::value(status))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(Utc::now()));
    if detail.is_some() {
        update = update.col_expr(outbox::Column::DeliveryError, Expr::value(detail.clone()));
    }
    let result = update
        .filter(outbox::Column::ProviderKey.eq(provider_key.clone()))
        .filter(
            outbox::Column::Delivery
                .is_null()
                .or(outbox::Column::Delivery.is_in(earlier)),
        )
        .exec(conn)
        .await
        .context("cannot record delivery status")?;
    if result.rows_affected > 0 {
        if status == "failed" {
            tracing::warn!("WhatsApp reports a reply could not be delivered");
        }
        return Ok(());
    }
    let known = outbox::Entity::find()
        .filter(outbox::Column::ProviderKey.eq(provider_key.clone()))
        .count(conn)
        .await
        .context("cannot look up delivery")?;
    if known == 0 {
        entity::delivery_status::ActiveModel {
            id: Set(Uuid::now_v7()),
            provider_key: Set(provider_key),
            status: Set(status.to_owned()),
            detail: Set(detail),
            received_at: Set(Utc::now()),
        }
        .insert(conn)
        .await
        .context("cannot park delivery status")?;
    }
    Ok(())
}

/// Applies the statuses parked for a message that was just recorded as sent.
async fn apply_parked(db: &DatabaseConnection, provider_key: &[u8]) -> anyhow::Result<()> {
    use entity::delivery_status;
    let parked = delivery_status::Entity::find()
        .filter(delivery_status::Column::ProviderKey.eq(provider_key.to_vec()))
        .all(db)
        .await
        .context("cannot read parked statuses")?;
    for p in &parked {
        record_delivery(db, provider_key.to_vec(), &p.status, p.detail.as_deref()).await?;
    }
    if !parked.is_empty() {
        // Only those applied: one parked meanwhile stays for the next pass.
        delivery_status::Entity::delete_many()
            .filter(delivery_status::Column::Id.is_in(parked.iter().map(|p| p.id)))
            .exec(db)
            .await
            .context("cannot clear parked statuses")?;
    }
    Ok(())
}

/// How long a sent message's metadata (delivery status) is kept.
const SENT_KEEP: chrono::Duration = chrono::Duration::days(30);

/// Forgets sent messages' metadata after [`SENT_KEEP`] and parked statuses nobody
/// claimed; every channel's periodic sweep calls it (any one suffices).
pub async fn prune(db: &DatabaseConnection) -> anyhow::Result<()> {
    outbox::Entity::delete_many()
        .filter(outbox::Column::State.eq(SENT))
        .filter(outbox::Column::UpdatedAt.lt(Utc::now() - SENT_KEEP))
        .exec(db)
        .await
        .context("cannot prune outbox")?;
    prune_parked(db).await
}

/// Forgets parked statuses nobody claimed within a day (messages of another system
/// on the same number, or sends that were never recorded).
async fn prune_parked(db: &DatabaseConnection) -> anyhow::Result<()> {
    // Parked while the send's own record was committing: apply them now.
    let keys: Vec<Vec<u8>> = entity::delivery_status::Entity::find()
        .select_only()
        .column(entity::delivery_status::Column::ProviderKey)
        .distinct()
        .limit(500)
        .into_tuple()
        .all(db)
        .await
        .context("cannot list parked statuses")?;
    for key in keys {
        let known = outbox::Entity::find()
            .filter(outbox::Column::ProviderKey.eq(key.clone()))
            .count(db)
            .await
            .context("cannot look up delivery")?;
        if known > 0 {
            apply_parked(db, &key).await?;
        }
    }
    entity::delivery_status::Entity::delete_many()
        .filter(
            entity::delivery_status::Column::ReceivedAt.lt(Utc::now() - chrono::Duration::days(1)),
        )
        .exec(db)
        .await
        .context("cannot prune parked statuses")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_secs(2);
        assert_eq!(backoff(base, 1), Duration::from_secs(2));
        assert_eq!(backoff(base, 2), Duration::from_secs(4));
        assert_eq!(backoff(base, 4), Duration::from_secs(16));
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
    }

    async fn test_db() -> (tempfile::TempDir, DatabaseConnection, KeyRing) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("claim.db").display()
        );
        let db = crate::db::connect(&url, 1).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let (keys, _) = KeyRing::load_or_create(&dir.path().join("keys.toml")).unwrap();
        (dir, db, keys)
    }

    /// A look's row that was put off since (by another worker's failure) is not
    /// claimed early; once due, it is.
    #[tokio::test]
    async fn a_row_put_off_since_the_look_is_not_claimed() {
        let (_dir, db, keys) = test_db().await;
        let payload = serde_json::json!({"text": "hola"});
        let id = enqueue(&db, &keys, "whatsapp", vec![1], &payload)
            .await
            .unwrap();
        let now = Utc::now();
        // Put off since the look, as another worker's failure does.
        let put_off = |at: DateTime<Utc>| {
            outbox::Entity::update_many()
                .col_expr(outbox::Column::NextAttemptAt, Expr::value(at))
                .filter(outbox::Column::Id.eq(id))
                .exec(&db)
        };
        put_off(now + chrono::Duration::minutes(5)).await.unwrap();
        let claim_it = || claim::<outbox::Entity>(&db, Duration::from_secs(60), id, &CLAIMS);
        assert_eq!(claim_it().await.unwrap(), Claimed::Busy, "not due yet");
        put_off(now).await.unwrap();
        assert!(
            matches!(claim_it().await.unwrap(), Claimed::Until(_)),
            "due"
        );
        assert_eq!(
            claim_it().await.unwrap(),
            Claimed::Busy,
            "held by its lease"
        );
    }

    /// Sends nothing, always "try again later".
    struct Refuses;

    impl Sender for Refuses {
        async fn deliver(&self, _payload: serde_json::Value) -> Attempt {
            Attempt::Retry("not now".into())
        }
    }

    /// A row whose claims never report back (the process died under each) is set
    /// aside after [`MAX_OPEN_CLAIMS`] of them, not taken up forever; an outcome
    /// the worker writes (here a retry) starts the count again.
    #[tokio::test]
    async fn a_row_whose_work_keeps_dying_is_set_aside() {
        let (_dir, db, keys) = test_db().await;
        let payload = serde_json::json!({"text": "hola"});
        let id = enqueue(&db, &keys, "whatsapp", vec![1], &payload)
            .await
            .unwrap();
        let lease = Duration::from_millis(1);
        let row = || async {
            outbox::Entity::find_by_id(id)
                .one(&db)
                .await
                .unwrap()
                .unwrap()
        };
        // Two claims die with their process (the lease simply runs out)...
        for n in 1..MAX_OPEN_CLAIMS {
            let got = claim::<outbox::Entity>(&db, lease, id, &CLAIMS)
                .await
                .unwrap();
            assert!(matches!(got, Claimed::Until(_)), "claim {n}");
            assert_eq!(row().await.open_claims, n, "counted before any work");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // ...then a worker survives one and writes its outcome: the count restarts.
        let worker = Worker {
            db: db.clone(),
            keys: Arc::new(keys),
            settings: OutboxSettings {
                max_attempts: 100,
                retry_base: Duration::from_millis(1),
                lease,
            },
            notify: Arc::new(tokio::sync::Notify::new()),
            channel: "whatsapp",
            sender: Refuses,
        };
        assert!(worker.work_once().await.unwrap(), "claimed and tried");
        let after = row().await;
        assert_eq!((after.state.as_str(), after.attempts), (PENDING, 1));
        assert_eq!(after.open_claims, 0, "an outcome clears the open claims");
        tokio::time::sleep(Duration::from_millis(5)).await;
        for n in 1..=MAX_OPEN_CLAIMS {
            let got = claim::<outbox::Entity>(&db, lease, id, &CLAIMS)
                .await
                .unwrap();
            assert!(
                matches!(got, Claimed::Until(_)),
                "claim {n} after the reset"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(crashed::<outbox::Entity>(&db, &CLAIMS).await.unwrap(), 0);
        let got = claim::<outbox::Entity>(&db, lease, id, &CLAIMS)
            .await
            .unwrap();
        assert_eq!(got, Claimed::SetAside);
        let aside = row().await;
        assert_eq!(aside.state, DEAD);
        assert_eq!(aside.last_error.as_deref(), Some(CRASHED));
        assert_eq!(aside.locked_until, None);
        assert_eq!(crashed::<outbox::Entity>(&db, &CLAIMS).await.unwrap(), 1);
        let got = claim::<outbox::Entity>(&db, lease, id, &CLAIMS)
            .await
            .unwrap();
        assert_eq!(got, Claimed::Busy, "never taken up again");
    }
}
