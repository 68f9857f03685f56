//! Whether deliveries are arriving: the group commit marks each job as it comes and
//! goes, and background work that shares the writer and the cores with the
//! acknowledgements (the inbox workers) waits for a quiet moment before each step.
//!
//! During a burst the acknowledgements go first: a provider kept waiting delivers
//! again (more load, not less), while the backlog they leave is worked as soon as
//! the burst ends. Background work is never stopped, only slowed: it takes a step
//! at least every `at_most`, however long the burst.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::time::{Duration, Instant};

/// How long after the last delivery the writer counts as quiet: longer than the gap
/// between a burst's deliveries, far shorter than a person waits for a reply.
pub const QUIET: Duration = Duration::from_millis(5);

/// The longest an inbox worker waits for quiet before its next step: its floor
/// during a burst that does not end.
pub const YIELD_AT_MOST: Duration = Duration::from_millis(50);

#[derive(Debug)]
pub struct Activity {
    base: Instant,
    /// When the last job arrived or finished, in microseconds since `base`.
    last: AtomicU64,
    /// Jobs handed in and not yet answered.
    in_flight: AtomicUsize,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            last: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }
}

/// Marks a job in flight until dropped (answered, failed or abandoned alike).
pub struct InFlight<'a>(&'a Activity);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Activity {
    /// A job arrived; it counts as in flight until the guard is dropped.
    pub fn arrived(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.touch();
        InFlight(self)
    }

    fn touch(&self) {
        // One more than the time, so that 0 stays "never".
        let micros = u64::try_from(self.base.elapsed().as_micros()).unwrap_or(u64::MAX - 1);
        self.last.fetch_max(micros + 1, Ordering::AcqRel);
    }

    /// How long until the writer is quiet; zero if it is.
    fn busy_for(&self) -> Duration {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return QUIET;
        }
        match self.last.load(Ordering::Acquire) {
            // No delivery yet: quiet.
            0 => Duration::ZERO,
            last => (Duration::from_micros(last - 1) + QUIET).saturating_sub(self.base.elapsed()),
        }
    }

    /// Waits until no job is in flight and none arrived or finished for [`QUIET`],
    /// or `at_most`, whichever comes first.
    pub async fn quiet(&self, at_most: Duration) {
        let deadline = Instant::now() + at_most;
        loop {
            let busy = self.busy_for();
            let now = Instant::now();
            if busy.is_zero() || now >= deadline {
                return;
            }
            tokio::time::sleep(busy.min(deadline - now)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_is_quiet_at_once() {
        let activity = Activity::default();
        let start = Instant::now();
        activity.quiet(YIELD_AT_MOST).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn waits_out_the_quiet_time_after_a_job() {
        let activity = Activity::default();
        drop(activity.arrived());
        let start = Instant::now();
        activity.quiet(YIELD_AT_MOST).await;
        let waited = start.elapsed();
        assert!(waited >= QUIET && waited < QUIET * 2, "{waited:?}");
        // Long after the job: quiet at once.
        tokio::time::advance(Duration::from_secs(1)).await;
        let start = Instant::now();
        activity.quiet(YIELD_AT_MOST).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_in_flight_holds_until_it_is_answered() {
        let activity = std::sync::Arc::new(Activity::default());
        let waiter = {
            let activity = std::sync::Arc::clone(&activity);
            tokio::spawn(async move {
                let start = Instant::now();
                activity.quiet(Duration::from_secs(10)).await;
                start.elapsed()
            })
        };
        let job = activity.arrived();
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(job);
        let waited = waiter.await.unwrap_or_default();
        assert!(
            waited >= Duration::from_millis(200) + QUIET
                && waited < Duration::from_millis(200) + QUIET * 3,
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_that_does_not_end_still_lets_work_through() {
        let activity = std::sync::Arc::new(Activity::default());
        let burst = {
            let activity = std::sync::Arc::clone(&activity);
            tokio::spawn(async move {
                loop {
                    drop(activity.arrived());
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let start = Instant::now();
        activity.quiet(YIELD_AT_MOST).await;
        let waited = start.elapsed();
        burst.abort();
        assert!(
            waited >= YIELD_AT_MOST && waited < YIELD_AT_MOST + QUIET,
            "{waited:?}"
        );
    }
}
