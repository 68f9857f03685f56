//! Spawns the real `buzon` binary on a random port against a fresh database (an
//! SQLite file in a temp dir, or a new PostgreSQL database that is dropped after),
//! and captures everything it logs.

use sea_orm::{ConnectionTrait, Database};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn postgres_admin_url() -> String {
    std::env::var("BUZON_TEST_POSTGRES_URL").unwrap_or_else(|_| POSTGRES_ADMIN_URL.to_string())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The PostgreSQL half of a test. Fails loudly when PostgreSQL is not reachable,
    /// unless `BUZON_TEST_SKIP_POSTGRES=1` says to skip it.
    pub async fn postgres() -> Option<Self> {
        let skip = std::env::var("BUZON_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1");
        if skip {
            eprintln!("SKIPPED: PostgreSQL half (BUZON_TEST_SKIP_POSTGRES=1)");
            return None;
        }
        match Database::connect(postgres_admin_url()).await {
            Ok(db) => {
                db.close().await.ok();
                Some(Self::Postgres)
            }
            Err(e) => panic!(
                "PostgreSQL is not reachable at {} ({e}). Start it, set BUZON_TEST_POSTGRES_URL, \
                 or set BUZON_TEST_SKIP_POSTGRES=1 to skip the PostgreSQL half explicitly",
                postgres_admin_url()
            ),
        }
    }
}

/// Runs a test body once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(backend) = $crate::helpers::Backend::postgres().await {
                    super::$name(backend).await;
                }
            }
        }
    )+};
}

pub struct TestServer {
    pub base: String,
    /// The SMTP listener's address, when the e-mail channel listens.
    pub smtp: Option<std::net::SocketAddr>,
    pub data_dir: PathBuf,
    pub database_url: String,
    pg_database: Option<String>,
    child: Option<Child>,
    logs: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

#[derive(Clone)]
pub struct Options {
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    /// A command that runs `buzon` (e.g. `prlimit --nofile=1024:1024`); it must
    /// exec it, so signals reach the server.
    pub wrap: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            env: Vec::new(),
            args: vec!["serve".into()],
            wrap: Vec::new(),
        }
    }
}

impl Options {
    /// Runs another `buzon` command (e.g. `authorities export`) instead of `serve`.
    pub fn args(args: &[&str]) -> Self {
        Self {
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Self::default()
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn wrapped_in(mut self, command: &[&str]) -> Self {
        self.wrap = command.iter().map(|a| a.to_string()).collect();
        self
    }
}

impl TestServer {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Options::default()).await
    }

    pub async fn spawn_with(backend: Backend, options: Options) -> Self {
        let mut server = Self::prepare(backend).await;
        server.start(&options);
        server
    }

