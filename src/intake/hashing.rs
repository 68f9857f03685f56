//! Where Argon2 runs: one thread of its own per core, fed from one queue.
//!
//! Every receipt hash, receipt check and staff password check is a job on this
//! queue, worked in arrival order by `cores` threads that do nothing else. That
//! bounds the memory (one 19 MiB working area per thread at a time) and keeps the
//! hashing threads busy while jobs wait: a thread that finishes a hash takes the
//! next job itself, without waiting for an async task to be woken, polled and to
//! hand the job to tokio's blocking pool (which spread the hashes over half a
//! dozen threads migrating between the cores). In the intake bench that handoff and
//! the rotation cost 7–10 % of the hash rate the same threads reach hashing alone
//! (BENCHMARKS.md, issue 18).
//!
//! A job that waited longer than [`HASH_WAIT`] is refused with [`Busy`] (503, try
//! again) when its turn comes, and a job whose requester went away (the client
//! hung up) is skipped, so a flood drains instead of hashing for nobody.

use crate::crypto::receipt::ReceiptHasher;
use crate::error::Busy;
use anyhow::Context;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// How long a job waits for a hashing thread before it is refused with [`Busy`].
pub(super) const HASH_WAIT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce(&ReceiptHasher) + Send>;

/// The queue and its threads. Dropping the last clone of the sender (every
/// `Intake` clone gone) ends the threads once the queue is empty.
#[derive(Clone)]
pub(super) struct Hashers {
    jobs: mpsc::Sender<Job>,
    /// How long a job may wait for its turn ([`HASH_WAIT`] but in tests).
    wait: Duration,
}

impl Hashers {
    /// `threads` hashing threads (at least one) sharing `hasher`; a job that waited
    /// longer than `wait` for one is refused.
    pub(super) fn start(
        hasher: Arc<ReceiptHasher>,
        threads: usize,
        wait: Duration,
    ) -> anyhow::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            let hasher = Arc::clone(&hasher);
            std::thread::Builder::new()
                .name(format!("buzon-hash-{n}"))
                .spawn(move || work(&queue, &hasher))
                .context("cannot start a hashing thread")?;
        }
        Ok(Self { jobs, wait })
    }

    /// Runs `f` on a hashing thread, in the caller's span, once one is free.
    pub(super) async fn run<F, R>(&self, f: F) -> anyhow::Result<R>
    where
        F: FnOnce(&ReceiptHasher) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel::<Result<R, Busy>>();
        let span = tracing::Span::current();
        let deadline = Instant::now() + self.wait;
        let job: Job = Box::new(move |hasher| {
            if answer.is_closed() {
                return;
            }
            let result = if Instant::now() > deadline {
                Err(Busy)
            } else {
                Ok(span.in_scope(|| f(hasher)))
            };
            let _ = answer.send(result);
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the hashing threads have stopped"))?;
        Ok(answered.await.context("a hash failed")??)
    }
}

/// One hashing thread: takes the next job until the queue is closed. A job that
/// panics is caught here (its requester sees "a hash failed"), so the thread lives on.
fn work(queue: &Mutex<mpsc::Receiver<Job>>, hasher: &ReceiptHasher) {
    loop {
        // A poisoned lock only means another thread panicked while holding it,
        // which `recv` cannot do halfway: the receiver is still sound.
        let next = queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .recv();
        let Ok(job) = next else { return };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(hasher)));
    }
}

/// Who waits for a hash: somebody at the other end of a request (the web form,
/// the API, an advocate), or a channel worker filing what is already stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    Interactive,
    Queued,
}

impl Lane {
    /// WhatsApp and e-mail complaints are filed by their workers from the inbox;
    /// every other channel while the sender waits.
    pub fn of(channel: crate::domain::Channel) -> Self {
        match channel {
            crate::domain::Channel::WhatsApp | crate::domain::Channel::Email => Self::Queued,
            _ => Self::Interactive,
        }
    }
}

