//! Staff accounts: roles, passwords (Argon2id), TOTP second factor with recovery
//! codes, lockout after repeated failures, personal API tokens.
//!
//! The command line (`buzon staff ...`) and the console share these functions; every
//! change to an account is written to the audit log.

pub mod lock;
#[cfg(test)]
mod tests;
mod totp;
pub use totp::*;

pub mod orgs;

pub use orgs::{OrgError, Organization, add_org, org_by_name, org_name, orgs};

use crate::audit::{self, Event};
use crate::crypto::receipt::ReceiptHasher;
use crate::crypto::{Aad, KeyRing, hex, random_bytes};
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use uuid::Uuid;
use zeroize::Zeroizing;

/// Failed sign-ins (password or second factor, with no completed sign-in between)
/// that lock an address, whether it has an account or not ([`lock`]).
pub const LOCK_AFTER: i32 = 5;
/// How long a lock lasts unless an admin lifts it (`buzon staff unlock`).
pub const LOCK_FOR: chrono::Duration = chrono::Duration::minutes(15);
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const RECOVERY_CODES: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, every case, the audit log.
    Admin,
    /// The cases referred to their authorities.
    Inspector,
    /// Tied to an organization; refused the console (their workflow is its own).
    Advocate,
    /// Aggregates only, never a case.
    Coordinator,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Inspector => "inspector",
            Self::Advocate => "advocate",
            Self::Coordinator => "coordinator",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [
            Self::Admin,
            Self::Inspector,
            Self::Advocate,
            Self::Coordinator,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }

    /// Admins, inspectors and advocates see identities: they must have a second
    /// factor.
    pub fn requires_totp(self) -> bool {
        matches!(self, Self::Admin | Self::Inspector | Self::Advocate)
    }

    /// May open the case queue and cases.
    pub fn works_cases(self) -> bool {
        matches!(self, Self::Admin | Self::Inspector)
    }
}

/// A staff member as the server sees them on each request.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: Uuid,
    pub role: Role,
    pub authorities: Vec<String>,
    pub org: Option<String>,
    pub disabled: bool,
    pub totp_enrolled: bool,
    pub locked_until: Option<DateTime<Utc>>,
}

impl Member {
    /// An advocate's organization (`staff.org` holds its id).
    pub fn org_id(&self) -> Option<Uuid> {
        self.org.as_deref().and_then(|o| Uuid::parse_str(o).ok())
    }
}

pub fn email_aad(id: Uuid) -> Aad<'static> {
    Aad {
        table: "staff",
        column: "email_ct",
        row: id,
    }
}

pub fn totp_aad(id: Uuid) -> Aad<'static> {
    Aad {
        table: "staff",
        column: "totp_ct",
        row: id,
    }
}

pub fn email_key(keys: &KeyRing, email: &str) -> Vec<u8> {
    keys.blind_index
        .compute("staff_email", &email.trim().to_lowercase())
}

/// SHA-256 of a bearer secret (session or API token), as stored.
pub fn token_hash(token: &str) -> String {
    crate::crypto::sha256_hex(token.as_bytes())
}

