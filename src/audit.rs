//! The append-only, hash-chained audit log: logins, reveals, status changes, notes,
//! referrals, exports and staff changes; who, what, which case, when and why.
//!
//! Each row's `hash` is HMAC-SHA256 (under a purpose-separated use of the blind-index
//! key, which never enters the database) over its own fields and the previous row's
//! hash. Someone who can write to the database but does not hold the key file cannot
//! alter, insert or delete a row without `buzon audit verify` seeing the break. The
//! one-row `audit_head` holds the last sequence number and a keyed digest of the last
//! hash: appenders lock it first (serializing them on both back ends), and verify
//! checks the log ends there, so a deleted tail is a break too (the head cannot be
//! pointed at an earlier row without the key). Verify prints the last hash: kept
//! outside the database, it also catches a rewrite by someone holding the key. The reason an inspector gives is free text and is
//! stored encrypted; the hash covers the reason itself, not its ciphertext, so
//! `buzon keys reencrypt` can put it under a new key without touching the chain (and
//! verify, which decrypts it, still sees a reason that was swapped or altered).

use crate::crypto::{Aad, KeyRing, hex};
use anyhow::Context;
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

/// One thing that happened.
pub struct Event<'a> {
    /// The staff member who did it; `None` for the command line (`buzon staff ...`).
    pub actor: Option<Uuid>,
    pub action: &'a str,
    pub case_id: Option<Uuid>,
    /// What it was done to, when not the case: a field, a staff id, an authority.
    pub target: Option<&'a str>,
    /// Why, in the actor's words (encrypted).
    pub reason: Option<&'a str>,
    /// What changed, in codes (never personal data): `received -> in_review`.
    pub detail: &'a str,
}

impl<'a> Event<'a> {
    pub fn new(actor: Option<Uuid>, action: &'a str) -> Self {
        Self {
            actor,
            action,
            case_id: None,
            target: None,
            reason: None,
            detail: "",
        }
    }

    pub fn case(self, case_id: Uuid) -> Self {
        self.case_opt(Some(case_id))
    }

    pub fn case_opt(mut self, case_id: Option<Uuid>) -> Self {
        self.case_id = case_id;
        self
    }

    pub fn target(mut self, target: &'a str) -> Self {
        self.target = Some(target);
        self
    }

    pub fn reason(mut self, reason: &'a str) -> Self {
        self.reason = Some(reason);
        self
    }

    pub fn reason_opt(mut self, reason: Option<&'a str>) -> Self {
        self.reason = reason;
        self
    }

    pub fn detail(mut self, detail: &'a str) -> Self {
        self.detail = detail;
        self
    }
}

/// Records an event on its own (nothing else to commit with it).
pub async fn record(
    db: &DatabaseConnection,
    keys: &KeyRing,
    event: Event<'_>,
) -> anyhow::Result<i64> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await.context("cannot begin")?;
    let seq = append(&txn, keys, event).await?;
    txn.commit().await.context("cannot commit the audit log")?;
    Ok(seq)
}

fn reason_aad(seq: i64) -> Aad<'static> {
    Aad {
        table: "audit_log",
        column: "reason_ct",
        row: Uuid::from_u128(u128::try_from(seq).unwrap_or(0)),
    }
}

struct Fields<'a> {
    seq: i64,
    at: DateTime<Utc>,
    actor: Option<Uuid>,
    action: &'a str,
    case_id: Option<Uuid>,
    target: Option<&'a str>,
    reason: Option<&'a str>,
    detail: &'a str,
    prev_hash: &'a str,
}

/// What the head stores for the log ending at `seq` with `hash`: keyed too, so
/// cutting rows off the end and pointing the head at an earlier row is detected
/// without the key file.
fn head_mac(keys: &KeyRing, seq: i64, hash: &str) -> String {
    hex(&keys
        .blind_index
        .compute("audit-head", &format!("{seq}\n{hash}")))
}

