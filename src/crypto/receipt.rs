//! Receipts: what a worker writes down to come back to their case.
//!
//! A receipt is 24 characters of Crockford base32 (no I, L, O or U: nothing to
//! confuse when read aloud or typed on a phone), shown in six groups of four:
//! `7KQM-2X9P-RTAB-3CDE-FGHJ-KMNP`. The first 7 characters are the public lookup
//! part (35 bits, unique, stored in clear to find the row); the other 17 are the
//! secret (85 bits), of which only an Argon2id hash is stored. Typing is forgiving:
//! case, spaces and dashes don't matter, and O/I/L are read as 0/1/1.

use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use zeroize::Zeroizing;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const LOOKUP_LEN: usize = 7;
pub const SECRET_LEN: usize = 17;
pub const RECEIPT_LEN: usize = LOOKUP_LEN + SECRET_LEN;
// Five bits per character: the secret part must carry at least 80 bits.
const _: () = assert!(SECRET_LEN * 5 >= 80);

/// `n` random Crockford base32 characters from a CSPRNG.
pub fn random_code(n: usize) -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    // 256 is a multiple of 32, so the low five bits of a uniform byte are uniform.
    (0..n)
        .map(|_| char::from(ALPHABET[usize::from(rng.random::<u8>() & 31)]))
        .collect()
}

/// A freshly issued receipt. The secret lives only in memory until it is shown.
pub struct Receipt {
    pub lookup: String,
    secret: Zeroizing<String>,
}

impl Receipt {
    pub fn generate() -> Self {
        Self {
            lookup: random_code(LOOKUP_LEN),
            secret: Zeroizing::new(random_code(SECRET_LEN)),
        }
    }

    /// Parses what a worker typed. `None` when it cannot be a receipt at all.
    pub fn parse(input: &str) -> Option<Self> {
        let mut code = String::with_capacity(RECEIPT_LEN);
        for c in input.chars() {
            match c.to_ascii_uppercase() {
                ' ' | '-' | '\t' | '\u{a0}' => continue,
                'O' => code.push('0'),
                'I' | 'L' => code.push('1'),
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => code.push(c),
                _ => return None,
            }
            if code.len() > RECEIPT_LEN {
                return None;
            }
        }
        if code.len() != RECEIPT_LEN {
            return None;
        }
        let secret = Zeroizing::new(code.split_off(LOOKUP_LEN));
        Some(Self {
            lookup: code,
            secret,
        })
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The code as shown to the worker: six groups of four.
    pub fn display(&self) -> Zeroizing<String> {
        let full: String = format!("{}{}", self.lookup, self.secret.as_str());
        let groups: Vec<&str> = full
            .as_bytes()
            .chunks(4)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        Zeroizing::new(groups.join("-"))
    }
}

/// Argon2id cost for receipt secrets. Defaults follow OWASP's minimum for Argon2id
/// (19 MiB, 2 passes, 1 lane); the 85-bit secret is what makes guessing hopeless, the
/// hash keeps a stolen database from turning into working receipts.
#[derive(Clone, Copy, Debug, serde::Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashCost {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl std::fmt::Display for HashCost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Argon2id m={} KiB, t={}, p={}",
            self.memory_kib, self.iterations, self.parallelism
        )
    }
}

/// Hashes and verifies receipt secrets. Verification of an unknown lookup runs
/// against a dummy hash so "wrong secret" and "no such receipt" take the same time.
pub struct ReceiptHasher {
    argon: Argon2<'static>,
    dummy: String,
    /// Argon2 working memory (`m` KiB each) kept between hashes, one per hash running
    /// at once (the callers bound that: one per core). Allocating it for every hash
    /// cost a zeroing pass over it (calloc on memory malloc kept; about 6 % of a
    /// complaint's CPU) and left freed copies resident in every allocator arena a
    /// blocking thread had used (RSS grew by hundreds of MiB under load). Argon2
    /// overwrites every block before reading it, so a reused buffer needs no zeroing.
    memory: std::sync::Mutex<Vec<Vec<argon2::Block>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("Argon2 rejected its parameters or input: {0}")]
pub struct HashError(String);

impl ReceiptHasher {
    pub fn new(cost: HashCost) -> Result<Self, HashError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| HashError(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut hasher = Self {
            argon,
            dummy: String::new(),
            memory: std::sync::Mutex::new(Vec::new()),
        };
        hasher.dummy = hasher.hash(&random_code(SECRET_LEN))?;
        Ok(hasher)
    }

