//! The server's clock in tests: `BUZON_TEST_CLOCK_FILE` names a file holding
//! seconds added to real time, which a test rewrites to move a running server's
//! clock instead of sleeping.

use super::Options;
use chrono::{DateTime, Duration, Utc};
use std::path::PathBuf;

pub struct TestClock {
    pub file: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestClock {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("clock dir");
        let file = dir.path().join("clock");
        std::fs::write(&file, "0").expect("clock file");
        Self { file, _dir: dir }
    }

    pub fn path(&self) -> &str {
        self.file.to_str().expect("a UTF-8 temp path")
    }

    /// `options` with this clock.
    pub fn on(&self, options: Options) -> Options {
        options.env("BUZON_TEST_CLOCK_FILE", self.path())
    }

    /// Moves the server's clock to `at` (real time plus an offset).
    pub fn set(&self, at: DateTime<Utc>) {
        let offset = (at - Utc::now()).num_seconds();
        std::fs::write(&self.file, offset.to_string()).expect("move the clock");
    }

    pub fn advance(&self, by: Duration) {
        let now: i64 = std::fs::read_to_string(&self.file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        std::fs::write(&self.file, (now + by.num_seconds()).to_string()).unwrap();
    }
}