    /// A fresh data directory and database, the process not started yet (see
    /// [`TestServer::start`]).
    pub async fn prepare(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let (database_url, pg_database) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}?mode=rwc", data_dir.join("buzon.db").display()),
                None,
            ),
            Backend::Postgres => {
                let name = format!("buzon_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(postgres_admin_url())
                    .await
                    .expect("postgres admin");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let base = postgres_admin_url();
                let url = format!(
                    "{}/{name}",
                    base.rsplit_once('/').map_or(base.as_str(), |(b, _)| b)
                );
                (url, Some(name))
            }
        };
        Self {
            base: String::new(),
            smtp: None,
            data_dir,
            database_url,
            pg_database,
            child: None,
            logs: Arc::new(Mutex::new(String::new())),
            readers: Vec::new(),
            _dir: dir,
        }
    }

    /// Another instance on this one's database (a data directory of its own, the
    /// database left to this one to drop), not started yet. Give it this one's key
    /// file (`BUZON_KEYS_FILE`): the database accepts no other.
    pub fn another_instance(&self) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self {
            base: String::new(),
            smtp: None,
            data_dir: dir.path().join("data"),
            database_url: self.database_url.clone(),
            pg_database: None,
            child: None,
            logs: Arc::new(Mutex::new(String::new())),
            readers: Vec::new(),
            _dir: dir,
        }
    }

    pub fn command(&self, options: &Options) -> Command {
        let mut cmd = match options.wrap.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(env!("CARGO_BIN_EXE_buzon"));
                cmd
            }
            None => Command::new(env!("CARGO_BIN_EXE_buzon")),
        };
        cmd.args(&options.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BUZON_DATA_DIR", &self.data_dir)
            .env("BUZON_DATABASE_URL", &self.database_url)
            .env("BUZON_HTTP_ADDR", "127.0.0.1:0")
            // Everything the server can log, so the privacy checks see it all.
            .env(
                "BUZON_LOG",
                "trace,hyper=debug,hyper_util=debug,h2=debug,tokio=debug,runtime=debug",
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &options.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs a `buzon` command (e.g. `staff add`) against this server's database and
    /// key file with `stdin`; its exit status and standard output.
    pub fn run(&self, args: &[&str], stdin: &str) -> (bool, String) {
        self.run_with(Options::args(args), stdin)
    }

    /// [`Self::run`] with settings of its own (`options.args` are the command's).
    pub fn run_with(&self, options: Options, stdin: &str) -> (bool, String) {
        use std::io::Write;
        let args = options.args.clone();
        let mut cmd = self.command(&options);
        cmd.env("BUZON_LOG", "warn").stdin(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn buzon");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("buzon output");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            eprintln!("buzon {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        (out.status.success(), stdout)
    }

    /// Starts (or restarts) the process and waits until it listens.
    pub fn start(&mut self, options: &Options) {
        let mut child = self.command(options).spawn().expect("spawn buzon");
        let (tx, rx) = mpsc::channel::<String>();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = Arc::clone(&self.logs);
            let tx = tx.clone();
            self.readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(addr) = line.split("listening addr=").nth(1) {
                        let addr = addr
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        tx.send(addr).ok();
                    }
                    let mut logs = logs.lock().expect("logs");
                    logs.push_str(&line);
                    logs.push('\n');
                }
            }));
        }
        // Waits for the address, but not for a process that already exited.
        let mut addr = None;
        for _ in 0..600 {
            if let Ok(a) = rx.recv_timeout(Duration::from_millis(100)) {
                addr = Some(a);
                break;
            }
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
        }
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            for reader in self.readers.drain(..) {
                let _ = reader.join();
            }
            panic!("buzon did not start; its output:\n{}", self.logs())
        };
        self.base = format!("http://{addr}");
        self.smtp = self
            .logs()
            .lines()
            .rev()
            .find_map(|l| l.split("SMTP listener on addr=").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok());
        self.child = Some(child);
    }

    pub fn logs(&self) -> String {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Waits for the process to exit by itself (a test hook aborts it); false if it
    /// is still running after `secs`.
    pub async fn exits_within(&mut self, secs: u64) -> bool {
        for _ in 0..secs * 10 {
            if !self.is_running() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// SIGKILL: the process dies wherever it is (no shutdown code runs), as in a
    /// crash or an OOM kill; waits for it to be gone and its output captured.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` sends SIGKILL on Unix.
            child.kill().expect("SIGKILL buzon");
            child.wait().expect("reap buzon");
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }

    /// Sends SIGTERM and returns at once (the process shuts down meanwhile).
    pub fn signal_term(&self) {
        if let Some(child) = &self.child {
            send_sigterm(child.id());
        }
    }

    /// Sends SIGTERM, waits for a clean exit and for every line it logged to be
    /// captured; returns the exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        send_sigterm(child.id());
        let mut status = None;
        for _ in 0..100 {
            if let Ok(Some(s)) = child.try_wait() {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if status.is_none() {
            let _ = child.kill();
            status = child.wait().ok();
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        status
    }

    /// Every file of the SQLite database (main file, WAL, shared memory), raw.
    /// Where the SQLite database lives.
    pub fn sqlite_files_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    pub fn sqlite_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        std::fs::read_dir(&self.data_dir)
            .expect("data dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("buzon.db"))
            })
            .map(|p| {
                let bytes = std::fs::read(&p).expect("read db file");
                (p, bytes)
            })
            .collect()
    }

    /// A data-only dump of the PostgreSQL database.
    pub fn postgres_dump(&self) -> String {
        assert!(self.pg_database.is_some(), "postgres backend");
        let out = Command::new("pg_dump")
            .args(["--data-only", &format!("--dbname={}", self.database_url)])
            .output()
            .expect("run pg_dump (Debian package postgresql-client)");
        assert!(
            out.status.success(),
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Everything the server wrote, to search for personal data: the SQLite files as
    /// they are while it runs (recent writes still in the WAL, which must exist) and
    /// after a clean stop, or a PostgreSQL dump; and every line it logged. Stops it.
    pub fn everything_written(&mut self) -> Vec<(String, Vec<u8>)> {
        let mut places = Vec::new();
        let sqlite = self.pg_database.is_none();
        if sqlite {
            let running = self.sqlite_files();
            assert!(
                running
                    .iter()
                    .any(|(p, _)| p.to_string_lossy().ends_with("-wal")),
                "WAL file checked too"
            );
            places.extend(
                running
                    .into_iter()
                    .map(|(p, b)| (format!("{} (running)", p.display()), b)),
            );
        }
        assert!(self.terminate().is_some_and(|s| s.success()), "clean stop");
        if sqlite {
            places.extend(
                self.sqlite_files()
                    .into_iter()
                    .map(|(p, b)| (p.display().to_string(), b)),
            );
        } else {
            let dump = self.postgres_dump();
            assert!(dump.contains("COPY public.cases"), "dump has the tables");
            places.push(("pg_dump".into(), dump.into_bytes()));
        }
        places.push(("the logs".into(), self.logs().into_bytes()));
        places
    }

    pub async fn db(&self) -> sea_orm::DatabaseConnection {
        Database::connect(&self.database_url)
            .await
            .expect("connect to test database")
    }

    /// The number a `SELECT COUNT(*) …` returns.
    pub async fn count(&self, sql: &str) -> i64 {
        let db = self.db().await;
        let n = one_row(&db, sql)
            .await
            .try_get_by_index::<i64>(0)
            .expect("a count");
        db.close().await.ok();
        n
    }

    pub fn keys_file(&self) -> PathBuf {
        self.data_dir.join("keys.toml")
    }
}

fn send_sigterm(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(name) = self.pg_database.take() {
            // Drop runs inside the test's runtime: use a thread with its own.
            let url = postgres_admin_url();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(admin) = Database::connect(url).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await;
                            admin.close().await.ok();
                        }
                    });
                }
            })
            .join();
        }
    }
}

