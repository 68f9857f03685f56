//! The data directory and the key file are the owner's alone (issue 30, finding 10).
//!
//! A directory or key file that group or others may read or write is refused at
//! start, by `serve` and every command that opens them, with the `chmod` that fixes
//! it: a data directory pre-created 0755 would otherwise give the SQLite database
//! 0644, and a key file copied with the wrong mode would hold every key open to any
//! account on the machine. Nothing is changed silently: the operator sees what was
//! wrong. The SQLite database file is created 0600 before SQLite opens it (SQLite
//! gives its -wal and -shm files the database file's mode).

use std::path::Path;

/// What a path is, for the message and the mode that fixes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    DataDir,
    KeyFile,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::DataDir => "data directory",
            Self::KeyFile => "key file",
        }
    }

    fn fix(self) -> &'static str {
        match self {
            Self::DataDir => "700",
            Self::KeyFile => "600",
        }
    }
}

/// `path` quoted for a shell when it needs it.
fn shell_quoted(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@".contains(c));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// `Err(message)` when `path` exists and group or others may read, write or enter
/// it; the message names the `chmod` that fixes it. A missing path passes (whoever
/// creates it makes it private).
pub fn check(path: &Path, kind: Kind) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(());
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "the {} {} is open to other users of this machine (mode {mode:04o}): run \
                 `chmod {} {}` and start again",
                kind.name(),
                path.display(),
                kind.fix(),
                shell_quoted(path),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, kind);
    Ok(())
}

/// Creates the data directory readable by its owner only (0700), or checks that an
/// existing one is.
pub fn data_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        return check(dir, Kind::DataDir).map_err(anyhow::Error::msg);
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create data directory {} (set BUZON_DATA_DIR): {e}",
            dir.display()
        )
    })
}

/// The file of an SQLite URL that may create it (`mode=rwc`), when it is a file.
fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let creates = query.split('&').any(|kv| kv == "mode=rwc");
    (creates && !path.is_empty() && !path.contains(":memory:")).then(|| Path::new(path))
}

/// Creates the database file of an SQLite URL with mode 0600 if SQLite would create
/// it, so SQLite never makes it (or its -wal and -shm) with the umask's mode.
pub fn create_sqlite_file(url: &str) -> anyhow::Result<()> {
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(anyhow::anyhow!(
            "cannot create the database file {}: {e}",
            path.display()
        )),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_open_directory_or_key_file_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        // Created 0700 when missing, accepted as it is then.
        let private = dir.path().join("private");
        data_dir(&private).unwrap();
        assert_eq!(
            std::fs::metadata(&private).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(check(&private, Kind::DataDir), Ok(()));
        data_dir(&private).unwrap();
        let open = dir.path().join("my data");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = check(&open, Kind::DataDir).unwrap_err();
        assert!(data_dir(&open).is_err());
        assert!(err.contains("mode 0755"), "{err}");
        assert!(
            err.contains(&format!("chmod 700 '{}'", open.display())),
            "{err}"
        );
        let file = dir.path().join("keys.toml");
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = check(&file, Kind::KeyFile).unwrap_err();
        assert!(
            err.contains(&format!("chmod 600 {}", file.display())),
            "{err}"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(check(&file, Kind::KeyFile), Ok(()));
        assert_eq!(check(&dir.path().join("missing"), Kind::KeyFile), Ok(()));
    }

    #[test]
    fn the_sqlite_file_is_made_private_before_sqlite_opens_it() {
        assert_eq!(
            sqlite_file("sqlite:///d/buzon.db?mode=rwc"),
            Some(Path::new("/d/buzon.db"))
        );
        assert_eq!(sqlite_file("sqlite:///d/buzon.db"), None);
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("b.db");
        let url = format!("sqlite://{}?mode=rwc", db.display());
        create_sqlite_file(&url).unwrap();
        let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // An existing file is left as it is.
        create_sqlite_file(&url).unwrap();
    }
}