/// A fresh 256-bit secret, URL-safe.
pub fn new_token() -> Zeroizing<String> {
    Zeroizing::new(B64.encode(random_bytes::<32>()))
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("no staff member with that e-mail")]
    Unknown,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub fn check_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::Invalid(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::Invalid(format!(
            "the password must have at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// What `buzon staff add` asks for.
pub struct NewMember<'a> {
    pub email: &'a str,
    pub role: Role,
    pub authorities: &'a [String],
    pub org: Option<&'a str>,
    pub password: &'a str,
}

fn check_new(m: &NewMember<'_>) -> Result<(), AccountError> {
    let invalid = |s: &str| Err(AccountError::Invalid(s.to_owned()));
    if !email_address::EmailAddress::is_valid(m.email.trim()) || m.email.len() > 254 {
        return invalid("--email is not an e-mail address");
    }
    check_password(m.password)?;
    for a in m.authorities {
        if !crate::routing::is_known_code(a) {
            return Err(AccountError::Invalid(format!(
                "unknown authority {a:?} (codes as in TAXONOMY.md: cfcrl, stps_inspection, state_labor:MX-GUA, ...)"
            )));
        }
    }
    match m.role {
        Role::Inspector if m.authorities.is_empty() => {
            invalid("an inspector needs at least one --authority")
        }
        Role::Inspector => Ok(()),
        _ if !m.authorities.is_empty() => invalid("only inspectors have authorities"),
        Role::Advocate if m.org.is_none_or(|o| o.trim().is_empty()) => {
            invalid("an advocate needs --org (their organization)")
        }
        Role::Advocate => Ok(()),
        _ if m.org.is_some() => invalid("only advocates have an organization"),
        _ => Ok(()),
    }
}

pub async fn add(
    db: &DatabaseConnection,
    keys: &KeyRing,
    hasher: &ReceiptHasher,
    m: &NewMember<'_>,
) -> Result<Uuid, AccountError> {
    check_new(m)?;
    let org = match m.org {
        Some(name) => Some(
            crate::staff::org_by_name(db, name)
                .await?
                .ok_or_else(|| {
                    AccountError::Invalid(format!(
                        "no organization is named {:?}: add it first with `buzon org add NAME`",
                        name.trim()
                    ))
                })?
                .id,
        ),
        None => None,
    };
    let bidx = email_key(keys, m.email);
    if find_id(db, &bidx).await?.is_some() {
        return Err(AccountError::Invalid(
            "a staff member with that e-mail exists".into(),
        ));
    }
    let id = Uuid::new_v4();
    let hash = hasher
        .hash(m.password)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let email_ct = keys
        .cipher
        .encrypt_str(email_aad(id), &m.email.trim().to_lowercase())
        .context("cannot encrypt e-mail")?;
    let now = Utc::now();
    let txn = db.begin().await.context("cannot begin")?;
    crate::db::exec(
        &txn,
        "INSERT INTO staff (id, email_ct, email_bidx, role, org, password_hash, totp_ct, totp_last_step, \
         failed_logins, locked_until, disabled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, 0, NULL, $7, $8, $8)",
        vec![
            id.into(),
            email_ct.into(),
            bidx.into(),
            m.role.code().into(),
            org.map(|o| o.to_string()).into(),
            hash.into(),
            false.into(),
            now.into(),
        ],
    )
    .await?;
    for a in m.authorities {
        crate::db::exec(
            &txn,
            "INSERT INTO staff_authorities (staff_id, authority) VALUES ($1, $2)",
            vec![id.into(), a.as_str().into()],
        )
        .await?;
    }
    let detail = format!(
        "role={} authorities={}",
        m.role.code(),
        m.authorities.join(",")
    );
    audit::append(
        &txn,
        keys,
        Event::new(None, "staff_add")
            .target(&id.to_string())
            .detail(&detail),
    )
    .await?;
    txn.commit().await.context("cannot commit")?;
    Ok(id)
}

async fn find_id(db: &impl ConnectionTrait, bidx: &[u8]) -> anyhow::Result<Option<Uuid>> {
    let row = crate::db::row(
        db,
        "SELECT id FROM staff WHERE email_bidx = $1",
        vec![bidx.to_vec().into()],
    )
    .await?;
    Ok(row.map(|r| r.try_get_by_index(0)).transpose()?)
}

pub async fn id_by_email(
    db: &DatabaseConnection,
    keys: &KeyRing,
    email: &str,
) -> Result<Uuid, AccountError> {
    find_id(db, &email_key(keys, email))
        .await?
        .ok_or(AccountError::Unknown)
}

/// A member with their password hash, for sign-in.
pub struct Credentials {
    pub member: Member,
    pub password_hash: String,
}

/// `locked_until` is the lock of the member's address in `signin_locks` (expired or
/// not: readers compare it with [`crate::clock::now`]).
const MEMBER_COLUMNS: &str = "id, role, org, disabled, totp_ct IS NOT NULL, \
     (SELECT l.locked_until FROM signin_locks l WHERE l.email_bidx = staff.email_bidx), \
     password_hash";

async fn member_from(
    db: &impl ConnectionTrait,
    row: &sea_orm::QueryResult,
) -> anyhow::Result<Credentials> {
    let id: Uuid = row.try_get_by_index(0)?;
    let role: String = row.try_get_by_index(1)?;
    let authorities = crate::db::all(
        db,
        "SELECT authority FROM staff_authorities WHERE staff_id = $1 ORDER BY authority",
        vec![id.into()],
        |r| r.try_get_by_index::<String>(0),
    )
    .await?;
    Ok(Credentials {
        member: Member {
            id,
            role: Role::parse(&role).context("unknown role stored")?,
            authorities,
            org: row.try_get_by_index(2)?,
            disabled: row.try_get_by_index(3)?,
            totp_enrolled: row.try_get_by_index(4)?,
            locked_until: row.try_get_by_index(5)?,
        },
        password_hash: row.try_get_by_index(6)?,
    })
}

pub async fn credentials_by_email(
    db: &impl ConnectionTrait,
    keys: &KeyRing,
    email: &str,
) -> anyhow::Result<Option<Credentials>> {
    let row = crate::db::row(
        db,
        &format!("SELECT {MEMBER_COLUMNS} FROM staff WHERE email_bidx = $1"),
        vec![email_key(keys, email).into()],
    )
    .await?;
    match row {
        Some(row) => Ok(Some(member_from(db, &row).await?)),
        None => Ok(None),
    }
}

pub async fn member(db: &impl ConnectionTrait, id: Uuid) -> anyhow::Result<Option<Member>> {
    let row = crate::db::row(
        db,
        &format!("SELECT {MEMBER_COLUMNS} FROM staff WHERE id = $1"),
        vec![id.into()],
    )
    .await?;
    match row {
        Some(row) => Ok(Some(member_from(db, &row).await?.member)),
        None => Ok(None),
    }
}

/// Counts a failed check (password or second factor) of the address `key`, whose try
/// [`lock::take`] took, and records it: `actor` is the member, `None` for an address
/// no account has. Whether the address is locked now.
pub async fn record_failure(
    db: &DatabaseConnection,
    keys: &KeyRing,
    key: &[u8],
    actor: Option<Uuid>,
    what: &str,
) -> anyhow::Result<bool> {
    let failed = lock::fail(db, key).await?;
    let action = if failed == lock::Failed::LockedNow {
        "login_locked"
    } else {
        "login_failed"
    };
    audit::record(db, keys, Event::new(actor, action).detail(what)).await?;
    Ok(failed.locked())
}

/// A completed sign-in: the member's failures are forgotten.
pub async fn clear_failures(db: &impl ConnectionTrait, id: Uuid) -> anyhow::Result<()> {
    lock::clear(db, &lock::key_of(db, id).await?).await
}

/// A change an admin makes to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change<'a> {
    Disable,
    Enable,
    Unlock,
    Password(&'a str),
    /// Forgets the second factor: the next sign-in enrolls again.
    ResetTotp,
}

/// Applies a change, ends the member's sessions where it matters, and records it.
pub async fn change(
    db: &DatabaseConnection,
    keys: &KeyRing,
    hasher: &ReceiptHasher,
    actor: Option<Uuid>,
    id: Uuid,
    change: Change<'_>,
) -> Result<(), AccountError> {
    let txn = db.begin().await.context("cannot begin")?;
    let now = Utc::now();
    let (sql, values, action, end_sessions): (&str, Vec<sea_orm::Value>, &str, bool) = match change
    {
        Change::Disable => (
            "UPDATE staff SET disabled = $2, updated_at = $3 WHERE id = $1",
            vec![id.into(), true.into(), now.into()],
            "staff_disable",
            true,
        ),
        Change::Enable => (
            "UPDATE staff SET disabled = $2, updated_at = $3 WHERE id = $1",
            vec![id.into(), false.into(), now.into()],
            "staff_enable",
            false,
        ),
        Change::Unlock => (
            "UPDATE staff SET updated_at = $2 WHERE id = $1",
            vec![id.into(), now.into()],
            "staff_unlock",
            false,
        ),
        Change::Password(password) => {
            check_password(password)?;
            let hash = hasher.hash(password).map_err(|e| anyhow::anyhow!("{e}"))?;
            (
                "UPDATE staff SET password_hash = $2, updated_at = $3 WHERE id = $1",
                vec![id.into(), hash.into(), now.into()],
                "staff_reset_password",
                true,
            )
        }
        Change::ResetTotp => (
            "UPDATE staff SET totp_ct = NULL, totp_last_step = NULL, updated_at = $2 WHERE id = $1",
            vec![id.into(), now.into()],
            "staff_reset_totp",
            true,
        ),
    };
    if crate::db::exec(&txn, sql, values).await? == 0 {
        return Err(AccountError::Unknown);
    }
    if matches!(change, Change::Unlock | Change::Password(_)) {
        lock::lift(&txn, id).await?;
    }
    if end_sessions {
        crate::db::exec(
            &txn,
            "DELETE FROM staff_sessions WHERE staff_id = $1",
            vec![id.into()],
        )
        .await?;
    }
    if matches!(change, Change::Disable) {
        crate::db::exec(
            &txn,
            "UPDATE staff_tokens SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL",
            vec![id.into(), now.into()],
        )
        .await?;
    }
    if matches!(change, Change::ResetTotp) {
        crate::db::exec(
            &txn,
            "DELETE FROM staff_recovery_codes WHERE staff_id = $1",
            vec![id.into()],
        )
        .await?;
    }
    audit::append(
        &txn,
        keys,
        Event {
            actor,
            action,
            case_id: None,
            target: Some(&id.to_string()),
            reason: None,
            detail: "",
        },
    )
    .await?;
    txn.commit().await.context("cannot commit")?;
    Ok(())
}

/// Issues a personal API token (printed once; only its hash is kept).
pub async fn issue_token(
    db: &DatabaseConnection,
    keys: &KeyRing,
    id: Uuid,
) -> anyhow::Result<Zeroizing<String>> {
    let token = new_token();
    let secret = Zeroizing::new(format!("bzt_{}", token.as_str()));
    let txn = db.begin().await?;
    crate::db::exec(
        &txn,
        "INSERT INTO staff_tokens (token_hash, staff_id, created_at, last_used_at, revoked_at) VALUES ($1, $2, $3, NULL, NULL)",
        vec![token_hash(&secret).into(), id.into(), Utc::now().into()],
    )
    .await?;
    audit::append(
        &txn,
        keys,
        Event::new(None, "token_issue").target(&id.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(secret)
}

/// One row of `buzon staff list` and the admin page.
#[derive(serde::Serialize)]
pub struct Listed {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub authorities: Vec<String>,
    pub org: Option<String>,
    pub disabled: bool,
    pub totp: bool,
    pub locked: bool,
}

pub async fn list(db: &DatabaseConnection, keys: &KeyRing) -> anyhow::Result<Vec<Listed>> {
    let rows = crate::db::rows(
        db,
        &format!("SELECT {MEMBER_COLUMNS}, email_ct FROM staff ORDER BY created_at"),
        vec![],
    )
    .await?;
    let now = crate::clock::now();
    let mut out = Vec::new();
    for row in &rows {
        let c = member_from(db, row).await?;
        let org = match c.member.org_id() {
            Some(id) => crate::staff::org_name(db, id).await?,
            None => None,
        };
        let email_ct: Vec<u8> = row.try_get_by_index(7)?;
        let email = keys
            .cipher
            .decrypt_string(email_aad(c.member.id), &email_ct)
            .context("cannot decrypt a staff e-mail")?;
        out.push(Listed {
            id: c.member.id,
            email,
            role: c.member.role,
            authorities: c.member.authorities,
            org,
            disabled: c.member.disabled,
            totp: c.member.totp_enrolled,
            locked: c.member.locked_until.is_some_and(|t| t > now),
        });
    }
    Ok(out)
}

/// Inspectors and admins who may take a case held by `authorities` (for the assign
/// list): active inspectors sharing one of them.
pub async fn colleagues(
    db: &DatabaseConnection,
    keys: &KeyRing,
    authorities: &[String],
) -> anyhow::Result<Vec<(Uuid, String)>> {
    if authorities.is_empty() {
        return Ok(Vec::new());
    }
    // One query, and only these members' e-mails decrypted (this runs on every
    // case page).
    let mut values: Vec<sea_orm::Value> = vec![Role::Inspector.code().into(), false.into()];
    let marks: Vec<String> = authorities
        .iter()
        .map(|a| {
            values.push(a.as_str().into());
            format!("${}", values.len())
        })
        .collect();
    let sql = format!(
        "SELECT s.id, s.email_ct FROM staff s WHERE s.role = $1 AND s.disabled = $2 AND EXISTS \
         (SELECT 1 FROM staff_authorities a WHERE a.staff_id = s.id AND a.authority IN ({})) \
         ORDER BY s.created_at",
        marks.join(", ")
    );
    let mut out = Vec::new();
    for row in crate::db::rows(db, &sql, values).await? {
        let id: Uuid = row.try_get_by_index(0)?;
        let ct: Vec<u8> = row.try_get_by_index(1)?;
        let email = keys
            .cipher
            .decrypt_string(email_aad(id), &ct)
            .context("cannot decrypt a staff e-mail")?;
        out.push((id, email));
    }
    Ok(out)
}