pub fn client() -> reqwest::Client {
    buzon::install_crypto_provider();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// A complete, valid intake body with distinctive personal data.
pub fn complaint(name: &str, phone: &str, email: &str, narrative: &str) -> serde_json::Value {
    serde_json::json!({
        "language": "es",
        "anonymous": false,
        "complainant": {"name": name, "phone": phone, "email": email, "worker_id": "EMP-55821"},
        "workplace": {"employer": "Arneses del Bajío", "city": "León", "state": "MX-GUA",
                      "sector": "auto_parts", "trade_with_us": "yes", "workers": 800},
        "violations": ["union_retaliation", "unjust_dismissal"],
        "narrative": narrative,
        "occurred_on": "2025-03-14"
    })
}

pub fn anonymous_complaint() -> serde_json::Value {
    serde_json::json!({
        "anonymous": true,
        "workplace": {"employer": "Maquila Norte", "state": "MX-CHH"},
        "violations": ["excessive_hours"],
        "narrative": "Nos hacen trabajar doce horas sin descanso."
    })
}

pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let res = client.post(url).json(body).send().await.expect("request");
    let status = res.status().as_u16();
    let json = res
        .json::<serde_json::Value>()
        .await
        .unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// Posts a form; the status and the page that came back.
pub async fn post_form<F: serde::Serialize + ?Sized>(
    http: &reqwest::Client,
    url: &str,
    form: &F,
) -> (u16, String) {
    let res = http.post(url).form(form).send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.text().await.expect("body"))
}

