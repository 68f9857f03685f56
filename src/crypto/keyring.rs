//! The key file: every key Buzón uses, kept outside the database.
//!
//! ```toml
//! active_encryption_key = 1
//! blind_index_key = "<base64, 32 bytes>"
//! csrf_key = "<base64, 32 bytes>"
//!
//! [[encryption_keys]]
//! id = 1
//! key = "<base64, 32 bytes>"
//! created_at = "2026-11-28T12:00:00Z"
//! ```
//!
//! On the embedded default the file is created on first start (mode 0600, written
//! with `create_new` so two processes can't both create it). Losing it makes every
//! encrypted value unreadable: back it up, separately from the database.

use super::{BlindIndex, FieldCipher};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    active_encryption_key: u32,
    blind_index_key: String,
    csrf_key: String,
    encryption_keys: Vec<KeyEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    id: u32,
    key: String,
    created_at: String,
}

/// All keys, loaded once at start.
pub struct KeyRing {
    pub cipher: FieldCipher,
    pub blind_index: BlindIndex,
    pub csrf_key: Zeroizing<[u8; 32]>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create key file {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {path} is not valid: {reason}")]
    Invalid { path: String, reason: String },
}

/// Whether [`KeyRing::load_or_create`] found the file or made it.
#[derive(Debug, PartialEq, Eq)]
pub enum KeySource {
    Loaded,
    Created,
}

impl KeyRing {
    /// Loads the key file, creating it with fresh keys if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<(Self, KeySource), KeyFileError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Self::parse(&text, path)?, KeySource::Loaded)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let text = Self::generate_file().map_err(|e| KeyFileError::Invalid {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                write_new_private(path, &text).map_err(|source| KeyFileError::Create {
                    path: path.display().to_string(),
                    source,
                })?;
                Ok((Self::parse(&text, path)?, KeySource::Created))
            }
            Err(source) => Err(KeyFileError::Read {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Loads an existing key file.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Text of a new key file with one encryption key and fresh blind-index and CSRF keys.
    pub fn generate_file() -> Result<String, toml::ser::Error> {
        let file = KeyFile {
            active_encryption_key: 1,
            blind_index_key: B64.encode(super::random_bytes::<32>()),
            csrf_key: B64.encode(super::random_bytes::<32>()),
            encryption_keys: vec![KeyEntry {
                id: 1,
                key: B64.encode(super::random_bytes::<32>()),
                created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }],
        };
        let body = toml::to_string(&file)?;
        Ok(format!(
            "# Buzón key file. Keep it secret (mode 0600) and BACK IT UP separately from the\n\
             # database: without it no encrypted complaint can ever be read again.\n{body}"
        ))
    }

    fn parse(text: &str, path: &Path) -> Result<Self, KeyFileError> {
        let invalid = |reason: String| KeyFileError::Invalid {
            path: path.display().to_string(),
            reason,
        };
        let file: KeyFile = toml::from_str(text).map_err(|e| invalid(e.message().to_string()))?;
        let mut keys = Vec::new();
        for entry in &file.encryption_keys {
            if keys.iter().any(|(id, _)| *id == entry.id) {
                return Err(invalid(format!(
                    "encryption key id {} appears twice",
                    entry.id
                )));
            }
            keys.push((
                entry.id,
                decode_key(&entry.key, &format!("encryption key {}", entry.id)).map_err(invalid)?,
            ));
        }
        if !keys.iter().any(|(id, _)| *id == file.active_encryption_key) {
            return Err(invalid(format!(
                "active_encryption_key = {} but there is no [[encryption_keys]] entry with that id",
                file.active_encryption_key
            )));
        }
        let blind = decode_key(&file.blind_index_key, "blind_index_key").map_err(invalid)?;
        let csrf = decode_key(&file.csrf_key, "csrf_key").map_err(invalid)?;
        let ring = Self {
            cipher: FieldCipher::new(
                &keys.iter().map(|(id, k)| (*id, &**k)).collect::<Vec<_>>(),
                file.active_encryption_key,
            ),
            blind_index: BlindIndex::new(*blind),
            csrf_key: csrf,
        };
        Ok(ring)
    }

    /// A value that identifies this key file without revealing anything about it:
    /// the server stores it in the database on first start and refuses to start with
    /// a different key file, instead of writing data nobody can read later.
    pub fn check_value(&self) -> String {
        B64.encode(self.blind_index.compute("key-check", "buzon"))
    }
}

fn decode_key(b64: &str, what: &str) -> Result<Zeroizing<[u8; 32]>, String> {
    let bytes = Zeroizing::new(
        B64.decode(b64.trim())
            .map_err(|_| format!("{what} is not valid base64"))?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(format!("{what} must be 32 bytes, it is {}", bytes.len()));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// Creates `path` (failing if it exists) with mode 0600, writes and syncs it.
fn write_new_private(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_private_file_once_then_loads_the_same_keys() {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let dir = dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default();
        let path = dir.join("sub").join("keys.toml");
        let (first, source) = KeyRing::load_or_create(&path)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(source, KeySource::Created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o777)
                .ok();
            assert_eq!(mode, Some(0o600));
        }
        let (second, source) = KeyRing::load_or_create(&path)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(source, KeySource::Loaded);
        assert_eq!(first.check_value(), second.check_value());
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let path = Path::new("k.toml");
        let text = KeyRing::generate_file()
            .unwrap()
            .replace("active_encryption_key = 1", "active_encryption_key = 9");
        let err = KeyRing::parse(&text, path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("active_encryption_key = 9"), "{err}");
        let err = KeyRing::parse("nonsense", path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("k.toml"), "{err}");
    }
}
