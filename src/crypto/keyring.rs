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
    #[error("{0}")]
    Refused(String),
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
        crate::crypto::perms::check(path, crate::crypto::perms::Kind::KeyFile)
            .map_err(KeyFileError::Refused)?;
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
        crate::crypto::perms::check(path, crate::crypto::perms::Kind::KeyFile)
            .map_err(KeyFileError::Refused)?;
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
        Ok(format!("{HEADER}{body}"))
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

/// One encryption key as `buzon keys status` lists it (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: u32,
    pub created_at: String,
    pub active: bool,
}

/// Changes to the key file made by `buzon keys rotate` and `buzon keys retire`.
/// Each reads the file, changes it, and replaces it atomically (a new file with mode
/// 0600, synced, then renamed over the old one): a crash leaves the old file or the
/// new one, never half of either.
pub mod edit {
    use super::*;

    fn read(path: &Path) -> Result<KeyFile, KeyFileError> {
        crate::crypto::perms::check(path, crate::crypto::perms::Kind::KeyFile)
            .map_err(KeyFileError::Refused)?;
        let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        // Parsing the whole ring validates it before anything is changed.
        KeyRing::parse(&text, path)?;
        toml::from_str(&text).map_err(|e| KeyFileError::Invalid {
            path: path.display().to_string(),
            reason: e.message().to_string(),
        })
    }

    fn write(path: &Path, file: &KeyFile) -> Result<(), KeyFileError> {
        let invalid = |reason: String| KeyFileError::Invalid {
            path: path.display().to_string(),
            reason,
        };
        let body = toml::to_string(file).map_err(|e| invalid(e.to_string()))?;
        let text = format!("{HEADER}{body}");
        KeyRing::parse(&text, path)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".new");
        let tmp = std::path::PathBuf::from(tmp);
        let create = |source| KeyFileError::Create {
            path: tmp.display().to_string(),
            source,
        };
        // A leftover from an interrupted change holds nothing the real file lacks.
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(create(e)),
            _ => {}
        }
        write_new_private(&tmp, &text).map_err(create)?;
        std::fs::rename(&tmp, path).map_err(create)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(create)?;
        }
        Ok(())
    }

    /// The encryption keys in the file, oldest first.
    pub fn list(path: &Path) -> Result<Vec<KeyInfo>, KeyFileError> {
        let file = read(path)?;
        Ok(file
            .encryption_keys
            .iter()
            .map(|k| KeyInfo {
                id: k.id,
                created_at: k.created_at.clone(),
                active: k.id == file.active_encryption_key,
            })
            .collect())
    }

    /// Adds a fresh encryption key and makes it the one new values are written with.
    /// Returns its id. Older keys stay, so everything written with them still reads.
    pub fn rotate(path: &Path) -> Result<u32, KeyFileError> {
        let mut file = read(path)?;
        let id = file
            .encryption_keys
            .iter()
            .map(|k| k.id)
            .max()
            .unwrap_or(0)
            .checked_add(1)
            .ok_or_else(|| KeyFileError::Invalid {
                path: path.display().to_string(),
                reason: "no key id is left".into(),
            })?;
        file.encryption_keys.push(KeyEntry {
            id,
            key: B64.encode(crate::crypto::random_bytes::<32>()),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        file.active_encryption_key = id;
        write(path, &file)?;
        Ok(id)
    }

    /// Removes key `id` from the file. The caller checks first that no stored value
    /// uses it; the active key is never removed.
    pub fn retire(path: &Path, id: u32) -> Result<(), KeyFileError> {
        let mut file = read(path)?;
        let refuse = KeyFileError::Refused;
        if file.active_encryption_key == id {
            return Err(refuse(format!(
                "key {id} is the active key: rotate first, re-encrypt, then retire it"
            )));
        }
        let before = file.encryption_keys.len();
        file.encryption_keys.retain(|k| k.id != id);
        if file.encryption_keys.len() == before {
            return Err(refuse(format!("there is no encryption key {id}")));
        }
        write(path, &file)
    }
}

const HEADER: &str = "# Buzón key file. Keep it secret (mode 0600) and BACK IT UP separately from the\n\
                      # database: without it no encrypted complaint can ever be read again.\n";

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
    fn rotate_adds_an_active_key_and_retire_removes_only_old_ones() {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let dir = dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default();
        let path = dir.join("keys.toml");
        let (first, _) = KeyRing::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        let row = uuid::Uuid::new_v4();
        let aad = crate::crypto::Aad {
            table: "t",
            column: "c_ct",
            row,
        };
        let old = first.cipher.encrypt_str(aad, "x").unwrap_or_default();
        assert_eq!(edit::rotate(&path).ok(), Some(2));
        let ring = KeyRing::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ring.cipher.active_key_id(), 2);
        assert_eq!(
            ring.cipher.decrypt_string(aad, &old).ok().as_deref(),
            Some("x")
        );
        // The blind-index and CSRF keys stay what they were.
        assert_eq!(ring.check_value(), first.check_value());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o777)
                .ok();
            assert_eq!(mode, Some(0o600));
        }
        assert!(edit::retire(&path, 2).is_err(), "the active key stays");
        assert!(edit::retire(&path, 7).is_err(), "no such key");
        assert!(edit::retire(&path, 1).is_ok());
        let listed = edit::list(&path).unwrap_or_default();
        assert_eq!(listed.len(), 1);
        assert!(listed.first().is_some_and(|k| k.id == 2 && k.active));
        let ring = KeyRing::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ring.cipher.decrypt(aad, &old),
            Err(crate::crypto::CryptoError::UnknownKey(1))
        );
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