/// The one row a query returns (panics if none: the test expected one).
pub async fn one_row(db: &sea_orm::DatabaseConnection, sql: &str) -> sea_orm::QueryResult {
    use sea_orm::{ConnectionTrait, Statement};
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .unwrap_or_else(|| panic!("no row for {sql}"))
}

/// The body of a GET, whatever its status.
pub async fn get_text(http: &reqwest::Client, url: &str) -> String {
    http.get(url)
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body")
}

/// The JSON body of a GET, whatever its status.
pub async fn get_json(http: &reqwest::Client, url: &str) -> serde_json::Value {
    http.get(url)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON body")
}

/// The CSRF token embedded in a page.
pub fn csrf_token(html: &str) -> String {
    let re = regex::Regex::new(r#"name="csrf" value="([^"]+)""#).expect("regex");
    re.captures(html)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .expect("page has a csrf token")
}

pub fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Fails if any needle is in any place, as text or as hex.
pub fn assert_none_in(places: &[(String, Vec<u8>)], needles: &[&str]) {
    for (place, haystack) in places {
        for needle in needles {
            assert!(
                !contains_bytes(haystack, needle.as_bytes()),
                "{needle:?} found in {place} in plaintext"
            );
            assert!(
                !contains_bytes(haystack, hex(needle).as_bytes()),
                "{needle:?} found in {place} as hex"
            );
        }
    }
}

pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Polls `check` until it returns `Some`, for at most `secs` seconds; panics with
/// `what` (and the last state `describe` reports) when it never does. For waiting on
/// background work without asserting how long it takes.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if std::time::Instant::now() >= deadline => {
                panic!("{what}: not so after {secs} s; last: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The fields a browser would send back from the form posting to `action` on this
/// page: hidden and text inputs, checked radios and boxes, selected options and
/// text areas, in page order, entities decoded.
pub fn form_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form posting to {action}"));
    let form = &html[start..];
    let form = &form[..form.find("</form>").expect("form closes")];
    let attr = |tag: &str, name: &str| {
        regex::Regex::new(&format!(r#"\b{name}="([^"]*)""#))
            .expect("regex")
            .captures(tag)
            .map(|c| decode_entities(&c[1]))
    };
    let control = regex::Regex::new(
        r#"(?s)<input\b[^>]*>|<select\b[^>]*>.*?</select>|<textarea\b[^>]*>.*?</textarea>"#,
    )
    .expect("regex");
    let option = regex::Regex::new(r#"<option\b[^>]*>"#).expect("regex");
    let mut fields = Vec::new();
    for m in control.find_iter(form) {
        let tag = m.as_str();
        let open = &tag[..tag.find('>').expect("tag closes") + 1];
        let Some(name) = attr(open, "name") else {
            continue;
        };
        if tag.starts_with("<select") {
            for o in option.find_iter(tag) {
                if o.as_str().contains(" selected") {
                    fields.push((name.clone(), attr(o.as_str(), "value").unwrap_or_default()));
                }
            }
        } else if tag.starts_with("<textarea") {
            let text = &tag[open.len()..tag.len() - "</textarea>".len()];
            fields.push((name, decode_entities(text)));
        } else {
            let kind = attr(open, "type").unwrap_or_default();
            if (kind == "radio" || kind == "checkbox") && !open.contains(" checked") {
                continue;
            }
            fields.push((name, attr(open, "value").unwrap_or_default()));
        }
    }
    fields
}

fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The WhatsApp channel as Meta drives it: settings pointing the server at a Graph
/// API stand-in, signed webhook deliveries in the documented envelope.
pub mod wa;

/// The e-mail channel: an SMTP listener taking complaints for [`mail::INTAKE`],
/// acknowledgements relayed to an SMTP stand-in.
pub mod mail;

/// A TCP proxy a test can cut (Redis outages).
pub mod tcp_proxy;

/// The server's clock, moved by the test.
pub mod clock;
pub use clock::TestClock;