fn chain_hash(keys: &KeyRing, f: &Fields<'_>) -> String {
    let opt = |u: Option<Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        f.seq,
        f.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        opt(f.actor),
        f.action.escape_default(),
        opt(f.case_id),
        f.target.unwrap_or_default().escape_default(),
        // `+` tells an empty reason from none.
        f.reason
            .map(|r| format!("+{}", r.escape_default()))
            .unwrap_or_default(),
        f.detail.escape_default(),
        f.prev_hash
    );
    hex(&keys.blind_index.compute("audit-chain", &canonical))
}

/// Appends an event inside the caller's transaction (so it commits with the change
/// it records, or not at all). Returns its sequence number.
pub async fn append(
    txn: &impl ConnectionTrait,
    keys: &KeyRing,
    event: Event<'_>,
) -> anyhow::Result<i64> {
    // Taking the head's row lock first serializes appenders.
    crate::db::exec(
        txn,
        "UPDATE audit_head SET seq = seq + 1 WHERE id = 1",
        vec![],
    )
    .await
    .context("cannot lock the audit head")?;
    let head = crate::db::row(txn, "SELECT seq, hash FROM audit_head WHERE id = 1", vec![])
        .await?
        .context("audit head missing")?;
    let seq: i64 = head.try_get_by_index(0)?;
    // The previous row's own hash (the head keeps a keyed digest of it).
    let prev_hash: String = if seq == 1 {
        "0".repeat(64)
    } else {
        crate::db::row(
            txn,
            "SELECT hash FROM audit_log WHERE seq = $1",
            vec![(seq - 1).into()],
        )
        .await?
        .context("the audit log lost its last row")?
        .try_get_by_index(0)?
    };
    let at = Utc::now().trunc_subsecs(6);
    let reason_ct = event
        .reason
        .map(|r| keys.cipher.encrypt_str(reason_aad(seq), r))
        .transpose()
        .context("cannot encrypt the audit reason")?;
    let hash = chain_hash(
        keys,
        &Fields {
            seq,
            at,
            actor: event.actor,
            action: event.action,
            case_id: event.case_id,
            target: event.target,
            reason: event.reason,
            detail: event.detail,
            prev_hash: &prev_hash,
        },
    );
    crate::db::exec(
        txn,
        "INSERT INTO audit_log (seq, at, actor_id, action, case_id, target, reason_ct, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        vec![
            seq.into(),
            at.into(),
            event.actor.into(),
            event.action.into(),
            event.case_id.into(),
            event.target.map(str::to_owned).into(),
            reason_ct.into(),
            event.detail.into(),
            prev_hash.into(),
            hash.clone().into(),
        ],
    )
    .await
    .context("cannot write the audit log")?;
    crate::db::exec(
        txn,
        "UPDATE audit_head SET hash = $1 WHERE id = 1",
        vec![head_mac(keys, seq, &hash).into()],
    )
    .await?;
    Ok(seq)
}

/// A stored event, reason decrypted, for admins.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Record {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub case_id: Option<Uuid>,
    pub target: Option<String>,
    pub reason: Option<String>,
    pub detail: String,
}

const COLUMNS: &str =
    "seq, at, actor_id, action, case_id, target, reason_ct, detail, prev_hash, hash";

struct Stored {
    seq: i64,
    at: DateTime<Utc>,
    actor: Option<Uuid>,
    action: String,
    case_id: Option<Uuid>,
    target: Option<String>,
    reason_ct: Option<Vec<u8>>,
    detail: String,
    prev_hash: String,
    hash: String,
}

fn stored(row: &sea_orm::QueryResult) -> anyhow::Result<Stored> {
    Ok(Stored {
        seq: row.try_get_by_index(0)?,
        at: row.try_get_by_index(1)?,
        actor: row.try_get_by_index(2)?,
        action: row.try_get_by_index(3)?,
        case_id: row.try_get_by_index(4)?,
        target: row.try_get_by_index(5)?,
        reason_ct: row.try_get_by_index(6)?,
        detail: row.try_get_by_index(7)?,
        prev_hash: row.try_get_by_index(8)?,
        hash: row.try_get_by_index(9)?,
    })
}