/// A permit of `slots`, or [`Busy`] after [`HASH_WAIT`].
pub(super) async fn slot(
    slots: &Arc<tokio::sync::Semaphore>,
) -> anyhow::Result<tokio::sync::OwnedSemaphorePermit> {
    tokio::time::timeout(HASH_WAIT, Arc::clone(slots).acquire_owned())
        .await
        .map_err(|_| Busy)?
        .context("hash slots closed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::receipt::HashCost;

    fn cheap() -> Arc<ReceiptHasher> {
        let cost = HashCost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        Arc::new(ReceiptHasher::new(cost).unwrap())
    }

    #[tokio::test]
    async fn jobs_run_on_the_hashing_threads_at_most_one_per_thread() {
        let hashers = Hashers::start(cheap(), 2, HASH_WAIT).unwrap();
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut jobs = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let (hashers, running, most) = (hashers.clone(), running.clone(), most.clone());
            jobs.spawn(async move {
                hashers
                    .run(move |h| {
                        use std::sync::atomic::Ordering::SeqCst;
                        let now = running.fetch_add(1, SeqCst) + 1;
                        most.fetch_max(now, SeqCst);
                        let name = std::thread::current().name().map(str::to_owned);
                        std::thread::sleep(Duration::from_millis(5));
                        let hash = h.hash("SECRET");
                        running.fetch_sub(1, SeqCst);
                        (name, hash.is_ok())
                    })
                    .await
            });
        }
        while let Some(done) = jobs.join_next().await {
            let (name, hashed) = done.unwrap().unwrap();
            assert!(name.is_some_and(|n| n.starts_with("buzon-hash-")));
            assert!(hashed);
        }
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_thread_lives_on() {
        let hashers = Hashers::start(cheap(), 1, HASH_WAIT).unwrap();
        let failed = hashers.run(|_| -> u8 { panic!("boom") }).await;
        assert!(failed.is_err());
        let ok = hashers.run(|h| h.hash("SECRET").is_ok()).await;
        assert!(ok.unwrap());
    }

    /// Holds a hashing thread with a job until the returned sender is used; the
    /// job's requester is the returned task.
    async fn hold(
        hashers: &Hashers,
    ) -> (
        tokio::task::JoinHandle<anyhow::Result<()>>,
        std::sync::mpsc::Sender<()>,
    ) {
        let (started, start) = tokio::sync::oneshot::channel::<()>();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let busy = tokio::spawn({
            let hashers = hashers.clone();
            async move {
                hashers
                    .run(move |_| {
                        let _ = started.send(());
                        let _ = released.recv();
                    })
                    .await
            }
        });
        start.await.unwrap();
        (busy, release)
    }

    #[tokio::test]
    async fn a_job_whose_requester_left_is_skipped() {
        let hashers = Hashers::start(cheap(), 1, HASH_WAIT).unwrap();
        // The one thread is held busy while a second job is queued and abandoned.
        let (busy, release) = hold(&hashers).await;
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let abandoned = tokio::spawn({
            let (hashers, ran) = (hashers.clone(), ran.clone());
            async move {
                hashers
                    .run(move |_| ran.store(true, std::sync::atomic::Ordering::SeqCst))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        abandoned.abort();
        let _ = abandoned.await;
        let _ = release.send(());
        busy.await.unwrap().unwrap();
        // A job queued after the abandoned one runs, so the thread has passed it.
        hashers.run(|_| ()).await.unwrap();
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_job_that_waited_too_long_is_refused_as_busy() {
        let hashers = Hashers::start(cheap(), 1, Duration::from_millis(20)).unwrap();
        let (busy, release) = hold(&hashers).await;
        let late = tokio::spawn({
            let hashers = hashers.clone();
            async move { hashers.run(|h| h.hash("SECRET").is_ok()).await }
        });
        tokio::time::sleep(Duration::from_millis(60)).await;
        let _ = release.send(());
        busy.await.unwrap().unwrap();
        let refused = late.await.unwrap().err().unwrap();
        assert!(refused.is::<Busy>(), "{refused:#}");
        // A job that did not wait runs.
        assert!(hashers.run(|h| h.hash("SECRET").is_ok()).await.unwrap());
    }
}
