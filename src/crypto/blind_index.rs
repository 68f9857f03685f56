use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The most remembered normalizations ([`BlindIndex::compute_normalized`]); when
/// full, the memo starts again empty (about 2 MiB at most).
const MEMO_MAX: usize = 16_384;

/// HMAC-SHA256 blind index under a key separate from the encryption keys. It leaks
/// only equality, so it is used for exact matches on high-entropy identifiers (phone,
/// e-mail, employer name), never on low-entropy fields. Each purpose is domain
/// separated so a phone index never equals an e-mail index.
pub struct BlindIndex {
    key: [u8; 32],
    /// `compute(memo, raw)` -> `compute(purpose, normalize(raw))`: blind indexes
    /// only, so the memo holds no identifier in the clear.
    memo: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
}

impl BlindIndex {
    pub(crate) fn new(key: [u8; 32]) -> Self {
        Self {
            key,
            memo: Mutex::default(),
        }
    }

    /// `purpose` names what is indexed (`"phone"`, `"email"`, `"employer"`);
    /// `normalized` must already be in canonical form (E.164, lower-cased e-mail...).
    pub fn compute(&self, purpose: &str, normalized: &str) -> Vec<u8> {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            // HMAC accepts keys of any length; this arm cannot be reached.
            Err(_) => return Vec::new(),
        };
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(normalized.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// `compute(purpose, &normalize(raw))`, remembered for `raw`: for identifiers
    /// whose normalization costs far more than the HMAC (a phone number through
    /// libphonenumber's metadata: about 30 µs, a WhatsApp sender's every message)
    /// and that come again and again. `memo` names the normalization (two with
    /// the same raw input but different rules must not share answers); the memo
    /// is keyed by the blind index of `raw` under `memo` and holds at most
    /// [`MEMO_MAX`] answers.
    pub fn compute_normalized(
        &self,
        memo: &str,
        raw: &str,
        purpose: &str,
        normalize: impl FnOnce(&str) -> String,
    ) -> Vec<u8> {
        let seen = self.compute(memo, raw);
        if let Some(index) = self.remembered().get(&seen) {
            return index.clone();
        }
        let index = self.compute(purpose, &normalize(raw));
        let mut memo = self.remembered();
        if memo.len() >= MEMO_MAX {
            memo.clear();
        }
        memo.insert(seen, index.clone());
        index
    }

    /// The memo; a panic elsewhere while it was held leaves only whole entries.
    fn remembered(&self) -> MutexGuard<'_, HashMap<Vec<u8>, Vec<u8>>> {
        self.memo.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Normalizes an employer name for grouping: case, accents, punctuation and
    /// repeated spaces don't matter ("Arneses del Bajío, S.A." = "ARNESES DEL BAJIO SA").
    pub fn employer_key(name: &str) -> String {
        let folded: String = crate::domain::strip_accents(name)
            .flat_map(char::to_lowercase)
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        folded.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

impl Drop for BlindIndex {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.key.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_input_same_index_and_purposes_are_separated() {
        let b = BlindIndex::new([3u8; 32]);
        assert_eq!(
            b.compute("phone", "+524771234567"),
            b.compute("phone", "+524771234567")
        );
        assert_ne!(
            b.compute("phone", "+524771234567"),
            b.compute("email", "+524771234567")
        );
        assert_ne!(
            b.compute("phone", "+524771234567"),
            BlindIndex::new([4u8; 32]).compute("phone", "+524771234567")
        );
        assert_eq!(b.compute("phone", "x").len(), 32);
    }

    #[test]
    fn a_remembered_normalization_answers_as_computing_it_would() {
        let b = BlindIndex::new([3u8; 32]);
        let calls = std::cell::Cell::new(0);
        let normalize = |raw: &str| {
            calls.set(calls.get() + 1);
            raw.trim_start_matches('0').to_owned()
        };
        let direct = b.compute("phone", "4771234567");
        assert_eq!(
            b.compute_normalized("n", "004771234567", "phone", normalize),
            direct
        );
        assert_eq!(
            b.compute_normalized("n", "004771234567", "phone", normalize),
            direct
        );
        assert_eq!(calls.get(), 1, "the second time is remembered");
        // Another normalization of the same input is its own.
        let other = b.compute_normalized("m", "004771234567", "phone", str::to_owned);
        assert_eq!(other, b.compute("phone", "004771234567"));
        // Bounded: a flood of new inputs never grows it past its limit.
        for i in 0..MEMO_MAX + 10 {
            b.compute_normalized("n", &i.to_string(), "phone", str::to_owned);
        }
        assert!(b.memo.lock().unwrap().len() <= MEMO_MAX);
        assert_eq!(
            b.compute_normalized("n", "004771234567", "phone", normalize),
            direct
        );
    }

    #[test]
    fn employer_names_fold_case_accents_and_punctuation() {
        assert_eq!(
            BlindIndex::employer_key("Arneses del Bajío, S.A. de C.V."),
            BlindIndex::employer_key("ARNESES  DEL BAJIO S A DE C V")
        );
    }
}