/// The newest events first, `before` a sequence number (keyset), at most `limit`.
pub async fn recent(
    db: &DatabaseConnection,
    keys: &KeyRing,
    before: Option<i64>,
    limit: u64,
) -> anyhow::Result<Vec<Record>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT {}",
        limit.min(500)
    );
    let rows = crate::db::rows(db, &sql, vec![before.unwrap_or(i64::MAX).into()]).await?;
    rows.iter()
        .map(|row| {
            let s = stored(row)?;
            let reason = s
                .reason_ct
                .as_deref()
                .map(|ct| keys.cipher.decrypt_string(reason_aad(s.seq), ct))
                .transpose()
                .context("cannot decrypt an audit reason")?;
            Ok(Record {
                seq: s.seq,
                at: s.at,
                actor_id: s.actor,
                action: s.action,
                case_id: s.case_id,
                target: s.target,
                reason,
                detail: s.detail,
            })
        })
        .collect()
}

/// Where the chain breaks.
#[derive(Debug, thiserror::Error)]
pub enum Break {
    #[error("audit row {seq}: {what}")]
    Row { seq: i64, what: &'static str },
    #[error("the log ends at row {last} but its head says {head}: rows were removed from the end")]
    Tail { last: i64, head: i64 },
    #[error(
        "the head does not match the last row: rows were removed from the end, or the head was altered"
    )]
    Head,
}

/// The verified end of the log: note `head` down outside the database now and then;
/// a later verify that reaches the same row with another hash means the log was
/// rewritten by someone holding the key file.
#[derive(Debug)]
pub struct Intact {
    pub rows: i64,
    pub head: String,
}

/// Checks every row in order.
pub async fn verify(
    db: &DatabaseConnection,
    keys: &KeyRing,
) -> anyhow::Result<Result<Intact, Break>> {
    let mut expected_seq = 1i64;
    let mut prev = "0".repeat(64);
    loop {
        let rows = crate::db::rows(
            db,
            &format!("SELECT {COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 1000"),
            vec![expected_seq.into()],
        )
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let s = stored(row)?;
            if s.seq != expected_seq {
                return Ok(Err(Break::Row {
                    seq: expected_seq,
                    what: "missing (deleted)",
                }));
            }
            if s.prev_hash != prev {
                return Ok(Err(Break::Row {
                    seq: s.seq,
                    what: "does not follow the row before it",
                }));
            }
            let reason = match s.reason_ct.as_deref() {
                None => None,
                Some(ct) => match keys.cipher.decrypt_string(reason_aad(s.seq), ct) {
                    Ok(reason) => Some(reason),
                    Err(_) => {
                        return Ok(Err(Break::Row {
                            seq: s.seq,
                            what: "has a reason that does not decrypt for this row",
                        }));
                    }
                },
            };
            let hash = chain_hash(
                keys,
                &Fields {
                    seq: s.seq,
                    at: s.at,
                    actor: s.actor,
                    action: &s.action,
                    case_id: s.case_id,
                    target: s.target.as_deref(),
                    reason: reason.as_deref(),
                    detail: &s.detail,
                    prev_hash: &s.prev_hash,
                },
            );
            if !crate::crypto::ct_eq(hash.as_bytes(), s.hash.as_bytes()) {
                return Ok(Err(Break::Row {
                    seq: s.seq,
                    what: "was altered (its hash does not match its contents)",
                }));
            }
            prev = s.hash;
            expected_seq += 1;
        }
    }
    let head = crate::db::row(db, "SELECT seq, hash FROM audit_head WHERE id = 1", vec![])
        .await?
        .context("audit head missing")?;
    let head_seq: i64 = head.try_get_by_index(0)?;
    let head_hash: String = head.try_get_by_index(1)?;
    let last = expected_seq - 1;
    if head_seq != last {
        return Ok(Err(Break::Tail {
            last,
            head: head_seq,
        }));
    }
    let expected = if last == 0 {
        "0".repeat(64)
    } else {
        head_mac(keys, last, &prev)
    };
    if !crate::crypto::ct_eq(head_hash.as_bytes(), expected.as_bytes()) {
        return Ok(Err(Break::Head));
    }
    Ok(Ok(Intact {
        rows: last,
        head: prev,
    }))
}
