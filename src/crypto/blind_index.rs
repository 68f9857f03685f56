use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// HMAC-SHA256 blind index under a key separate from the encryption keys. It leaks
/// only equality, so it is used for exact matches on high-entropy identifiers (phone,
/// e-mail, employer name), never on low-entropy fields. Each purpose is domain
/// separated so a phone index never equals an e-mail index.
pub struct BlindIndex {
    key: [u8; 32],
}

impl BlindIndex {
    pub(crate) fn new(key: [u8; 32]) -> Self {
        Self { key }
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
    fn employer_names_fold_case_accents_and_punctuation() {
        assert_eq!(
            BlindIndex::employer_key("Arneses del Bajío, S.A. de C.V."),
            BlindIndex::employer_key("ARNESES  DEL BAJIO S A DE C V")
        );
    }
}
