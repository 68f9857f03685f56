//! The `buzon` command: `serve` and `migrate`.

use buzon::app::Application;
use buzon::config::{SETTINGS_HELP, Settings};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "buzon", version, about = "Secure intake of labor-rights complaints", after_help = SETTINGS_HELP)]
struct Cli {
    /// TOML settings file (keys as listed below); environment variables override it.
    #[arg(long, global = true, env = "BUZON_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates the data directory, key file and database on first start).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print a bilingual draft RRM petition for a case screened likely or possible
    /// (for an advocate to complete; decrypts the case, so it needs the key file).
    RrmDraft {
        /// The case reference, e.g. BZ-7KQM2X9P.
        case_ref: String,
    },
    /// The authority directory (names and contacts of the bodies cases go to).
    Authorities {
        #[command(subcommand)]
        action: AuthoritiesAction,
    },
    /// The outbox of replies and notifications.
    Outbox {
        #[command(subcommand)]
        action: OutboxAction,
    },
    /// Staff accounts of the triage console (passwords are read from standard input).
    Staff {
        #[command(subcommand)]
        action: StaffAction,
    },
    /// Organizations (unions, worker centers) whose advocates file for members.
    Org {
        #[command(subcommand)]
        action: OrgAction,
    },
    /// A consistent copy of the SQLite database, taken while the server runs (the
    /// key file is not in it: back it up separately). PostgreSQL: use pg_dump.
    Backup {
        /// A new file to write, e.g. /backups/buzon-2026-11-28.db
        path: PathBuf,
    },
    /// Erase the identifying data of cases closed longer than `retention_days` (the
    /// server also does this every `purge_interval_secs`); facts stay for statistics.
    Purge {
        /// Only count what would be erased.
        #[arg(long, conflicts_with = "execute", required_unless_present = "execute")]
        dry_run: bool,
        /// Erase it now.
        #[arg(long)]
        execute: bool,
    },
    /// Encryption keys: status, rotation, re-encryption, retirement.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// The hash-chained audit log.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Program indicators (the same protected figures as /triage/indicators).
    Indicators {
        #[command(subcommand)]
        action: IndicatorsAction,
    },
}

#[derive(Subcommand)]
enum IndicatorsAction {
    /// Write the indicators for a period as a document for a progress report, with
    /// each indicator's definition, to standard output. Small cells are protected as
    /// on the page (`indicator_min_cell`); deferred cases are counted only.
    Report {
        /// First month, YYYY-MM [eleven months before --to].
        #[arg(long)]
        from: Option<String>,
        /// Last month, YYYY-MM [this month].
        #[arg(long)]
        to: Option<String>,
        /// md (Markdown), csv or html.
        #[arg(long, default_value = "md", value_parser = ["md", "csv", "html"])]
        format: String,
        /// es or en.
        #[arg(long, default_value = "es", value_parser = ["es", "en"])]
        lang: String,
        /// Only this state (ISO 3166-2:MX code, e.g. MX-GUA).
        #[arg(long)]
        state: Option<String>,
        /// Only this sector code.
        #[arg(long)]
        sector: Option<String>,
        /// Only this channel (web, api, whatsapp, email).
        #[arg(long)]
        channel: Option<String>,
    },
}

#[derive(Subcommand)]
enum OrgAction {
    /// Add an organization; then `buzon staff add --role advocate --org NAME`.
    Add {
        /// Its name as advocates and inspectors will read it (unique).
        name: String,
    },
    /// List organizations.
    List,
}