    /// PHC string of an Argon2id hash with a fresh 16-byte salt; the same string
    /// `Argon2::hash_password_with_salt` gives, computed in reused working memory.
    pub fn hash(&self, secret: &str) -> Result<String, HashError> {
        use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
        let err = |e: &dyn std::fmt::Display| HashError(e.to_string());
        let salt: [u8; 16] = super::random_bytes();
        let params = self.argon.params();
        let mut out = Zeroizing::new(vec![
            0u8;
            params
                .output_len()
                .unwrap_or(Params::DEFAULT_OUTPUT_LEN)
        ]);
        // A poisoned lock only means another hash panicked: the buffers are still fine.
        let taken = self
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let mut blocks = taken.unwrap_or_default();
        blocks.resize(params.block_count(), argon2::Block::default());
        let result = self.argon.hash_password_into_with_memory(
            secret.as_bytes(),
            &salt,
            &mut out,
            &mut blocks,
        );
        self.memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(blocks);
        result.map_err(|e| err(&e))?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(params).map_err(|e| err(&e))?,
            salt: Some(Salt::new(&salt).map_err(|e| err(&e))?),
            hash: Some(Output::new(&out).map_err(|e| err(&e))?),
        };
        Ok(hash.to_string())
    }

    /// Checks `secret` against `stored`, or against the dummy hash when there is no
    /// stored hash; false in that case whatever the secret.
    pub fn verify(&self, secret: &str, stored: Option<&str>) -> bool {
        let ok = self
            .argon
            .verify_password(secret.as_bytes(), stored.unwrap_or(&self.dummy))
            .is_ok();
        ok && stored.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cheap() -> ReceiptHasher {
        ReceiptHasher::new(HashCost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn receipts_carry_at_least_80_secret_bits_and_no_ambiguous_characters() {
        let r = Receipt::generate();
        let shown = r.display();
        assert_eq!(shown.len(), RECEIPT_LEN + 5);
        assert!(!shown.contains(['I', 'L', 'O', 'U']));
    }

    #[test]
    fn typing_is_forgiving() {
        let r = Receipt::generate();
        let shown = r.display().to_string();
        let typed = shown
            .to_lowercase()
            .replace('-', " ")
            .replace('0', "o")
            .replace('1', "l");
        let parsed = Receipt::parse(&typed);
        assert_eq!(
            parsed.as_ref().map(|p| p.lookup.as_str()),
            Some(r.lookup.as_str())
        );
        assert_eq!(parsed.as_ref().map(|p| p.secret()), Some(r.secret()));
    }

    #[test]
    fn not_a_receipt() {
        for bad in [
            "",
            "ABC",
            "ÑÑÑÑ-ÑÑÑÑ-ÑÑÑÑ-ÑÑÑÑ-ÑÑÑÑ-ÑÑÑÑ",
            "UUUU-UUUU-UUUU-UUUU-UUUU-UUUU",
        ] {
            assert!(Receipt::parse(bad).is_none(), "{bad}");
        }
        let r = Receipt::generate();
        assert!(Receipt::parse(&format!("{}X", r.display().as_str())).is_none());
    }

    #[test]
    fn hash_verifies_only_the_right_secret() {
        let h = cheap();
        let stored = h.hash("ABCDEFGHJKMNPQRST").unwrap_or_default();
        assert!(stored.starts_with("$argon2id$"));
        assert!(h.verify("ABCDEFGHJKMNPQRST", Some(&stored)));
        assert!(!h.verify("ABCDEFGHJKMNPQRSV", Some(&stored)));
        assert!(!h.verify("ABCDEFGHJKMNPQRST", None));
    }

    /// Hashes computed in reused working memory are the library's own: the PHC string
    /// names the configured cost, and the library's verification (which allocates
    /// afresh) accepts each, including those computed in a buffer used before.
    #[test]
    fn reused_memory_gives_the_librarys_hashes() {
        let h = cheap();
        let first = h.hash("ABCDEFGHJKMNPQRST").unwrap_or_default();
        let second = h.hash("ABCDEFGHJKMNPQRST").unwrap_or_default();
        let other = h.hash("VWXYZ23456789ABCD").unwrap_or_default();
        assert!(first.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{first}");
        assert_ne!(first, second, "each hash has its own salt");
        for (secret, stored) in [
            ("ABCDEFGHJKMNPQRST", &first),
            ("ABCDEFGHJKMNPQRST", &second),
            ("VWXYZ23456789ABCD", &other),
        ] {
            assert!(
                h.argon
                    .verify_password(secret.as_bytes(), stored.as_str())
                    .is_ok()
            );
        }
        assert!(!h.verify("VWXYZ23456789ABCD", Some(&first)));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,80}") {
            let _ = Receipt::parse(&s);
        }
    }
}
