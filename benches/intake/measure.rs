//! The measurements beside the rows: routing and the receipt hash alone, the
//! process's peak memory, the SMTP client loop, and the machine's description.

use super::*;

/// The code of the next SMTP reply; 0 when the connection ended (closed, reset or
/// silent for the reader's timeout).
pub(super) async fn reply(read: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>) -> u16 {
    smtp_sink::try_read_reply(read)
        .await
        .ok()
        .and_then(|reply| reply.get(..3)?.parse().ok())
        .unwrap_or(0)
}

/// Sends 20 KB messages over SMTP for `seconds`, each client on one connection as
/// a mail server does: MAIL, RCPT and DATA pipelined, then the message (no line of
/// it starts with a dot, so it needs no stuffing) and the final dot in one write,
/// the time taken to the final 250. Not lettre's transport: it leaves
/// Nagle on, and its 40 ms stalls on loopback would be all that is measured.
pub(super) async fn drive_smtp(name: &str, port: u16, seconds: u64, concurrency: u64) -> Result {
    use tokio::io::AsyncWriteExt;
    if !wanted(name) {
        return Result::skipped(name);
    }
    eprintln!("row: {name}");
    let rss_start = reset_peak_rss();
    let window = Window::new(seconds);
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        tasks.push(tokio::spawn(async move {
            let (mut read, mut write) = smtp_session(port).await;
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            let mut i = worker * 1_000_000;
            while Instant::now() < window.end {
                i += 1;
                let (from, mut data) = mail_20kb(i);
                data.extend_from_slice(b"\r\n.\r\n");
                let t = Instant::now();
                let envelope =
                    format!("MAIL FROM:<{from}>\r\nRCPT TO:<{BENCH_INTAKE}>\r\nDATA\r\n");
                let sent = write.write_all(envelope.as_bytes()).await.is_ok();
                let codes = [
                    reply(&mut read).await,
                    reply(&mut read).await,
                    reply(&mut read).await,
                ];
                if !sent || codes.contains(&421) || codes.contains(&0) {
                    // The listener ends a session after so many commands (421, then
                    // it closes): a mail server connects again, and so do we. A
                    // session that ended any other way is an error.
                    if !codes.contains(&421) {
                        errors += 1;
                    }
                    (read, write) = smtp_session(port).await;
                    continue;
                }
                if codes != [250, 250, 354] {
                    errors += 1;
                    write.write_all(b"RSET\r\n").await.unwrap();
                    reply(&mut read).await;
                    continue;
                }
                let sent = write.write_all(&data).await.is_ok();
                match reply(&mut read).await {
                    250 if sent => window.record(&mut latencies, t),
                    // The session's last command: not taken, sent again on a new one.
                    421 => (read, write) = smtp_session(port).await,
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    collect(name, window, rss_start, tasks).await
}

/// A row's clock: `BENCH_WARMUP_MS` (default 1 000) of load that is not counted
/// (a new instance's first requests open connections, warm caches and share the
/// cores with its start-up work), then `seconds` measured. An answer counts when
/// it arrives inside the measured window; the rate is those answers over the
/// window's length, so requests still in flight at either edge are neither
/// counted nor waited for in the rate. Errors count whenever they happen, warm-up
/// included: a refusal is never hidden.
#[derive(Clone, Copy)]
pub(super) struct Window {
    pub start: Instant,
    pub end: Instant,
}

impl Window {
    pub(super) fn new(seconds: u64) -> Self {
        let start = Instant::now() + Duration::from_millis(env_num("BENCH_WARMUP_MS", 1000));
        Self {
            start,
            end: start + Duration::from_secs(seconds),
        }
    }

    /// Keeps the latency of a request sent at `sent` if its answer, now, counts.
    pub(super) fn record(&self, latencies: &mut Vec<Duration>, sent: Instant) {
        let now = Instant::now();
        if now >= self.start && now <= self.end {
            latencies.push(now - sent);
        }
    }
}

/// A new SMTP session, greeted: its reading and writing halves.
async fn smtp_session(
    port: u16,
) -> (
    tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
    tokio::net::tcp::OwnedWriteHalf,
) {
    use tokio::io::AsyncWriteExt;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.set_nodelay(true).unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = tokio::io::BufReader::new(read);
    assert_eq!(reply(&mut read).await, 220);
    write.write_all(b"EHLO bench.test\r\n").await.unwrap();
    assert_eq!(reply(&mut read).await, 250);
    (read, write)
}

pub(super) async fn collect(
    name: &str,
    window: Window,
    rss_start: u64,
    tasks: Vec<tokio::task::JoinHandle<(Vec<Duration>, u64)>>,
) -> Result {
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = (window.end - window.start).as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Result {
        name: name.to_string(),
        requests: all.len() as u64,
        errors,
        per_second: all.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        rss_start,
        rss_peak: proc_status_kib("VmHWM:"),
    }
}

/// Server time of the routing decision itself: the pure function, no HTTP.
pub(super) fn time_routing() -> Duration {
    use buzon::domain::{Sector, StateCode, TradeNexus, Violation};
    use buzon::routing::{CaseFacts, Rules, route};
    let rules = Rules::default_rules().unwrap();
    let n = 200_000u32;
    let start = Instant::now();
    for i in 0..n {
        let facts = CaseFacts {
            state: StateCode::ALL[i as usize % StateCode::ALL.len()],
            sector: Sector::ALL[i as usize % Sector::ALL.len()],
            trade_with_us: TradeNexus::Unknown,
            workers: Some(800),
            violations: [
                Violation::UnionRetaliation,
                Violation::UnpaidWages,
                Violation::SafetyHealth,
            ]
            .into_iter()
            .collect(),
            occurred_on: None,
        };
        std::hint::black_box(route(&rules, std::hint::black_box(&facts)));
    }
    start.elapsed() / n
}

/// The receipt hash alone at the production cost, single-threaded, median of 15 after
/// 3 warm-ups: `buzon`'s hasher (working memory reused between hashes) against the
/// `argon2` crate's own `hash_password_with_salt` (a fresh, zeroed allocation per
/// hash: what the hasher did before), in the same process. Milliseconds per hash.
pub(super) fn time_receipt_hash(cost: HashCost) -> (f64, f64) {
    use argon2::PasswordHasher;
    let ours = buzon::crypto::receipt::ReceiptHasher::new(cost).unwrap();
    let params =
        argon2::Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None).unwrap();
    let library = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let median = |f: &dyn Fn()| {
        for _ in 0..3 {
            f();
        }
        let mut times: Vec<f64> = (0..15)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let secret = "ABCDEFGHJKMNPQRSTVWXYZ234";
    let reused = median(&|| {
        std::hint::black_box(ours.hash(secret).unwrap());
    });
    let fresh = median(&|| {
        let salt: [u8; 16] = buzon::crypto::random_bytes();
        std::hint::black_box(
            library
                .hash_password_with_salt(secret.as_bytes(), &salt)
                .unwrap()
                .to_string(),
        );
    });
    (reused, fresh)
}

/// The receipt-hash limit: one thread per core hashing with Buzón's hasher for
/// `seconds`, nothing else running, in hashes per second. Intake cannot beat it
/// (each complaint costs one hash), so its ratio to this is what is left to win.
pub(super) fn hash_limit(cost: HashCost, seconds: u64) -> (usize, f64) {
    let hasher = std::sync::Arc::new(buzon::crypto::receipt::ReceiptHasher::new(cost).unwrap());
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let done: usize = (0..threads)
        .map(|_| {
            let hasher = std::sync::Arc::clone(&hasher);
            std::thread::spawn(move || {
                let mut n = 0;
                while Instant::now() < until {
                    std::hint::black_box(hasher.hash("ABCDEFGHJKMNPQRSTVWXYZ234").unwrap());
                    n += 1;
                }
                n
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .sum();
    (threads, done as f64 / started.elapsed().as_secs_f64())
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`); 0 where there is none.
pub(super) fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Resets the process's RSS high-water mark to its current RSS (Linux 4.0+:
/// `echo 5 > /proc/self/clear_refs`), so `VmHWM` afterwards is this row's peak.
/// Returns the RSS at the start.
pub(super) fn reset_peak_rss() -> u64 {
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("cannot reset the RSS high-water mark: peaks are since process start");
    }
    proc_status_kib("VmRSS:")
}

pub(super) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
                    / 1024
                    / 1024
            })
        })
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| format!(", Linux {}", k.trim()))
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem} GiB RAM{kernel}")
}
