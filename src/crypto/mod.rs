//! Field encryption, blind indexes, receipts and the key file.
//!
//! - [`FieldCipher`]: AES-256-GCM per value, fresh 96-bit nonce, key id in every
//!   ciphertext, associated data binding the value to table, column and row.
//! - [`BlindIndex`]: HMAC-SHA256 under its own key over a normalized value, for
//!   exact-match lookups (same phone, same e-mail) without decrypting.
//! - [`receipt`]: split-token receipts; only an Argon2id hash of the secret is stored.
//! - [`keyring`]: the key file, created with mode 0600 on first start.

mod blind_index;
mod field;
pub mod keyring;
pub mod perms;
pub mod receipt;

pub use blind_index::BlindIndex;
pub use field::{Aad, CryptoError, FieldCipher};
pub use keyring::KeyRing;

use rand::Rng;

/// Bytes from a cryptographically secure generator (rand's `ThreadRng`: ChaCha12
/// seeded and periodically reseeded from the operating system).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    rand::rng().fill_bytes(&mut buf);
    buf
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// SHA-256 of `bytes`, lower-case hex: what is recorded for stored evidence.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Constant-time equality for secrets.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lower_case() {
        assert_eq!(super::hex(&[0, 171, 255]), "00abff");
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
