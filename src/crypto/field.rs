use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use std::collections::HashMap;
use uuid::Uuid;

/// Ciphertext layout: `[version][key id: u32 BE][nonce: 12][AES-GCM ciphertext+tag]`.
/// Version 1 seals the value as it is; version 2 ([`FieldCipher::encrypt_padded`])
/// seals `[length: u64 BE][value][zeros]` padded to a size bucket, so a file's
/// ciphertext does not tell its exact size (a known document could be found by
/// it). The version is bound into the associated data: changing it fails to
/// authenticate.
const FORMAT_V1: u8 = 1;
const FORMAT_PADDED: u8 = 2;
const HEADER: usize = 1 + 4 + 12;
/// Padded values are at least this long, and grow in steps of at least this much.
const PAD_MIN: usize = 16 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("ciphertext was made with key {0}, which is not in the key file")]
    UnknownKey(u32),
    #[error("ciphertext does not authenticate for this table, column and row")]
    Authentication,
    #[error("encryption failed")]
    Encrypt,
}

/// Where a ciphertext lives. It is authenticated as associated data, so a value
/// copied to another row or column fails to decrypt instead of reading as garbage.
#[derive(Clone, Copy, Debug)]
pub struct Aad<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row: Uuid,
}

impl Aad<'_> {
    fn bytes(&self, version: u8) -> Vec<u8> {
        let v = if version == FORMAT_PADDED {
            "v2-padded"
        } else {
            "v1"
        };
        format!("buzon/{v}/{}/{}/{}", self.table, self.column, self.row).into_bytes()
    }
}

/// The padded length of `n` bytes (with the 8-byte length before them): a multiple
/// of 16 KiB, or of 1/16 of the next power of two above 256 KiB (under 12.5 % more:
/// a length just over half a power of two is rounded up by at most 1/16 of it).
fn padded_len(n: usize) -> usize {
    let n = n.saturating_add(8);
    let step = (n.checked_next_power_of_two().unwrap_or(usize::MAX) / 16).max(PAD_MIN);
    n.div_ceil(step).saturating_mul(step)
}

/// Encrypts and decrypts individual fields with the key ring's AES-256-GCM keys.
/// New values use the active key; old values decrypt with whichever key they name.
pub struct FieldCipher {
    keys: HashMap<u32, Aes256Gcm>,
    active: u32,
}

impl FieldCipher {
    pub(crate) fn new(keys: &[(u32, &[u8; 32])], active: u32) -> Self {
        let keys = keys
            .iter()
            .filter_map(|(id, key)| Aes256Gcm::new_from_slice(&key[..]).ok().map(|c| (*id, c)))
            .collect();
        Self { keys, active }
    }

    pub fn encrypt(&self, aad: Aad<'_>, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.seal(aad, FORMAT_V1, plaintext)
    }

    /// [`FieldCipher::encrypt`] for files: the value is padded to a size bucket
    /// first, so the ciphertext's length does not give the file's exact size.
    /// [`FieldCipher::decrypt`] reads both forms.
    pub fn encrypt_padded(&self, aad: Aad<'_>, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let len = padded_len(plaintext.len());
        let mut padded = zeroize::Zeroizing::new(Vec::with_capacity(len));
        padded.extend_from_slice(&(plaintext.len() as u64).to_be_bytes());
        padded.extend_from_slice(plaintext);
        padded.resize(len, 0);
        self.seal(aad, FORMAT_PADDED, &padded)
    }

    /// Whether a stored ciphertext is a padded one (re-encryption keeps it so).
    pub fn is_padded(ciphertext: &[u8]) -> bool {
        ciphertext.first() == Some(&FORMAT_PADDED)
    }

