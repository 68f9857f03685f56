//! The second factor: TOTP (RFC 6238, `totp-rs`) secrets encrypted at rest, each
//! time step used once, enrolment with recovery codes, and the QR code to scan.

use super::*;

/// SHA-1, 6 digits, 30 s: what every authenticator app supports (RFC 6238 defaults).
pub fn totp(secret: Vec<u8>, account: &str) -> anyhow::Result<totp_rs::TOTP> {
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        Some("Buzon".to_owned()),
        account.to_owned(),
    )
    .map_err(|e| anyhow::anyhow!("TOTP: {e:?}"))
}

/// The time step a code is valid for (now, or one step either side for clock
/// drift), if any. Compared in constant time.
pub fn matching_step(totp: &totp_rs::TOTP, code: &str, now: u64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = now / 30;
    [step.saturating_sub(1), step, step + 1]
        .into_iter()
        .find(|s| crate::crypto::ct_eq(totp.generate(s * 30).as_bytes(), code.as_bytes()))
        .and_then(|s| i64::try_from(s).ok())
}

pub fn unix_now() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

/// The member's TOTP, decrypted, with the last step used.
pub async fn stored_totp(
    db: &impl ConnectionTrait,
    keys: &KeyRing,
    id: Uuid,
) -> anyhow::Result<Option<(Vec<u8>, Option<i64>)>> {
    let row = crate::db::row(
        db,
        "SELECT totp_ct, totp_last_step FROM staff WHERE id = $1",
        vec![id.into()],
    )
    .await?
    .context("staff row vanished")?;
    let ct: Option<Vec<u8>> = row.try_get_by_index(0)?;
    let last: Option<i64> = row.try_get_by_index(1)?;
    match ct {
        None => Ok(None),
        Some(ct) => Ok(Some((
            keys.cipher
                .decrypt(totp_aad(id), &ct)
                .context("cannot decrypt TOTP")?,
            last,
        ))),
    }
}

/// Records a used step, refusing one already used (a replayed code): only one of two
/// concurrent sign-ins with the same code wins.
pub async fn consume_step(db: &impl ConnectionTrait, id: Uuid, step: i64) -> anyhow::Result<bool> {
    Ok(crate::db::exec(
        db,
        "UPDATE staff SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        vec![id.into(), step.into()],
    )
    .await?
        == 1)
}

/// A second factor was set up meanwhile (another enrollment won).
#[derive(Debug, thiserror::Error)]
#[error("a second factor is already set up")]
pub struct AlreadyEnrolled;

/// Stores a new second factor and its recovery codes; returns the codes (shown once).
pub async fn enroll(
    txn: &impl ConnectionTrait,
    keys: &KeyRing,
    id: Uuid,
    secret: &[u8],
    step: i64,
) -> anyhow::Result<Vec<String>> {
    let ct = keys
        .cipher
        .encrypt(totp_aad(id), secret)
        .context("cannot encrypt TOTP")?;
    // Never over a factor already set up (two enrollments racing: the first wins).
    let stored = crate::db::exec(
        txn,
        "UPDATE staff SET totp_ct = $2, totp_last_step = $3, updated_at = $4 WHERE id = $1 AND totp_ct IS NULL",
        vec![id.into(), ct.into(), step.into(), Utc::now().into()],
    )
    .await?;
    if stored != 1 {
        anyhow::bail!(AlreadyEnrolled);
    }
    crate::db::exec(
        txn,
        "DELETE FROM staff_recovery_codes WHERE staff_id = $1",
        vec![id.into()],
    )
    .await?;
    let mut codes = Vec::new();
    for _ in 0..RECOVERY_CODES {
        // 16 characters of an unambiguous alphabet: about 80 bits.
        let code = crate::crypto::receipt::random_code(16);
        crate::db::exec(
            txn,
            "INSERT INTO staff_recovery_codes (staff_id, code_hash, used_at) VALUES ($1, $2, NULL)",
            vec![id.into(), recovery_hash(keys, &code).into()],
        )
        .await?;
        codes.push(format!(
            "{}-{}-{}-{}",
            &code[..4],
            &code[4..8],
            &code[8..12],
            &code[12..]
        ));
    }
    Ok(codes)
}

/// Recovery codes are high-entropy, so a keyed hash suffices (no Argon2 cost).
pub(super) fn recovery_hash(keys: &KeyRing, code: &str) -> String {
    let normalized: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hex(&keys.blind_index.compute("staff_recovery", &normalized))
}

/// Uses up a recovery code; false when it is unknown or already used.
pub async fn use_recovery_code(
    db: &impl ConnectionTrait,
    keys: &KeyRing,
    id: Uuid,
    code: &str,
) -> anyhow::Result<bool> {
    Ok(crate::db::exec(
        db,
        "UPDATE staff_recovery_codes SET used_at = $3 WHERE staff_id = $1 AND code_hash = $2 AND used_at IS NULL",
        vec![id.into(), recovery_hash(keys, code).into(), Utc::now().into()],
    )
    .await?
        == 1)
}

/// The otpauth:// URL as an inline SVG QR code.
pub fn qr_svg(url: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).context("cannot make the QR code")?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build())
}