/// Rotation, in order: `rotate`, restart every server (they read the key file only at
/// start), `reencrypt` (servers may keep running), `status`, then `retire` the old key.
#[derive(Subcommand)]
enum KeysAction {
    /// The key file's encryption keys and how many stored values each one protects.
    Status {
        /// Also list the counts per table and column.
        #[arg(long)]
        verbose: bool,
    },
    /// Add a new encryption key and make it active (older keys stay, for reading).
    /// Restart every server afterwards, before `reencrypt`.
    Rotate,
    /// Re-encrypt every value still under an older key with the active one, in
    /// batches; safe to interrupt and run again (it resumes), and to run while the
    /// servers (restarted after `rotate`) keep serving.
    Reencrypt {
        /// Values per committed batch.
        #[arg(long, default_value_t = 200)]
        batch: u64,
        /// Stop after this many values (to spread the work over quiet hours).
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Remove an old key from the key file; refused while any stored value uses it.
    Retire {
        /// The key id, as `status` lists it.
        id: u32,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Check every row of the chain; exits 1 and names the first broken row if any
    /// was altered, inserted or deleted. Prints the head hash to note down elsewhere.
    Verify,
}

#[derive(Subcommand)]
enum StaffAction {
    /// Add an account; the password (12+ characters) is the first line of stdin.
    Add {
        #[arg(long)]
        email: String,
        /// admin, inspector, advocate or coordinator.
        #[arg(long)]
        role: String,
        /// An inspector's authority (repeatable): cfcrl, stps_inspection, state_labor:MX-GUA...
        #[arg(long = "authority")]
        authorities: Vec<String>,
        /// An advocate's organization.
        #[arg(long)]
        org: Option<String>,
    },
    /// List accounts (e-mail, role, authorities, second factor, lock).
    List,
    /// Disable an account: its sessions end and its API tokens are revoked.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Lift a lockout after failed sign-ins.
    Unlock {
        #[arg(long)]
        email: String,
    },
    /// Set a new password (first line of stdin); ends the account's sessions.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
    /// Forget the second factor (lost phone and codes): the next sign-in enrolls again.
    ResetTotp {
        #[arg(long)]
        email: String,
    },
    /// Print a new personal API token on stdout (shown once; only its hash is kept).
    Token {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum OutboxAction {
    /// Put every dead-lettered message back in the queue, with a fresh retry budget
    /// (after fixing what made it fail, e.g. an expired access token). A running
    /// server picks them up within a second.
    Requeue,
}

#[derive(Subcommand)]
enum AuthoritiesAction {
    /// Write the directory as CSV (to standard output, or to FILE).
    Export {
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Read a CSV (as written by export, edited) and store every row; rows for
    /// codes Buzón does not know are refused, naming the row. Restart the server
    /// to show the new names.
    Import { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    buzon::install_crypto_provider();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("buzon: {e}");
            return ExitCode::from(2);
        }
    };
    buzon::telemetry::init(&settings.log, settings.log_format);
    // A panic message can quote the data being handled (a string that failed to
    // slice, a value that failed to parse): log where it happened, never what.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%location, "panic (its message is withheld: it may quote personal data)");
    }));
    // Every command reads the data directory (the database, the key file) when it
    // exists: one open to other users is refused before anything is read from it.
    if let Err(e) =
        buzon::crypto::perms::check(&settings.data_dir, buzon::crypto::perms::Kind::DataDir)
    {
        tracing::error!(error = %e, "buzon stopped with an error");
        eprintln!("buzon: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("buzon: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => {
                let app = Application::build(settings).await?;
                app.run_until(shutdown_signal()).await
            }
            Command::Migrate => {
                buzon::app::create_private_dir(&settings.data_dir)?;
                let db = buzon::db::connect(&settings.database_url, 1).await?;
                buzon::db::migrate(&db).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Authorities { action } => authorities(&settings, action).await,
            Command::RrmDraft { case_ref } => rrm_draft(&settings, &case_ref).await,
            Command::Indicators {
                action:
                    IndicatorsAction::Report {
                        from,
                        to,
                        format,
                        lang,
                        state,
                        sector,
                        channel,
                    },
            } => {
                let get = |k: &str| match k {
                    "from" => from.clone(),
                    "to" => to.clone(),
                    "state" => state.clone(),
                    "sector" => sector.clone(),
                    "channel" => channel.clone(),
                    _ => None,
                };
                let filters = buzon::indicators::Filters::parse(get, buzon::clock::now())
                    .map_err(|f| anyhow::anyhow!("--{} is not valid (see --help)", f.0))?;
                let db = buzon::db::connect(&settings.database_url, 2).await?;
                buzon::db::migrate(&db).await?;
                let lang = buzon::domain::Language::parse(&lang).unwrap_or_default();
                let cache = buzon::indicators::Cache::default();
                let report = buzon::indicators::report(
                    &cache,
                    &db,
                    &filters,
                    settings.indicator_min_cell,
                    lang,
                    true,
                )
                .await?;
                use buzon::indicators::render;
                let out = match format.as_str() {
                    "csv" => render::csv(&report),
                    "html" => render::html_document(&report),
                    _ => render::markdown(&report),
                };
                print!("{out}");
                Ok(())
            }
            Command::Outbox {
                action: OutboxAction::Requeue,
            } => {
                let db = buzon::db::connect(&settings.database_url, 1).await?;
                buzon::db::migrate(&db).await?;
                let n = buzon::outbox::requeue_dead(&db).await?;
                tracing::info!(requeued = n, "dead-lettered outbox messages requeued");
                eprintln!("requeued {n} dead-lettered messages");
                Ok(())
            }
            Command::Staff { action } => staff(&settings, action).await,
            Command::Keys { action } => keys(&settings, action).await,
            Command::Purge { dry_run, .. } => purge(&settings, dry_run).await,
            Command::Org { action } => org(&settings, action).await,
            Command::Backup { path } => {
                let db = buzon::db::connect(&settings.database_url, 1).await?;
                let done = buzon::db::backup_sqlite(&db, &path).await?;
                eprintln!(
                    "backed up {} cases ({} bytes) to {}. The key file {} is not in it: \
                     back it up too, and keep the two apart.",
                    done.cases,
                    done.bytes,
                    path.display(),
                    settings.keys_file.display()
                );
                Ok(())
            }
            Command::Audit {
                action: AuditAction::Verify,
            } => {
                let keys = buzon::crypto::KeyRing::load(&settings.keys_file)?;
                let db = buzon::db::connect(&settings.database_url, 1).await?;
                buzon::db::migrate(&db).await?;
                buzon::db::check_keys(&db, &keys).await?;
                match buzon::audit::verify(&db, &keys).await? {
                    Ok(intact) => {
                        println!(
                            "audit log intact: {} rows; last hash {} (note it down elsewhere)",
                            intact.rows, intact.head
                        );
                        Ok(())
                    }
                    Err(broken) => {
                        println!("AUDIT LOG BROKEN: {broken}");
                        Err(anyhow::anyhow!("audit log broken: {broken}"))
                    }
                }
            }
        }
    });
    // Whatever is still spawned when the command is done gets 5 s, not forever: a
    // runtime dropped the usual way waits for every worker thread, and a CLI run
    // (`staff token`) once hung there for good, a worker spinning in sqlx 0.9's pool
    // maintenance task after the command's pool was dropped.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "buzon stopped with an error");
            eprintln!("buzon: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn purge(settings: &Settings, dry_run: bool) -> anyhow::Result<()> {
    let Some(retention) = settings.retention else {
        println!("retention_days is 0: cases are kept forever, nothing to purge");
        return Ok(());
    };
    let keys = buzon::crypto::KeyRing::load(&settings.keys_file)?;
    let db = buzon::db::connect(&settings.database_url, 2).await?;
    buzon::db::migrate(&db).await?;
    buzon::db::check_keys(&db, &keys).await?;
    let cutoff = buzon::retention::cutoff(retention, chrono::Utc::now())?;
    let plan = buzon::retention::plan(&db, cutoff).await?;
    let verb = if dry_run { "would erase" } else { "erasing" };
    println!(
        "{verb} the identifying data of {} cases closed before {} ({} messages, {} notes, \
         {} attachments, {} pieces of evidence, {} members){}",
        plan.cases,
        cutoff.format("%Y-%m-%d"),
        plan.messages,
        plan.notes,
        plan.attachments,
        plan.evidence,
        plan.members,
        plan.oldest
            .map(|t| format!("; the oldest closed on {}", t.format("%Y-%m-%d")))
            .unwrap_or_default()
    );
    if !dry_run {
        let n = buzon::retention::purge(&db, &keys, cutoff, u64::MAX).await?;
        tracing::info!(cases = n, "retention purge erased closed cases");
        println!("purged {n} cases");
    }
    Ok(())
}

async fn keys(settings: &Settings, action: KeysAction) -> anyhow::Result<()> {
    use buzon::crypto::keyring::edit;
    let path = &settings.keys_file;
    if let KeysAction::Rotate = action {
        let id = edit::rotate(path)?;
        tracing::info!(key = id, "encryption key added and made active");
        println!(
            "key {id} added to {} and made active. Next: restart every server, then run \
             `buzon keys reencrypt`. Back up the new key file now.",
            path.display()
        );
        return Ok(());
    }
    let ring = buzon::crypto::KeyRing::load(path)?;
    let db = buzon::db::connect(&settings.database_url, 2).await?;
    buzon::db::migrate(&db).await?;
    buzon::db::check_keys(&db, &ring).await?;
    let active = ring.cipher.active_key_id();
    match action {
        KeysAction::Rotate => Ok(()),
        KeysAction::Status { verbose } => {
            let status = buzon::rekey::status(&db).await?;
            let by_key = status.by_key();
            let listed = edit::list(path)?;
            for k in &listed {
                let n = by_key.get(&k.id).copied().unwrap_or(0);
                let note = if k.active {
                    "active"
                } else if n == 0 {
                    "unused: can be retired"
                } else {
                    "still in use: run `buzon keys reencrypt`"
                };
                println!(
                    "key {} (created {}): {n} values, {note}",
                    k.id, k.created_at
                );
            }
            for (id, n) in by_key
                .iter()
                .filter(|(id, _)| !listed.iter().any(|k| k.id == **id))
            {
                println!("key {id}: {n} values, NOT IN THE KEY FILE (they cannot be read)");
            }
            if verbose {
                for ((column, id), n) in &status.by_column {
                    println!("  {column} key {id}: {n}");
                }
            }
            println!("to re-encrypt: {}", status.outstanding(active));
            Ok(())
        }
        KeysAction::Reencrypt { batch, limit } => {
            let outstanding = buzon::rekey::status(&db).await?.outstanding(active);
            let total = limit.map_or(outstanding, |l| l.min(outstanding as u64) as i64);
            let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(0));
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} values, {per_sec}, about {eta} left",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let done = buzon::rekey::reencrypt(&db, &ring, batch, limit, |n| bar.inc(n)).await;
            bar.finish_and_clear();
            let done = done?;
            let left = buzon::rekey::status(&db).await?.outstanding(active);
            tracing::info!(
                reencrypted = done.reencrypted,
                left,
                "re-encryption run ended"
            );
            println!(
                "re-encrypted {} values under key {active}; {left} still under older keys{}",
                done.reencrypted,
                if left == 0 {
                    " (old keys can now be retired)"
                } else {
                    " (run it again to continue)"
                }
            );
            Ok(())
        }
        KeysAction::Retire { id } => {
            let n = buzon::rekey::status(&db)
                .await?
                .by_key()
                .get(&id)
                .copied()
                .unwrap_or(0);
            if n > 0 {
                anyhow::bail!(
                    "key {id} still protects {n} values: run `buzon keys reencrypt` first"
                );
            }
            edit::retire(path, id)?;
            tracing::info!(key = id, "encryption key retired");
            println!("key {id} removed from {}", path.display());
            Ok(())
        }
    }
}