    fn seal(&self, aad: Aad<'_>, version: u8, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = self
            .keys
            .get(&self.active)
            .ok_or(CryptoError::UnknownKey(self.active))?;
        let nonce_bytes: [u8; 12] = super::random_bytes();
        let nonce = Nonce::from(nonce_bytes);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &aad.bytes(version),
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut out = Vec::with_capacity(HEADER + sealed.len());
        out.push(version);
        out.extend_from_slice(&self.active.to_be_bytes());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn encrypt_str(&self, aad: Aad<'_>, plaintext: &str) -> Result<Vec<u8>, CryptoError> {
        self.encrypt(aad, plaintext.as_bytes())
    }

    pub fn decrypt(&self, aad: Aad<'_>, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let version = match ciphertext.first() {
            Some(&v @ (FORMAT_V1 | FORMAT_PADDED)) if ciphertext.len() >= HEADER + 16 => v,
            _ => return Err(CryptoError::Malformed),
        };
        let key_id = ciphertext
            .get(1..5)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
            .ok_or(CryptoError::Malformed)?;
        let nonce = ciphertext
            .get(5..HEADER)
            .and_then(|b| <[u8; 12]>::try_from(b).ok())
            .map(Nonce::from)
            .ok_or(CryptoError::Malformed)?;
        let cipher = self
            .keys
            .get(&key_id)
            .ok_or(CryptoError::UnknownKey(key_id))?;
        let plain = cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext.get(HEADER..).unwrap_or_default(),
                    aad: &aad.bytes(version),
                },
            )
            .map_err(|_| CryptoError::Authentication)?;
        if version == FORMAT_V1 {
            return Ok(plain);
        }
        let plain = zeroize::Zeroizing::new(plain);
        let len = plain
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(CryptoError::Malformed)?;
        plain
            .get(8..8usize.saturating_add(len))
            .map(<[u8]>::to_vec)
            .ok_or(CryptoError::Malformed)
    }

    pub fn decrypt_string(&self, aad: Aad<'_>, ciphertext: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt(aad, ciphertext)?).map_err(|_| CryptoError::Malformed)
    }

    /// The key id new values are encrypted under.
    pub fn active_key_id(&self) -> u32 {
        self.active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> FieldCipher {
        FieldCipher::new(&[(1, &[7u8; 32]), (2, &[9u8; 32])], 2)
    }

    fn aad(column: &str, row: Uuid) -> Aad<'_> {
        Aad {
            table: "complainants",
            column,
            row,
        }
    }

    #[test]
    fn round_trips_and_names_its_key() {
        let row = Uuid::new_v4();
        let ct = cipher().encrypt_str(aad("name_ct", row), "Rosa Martínez");
        let ct = ct.unwrap_or_default();
        assert_eq!(ct.get(1..5), Some(&2u32.to_be_bytes()[..]));
        assert_eq!(
            cipher().decrypt_string(aad("name_ct", row), &ct),
            Ok("Rosa Martínez".to_string())
        );
    }

    #[test]
    fn same_value_twice_gives_different_ciphertexts() {
        let row = Uuid::new_v4();
        let a = cipher().encrypt_str(aad("name_ct", row), "x");
        let b = cipher().encrypt_str(aad("name_ct", row), "x");
        assert_ne!(a, b);
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_or_column_fails() {
        let row = Uuid::new_v4();
        let ct = cipher()
            .encrypt_str(aad("name_ct", row), "Rosa")
            .unwrap_or_default();
        assert_eq!(
            cipher().decrypt(aad("name_ct", Uuid::new_v4()), &ct),
            Err(CryptoError::Authentication)
        );
        assert_eq!(
            cipher().decrypt(aad("phone_ct", row), &ct),
            Err(CryptoError::Authentication)
        );
        let other_table = Aad {
            table: "cases",
            column: "name_ct",
            row,
        };
        assert_eq!(
            cipher().decrypt(other_table, &ct),
            Err(CryptoError::Authentication)
        );
    }

    #[test]
    fn old_keys_still_decrypt_and_unknown_keys_are_named() {
        let row = Uuid::new_v4();
        let old = FieldCipher::new(&[(1, &[7u8; 32])], 1);
        let ct = old
            .encrypt_str(aad("name_ct", row), "x")
            .unwrap_or_default();
        assert_eq!(
            cipher().decrypt_string(aad("name_ct", row), &ct),
            Ok("x".into())
        );
        let without = FieldCipher::new(&[(2, &[9u8; 32])], 2);
        assert_eq!(
            without.decrypt(aad("name_ct", row), &ct),
            Err(CryptoError::UnknownKey(1))
        );
    }

    #[test]
    fn padded_values_hide_their_exact_size_and_read_back() {
        let row = Uuid::new_v4();
        let c = cipher();
        let len = |n: usize| {
            let ct = c
                .encrypt_padded(aad("content_ct", row), &vec![7u8; n])
                .unwrap_or_default();
            assert_eq!(
                c.decrypt(aad("content_ct", row), &ct),
                Ok(vec![7u8; n]),
                "{n}"
            );
            assert!(FieldCipher::is_padded(&ct));
            ct.len()
        };
        assert_eq!(len(0), len(16 * 1024 - 8));
        assert_eq!(len(39_517), len(40_000));
        assert_ne!(len(39_517), 39_517 + HEADER + 16);
        assert!(len(3_000_000) < 3_000_000 * 107 / 100 + PAD_MIN);
        // The version is authenticated: a padded value read as a plain one fails.
        let mut ct = c
            .encrypt_padded(aad("content_ct", row), b"x")
            .unwrap_or_default();
        ct[0] = FORMAT_V1;
        assert_eq!(
            c.decrypt(aad("content_ct", row), &ct),
            Err(CryptoError::Authentication)
        );
    }

    #[test]
    fn tampering_and_truncation_are_detected() {
        let row = Uuid::new_v4();
        let mut ct = cipher()
            .encrypt_str(aad("name_ct", row), "Rosa")
            .unwrap_or_default();
        if let Some(b) = ct.last_mut() {
            *b ^= 1;
        }
        assert_eq!(
            cipher().decrypt(aad("name_ct", row), &ct),
            Err(CryptoError::Authentication)
        );
        assert_eq!(
            cipher().decrypt(aad("name_ct", row), &ct[..10]),
            Err(CryptoError::Malformed)
        );
        assert_eq!(
            cipher().decrypt(aad("name_ct", row), &[]),
            Err(CryptoError::Malformed)
        );
    }
}
