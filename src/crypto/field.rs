use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use std::collections::HashMap;
use uuid::Uuid;

/// Ciphertext layout: `[version=1][key id: u32 BE][nonce: 12][AES-GCM ciphertext+tag]`.
const FORMAT_V1: u8 = 1;
const HEADER: usize = 1 + 4 + 12;

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
    fn bytes(&self) -> Vec<u8> {
        format!("buzon/v1/{}/{}/{}", self.table, self.column, self.row).into_bytes()
    }
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
                    aad: &aad.bytes(),
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut out = Vec::with_capacity(HEADER + sealed.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&self.active.to_be_bytes());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn encrypt_str(&self, aad: Aad<'_>, plaintext: &str) -> Result<Vec<u8>, CryptoError> {
        self.encrypt(aad, plaintext.as_bytes())
    }

    pub fn decrypt(&self, aad: Aad<'_>, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if ciphertext.len() < HEADER + 16 || ciphertext.first() != Some(&FORMAT_V1) {
            return Err(CryptoError::Malformed);
        }
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
        cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext.get(HEADER..).unwrap_or_default(),
                    aad: &aad.bytes(),
                },
            )
            .map_err(|_| CryptoError::Authentication)
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