/// The first line of standard input, without its line ending.
fn read_password() -> anyhow::Result<zeroize::Zeroizing<String>> {
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| anyhow::anyhow!("cannot read the password from stdin: {e}"))?;
    Ok(zeroize::Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

async fn staff(settings: &Settings, action: StaffAction) -> anyhow::Result<()> {
    use buzon::staff::{self, Change, NewMember, Role};
    let keys = buzon::crypto::KeyRing::load(&settings.keys_file)?;
    let db = buzon::db::connect(&settings.database_url, 1).await?;
    buzon::db::migrate(&db).await?;
    buzon::db::check_keys(&db, &keys).await?;
    let hasher = buzon::crypto::receipt::ReceiptHasher::new(settings.hash_cost)?;
    let id_of = |email: &str| {
        let email = email.to_owned();
        let db = db.clone();
        let keys = &keys;
        async move {
            staff::id_by_email(&db, keys, &email)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        }
    };
    let apply = |id, c| {
        let (db, keys, hasher) = (&db, &keys, &hasher);
        async move {
            staff::change(db, keys, hasher, None, id, c)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        }
    };
    match action {
        StaffAction::Add {
            email,
            role,
            authorities,
            org,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("--role must be admin, inspector, advocate or coordinator")
            })?;
            let password = read_password()?;
            let id = staff::add(
                &db,
                &keys,
                &hasher,
                &NewMember {
                    email: &email,
                    role,
                    authorities: &authorities,
                    org: org.as_deref(),
                    password: &password,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!("added {} ({id})", role.code());
        }
        StaffAction::List => {
            for m in staff::list(&db, &keys).await? {
                println!(
                    "{}\t{}\t{}\t{}\ttotp={}\t{}",
                    m.email,
                    m.role.code(),
                    m.authorities.join(","),
                    m.org.unwrap_or_default(),
                    if m.totp { "yes" } else { "no" },
                    if m.disabled {
                        "disabled"
                    } else if m.locked {
                        "locked"
                    } else {
                        "active"
                    }
                );
            }
        }
        // Each change says what it did (on stderr, as `add` does), so whoever ran it
        // knows it took.
        StaffAction::Disable { email } => {
            let id = id_of(&email).await?;
            apply(id, Change::Disable).await?;
            eprintln!("disabled ({id}): sessions ended, API tokens revoked");
        }
        StaffAction::Enable { email } => {
            let id = id_of(&email).await?;
            apply(id, Change::Enable).await?;
            eprintln!("enabled ({id})");
        }
        StaffAction::Unlock { email } => {
            let id = id_of(&email).await?;
            apply(id, Change::Unlock).await?;
            eprintln!("unlocked ({id}): failed sign-ins forgotten");
        }
        StaffAction::ResetTotp { email } => {
            let id = id_of(&email).await?;
            apply(id, Change::ResetTotp).await?;
            eprintln!("second factor reset ({id}): enrolls again at the next sign-in");
        }
        StaffAction::ResetPassword { email } => {
            let password = read_password()?;
            let id = id_of(&email).await?;
            apply(id, Change::Password(&password)).await?;
            eprintln!("password reset ({id}); any lock lifted");
        }
        StaffAction::Token { email } => {
            let id = id_of(&email).await?;
            let token = staff::issue_token(&db, &keys, id).await?;
            println!("{}", token.as_str());
        }
    }
    Ok(())
}

async fn org(settings: &Settings, action: OrgAction) -> anyhow::Result<()> {
    let keys = buzon::crypto::KeyRing::load(&settings.keys_file)?;
    let db = buzon::db::connect(&settings.database_url, 1).await?;
    buzon::db::migrate(&db).await?;
    buzon::db::check_keys(&db, &keys).await?;
    match action {
        OrgAction::Add { name } => {
            let org = buzon::staff::add_org(&db, &name)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let id = org.id.to_string();
            buzon::audit::record(
                &db,
                &keys,
                buzon::audit::Event::new(None, "org_add").target(&id),
            )
            .await?;
            eprintln!("added organization {} ({id})", org.name);
        }
        OrgAction::List => {
            for o in buzon::staff::orgs(&db).await? {
                println!("{}\t{}\t{}", o.id, o.name, o.created_at.format("%Y-%m-%d"));
            }
        }
    }
    Ok(())
}

async fn rrm_draft(settings: &Settings, case_ref: &str) -> anyhow::Result<()> {
    let keys = buzon::crypto::KeyRing::load(&settings.keys_file)?;
    let db = buzon::db::connect(&settings.database_url, 1).await?;
    buzon::db::migrate(&db).await?;
    buzon::db::check_keys(&db, &keys).await?;
    let rules = buzon::routing::Rules::load(settings.routing_rules.as_deref())?;
    let input = buzon::advocacy::rrm::petition_input_by_ref(&db, &keys, &rules, case_ref.trim())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no case with reference {case_ref}"))?;
    let draft = buzon::routing::petition::draft(&input)?;
    // An export of case data is on the record like a reveal.
    let case_id: Option<uuid::Uuid> = buzon::db::row(
        &db,
        "SELECT id FROM cases WHERE case_ref = $1",
        vec![case_ref.trim().to_ascii_uppercase().into()],
    )
    .await?
    .map(|r| r.try_get_by_index(0))
    .transpose()?;
    buzon::audit::record(
        &db,
        &keys,
        buzon::audit::Event::new(None, "export")
            .case_opt(case_id)
            .target("rrm_draft"),
    )
    .await?;
    print!("{draft}");
    Ok(())
}

async fn authorities(settings: &Settings, action: AuthoritiesAction) -> anyhow::Result<()> {
    use anyhow::Context;
    buzon::app::create_private_dir(&settings.data_dir)?;
    let db = buzon::db::connect(&settings.database_url, 1).await?;
    buzon::db::migrate(&db).await?;
    match action {
        AuthoritiesAction::Export { output } => {
            let csv = buzon::db::load_directory(&db)
                .await?
                .to_csv()
                .map_err(anyhow::Error::msg)?;
            match output {
                Some(path) => std::fs::write(&path, csv)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{csv}"),
            }
        }
        AuthoritiesAction::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let entries = buzon::routing::Directory::parse_csv(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            buzon::db::save_directory(&db, &entries).await?;
            eprintln!("imported {} authorities", entries.len());
        }
    }
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
