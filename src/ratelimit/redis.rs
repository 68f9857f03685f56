//! The shared store (`BUZON_REDIS_URL`): every instance checks the same GCRA state in
//! Redis, so N instances behind a balancer give a client one budget, not N.
//!
//! Each check is one atomic round trip: a Lua script (EVALSHA, loaded again on
//! NOSCRIPT by `redis::Script`) reads the key's theoretical arrival time, decides
//! with governor's arithmetic (emission interval `T = 1 / rate`, tolerance
//! `tau = T * (burst - 1)`), writes it back with an expiry of the time until the
//! bucket is full again (idle keys vanish), and answers allowed + wait. It takes the
//! time from Redis (`TIME`), so instances with skewed clocks agree.
//!
//! Keys hold no personal data: `buzon:rl:<limiter>:<hex HMAC>`, the HMAC being the
//! blind index (under its own purpose per limiter) of what the limiter keys on (a
//! client address already reduced to its /64, or a blind index). Values are times.
//!
//! A check that fails or takes longer than [`CHECK_TIMEOUT`] marks Redis
//! unreachable; while it is, checks don't wait on it (each limiter's outage policy
//! applies at once) and a probe pings it every [`PROBE_EVERY`] until it answers.
//! The log says it once on each change, never with keys or the URL.

use crate::crypto::{BlindIndex, KeyRing};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

/// The longest a request waits for a limit check.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(250);
/// The longest a (background) connection attempt may take, and the start's first
/// ping: a busy machine may take longer to connect than a check may wait.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the probe pings Redis: how soon an outage or a recovery is seen
/// without traffic.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);
/// Every key starts with this: the only part of the key space Buzón uses.
pub const KEY_PREFIX: &str = "buzon:rl:";

const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
local earliest = tat - tau
if now < earliest then
  return {0, earliest - now}
end
if tat < now then
  tat = now
end
local next_tat = tat + interval
local ttl = math.max(1, math.ceil((next_tat - now) / 1000))
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', ttl)
return {1, 0}
";

/// A limiter's quota in the script's terms (microseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// One request's worth of time: 60 s / per_minute.
    pub interval_us: u64,
    /// How far ahead of now the arrival time may run: `interval * (burst - 1)`.
    pub tau_us: u64,
}

impl Rate {
    pub fn of(quota: governor::Quota) -> Self {
        let interval_us =
            u64::try_from(quota.replenish_interval().as_micros()).unwrap_or(u64::MAX / 4);
        let interval_us = interval_us.max(1);
        let burst = u64::from(quota.burst_size().get());
        Self {
            interval_us,
            tau_us: interval_us.saturating_mul(burst.saturating_sub(1)),
        }
    }
}

/// Redis did not answer (or answered with an error) in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreachable;

pub struct Shared {
    client: redis::Client,
    conn: RwLock<ConnectionManager>,
    script: redis::Script,
    keys: Arc<KeyRing>,
    up: AtomicBool,
}

/// The Redis key of `material` (what a limiter keys on) for limiter `scope`.
pub fn redis_key(index: &BlindIndex, scope: &str, material: &[u8]) -> String {
    let index = index.compute(&format!("ratelimit:{scope}"), &crate::crypto::hex(material));
    format!("{KEY_PREFIX}{scope}:{}", crate::crypto::hex(&index))
}

fn manager(client: &redis::Client) -> redis::RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(CHECK_TIMEOUT))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_lazy_with_config(client.clone(), config)
}

impl Shared {
    /// Connects (lazily: an unreachable Redis does not stop the start, it is
    /// reported and retried) and starts the probe. `redacted` is the URL for logs.
    pub async fn connect(
        url: &str,
        redacted: &str,
        keys: Arc<KeyRing>,
    ) -> anyhow::Result<Arc<Self>> {
        // Redis errors about a URL can quote it: say only which setting is wrong.
        let client = redis::Client::open(url)
            .map_err(|_| anyhow::anyhow!("redis_url / BUZON_REDIS_URL is not a valid Redis URL"))?;
        let conn = manager(&client)
            .map_err(|_| anyhow::anyhow!("cannot set up the Redis connection ({redacted})"))?;
        let shared = Arc::new(Self {
            client,
            conn: RwLock::new(conn),
            script: redis::Script::new(GCRA),
            keys,
            up: AtomicBool::new(true),
        });
        tracing::info!(redis = %redacted, "rate limits shared through Redis");
        if !shared.ping(CONNECT_TIMEOUT).await {
            shared.mark_down();
        }
        tokio::spawn(probe(Arc::downgrade(&shared)));
        Ok(shared)
    }

    /// Whether the last check or probe got an answer.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    fn connection(&self) -> Option<ConnectionManager> {
        self.conn.read().ok().map(|c| c.clone())
    }

    /// One GCRA step for `material` in limiter `scope`: `Ok(Err(wait))` when over the
    /// limit, `Err` when Redis is unreachable (at once while it is known to be).
    pub async fn check(
        &self,
        scope: &str,
        material: &[u8],
        rate: Rate,
    ) -> Result<Result<(), Duration>, Unreachable> {
        if !self.is_up() {
            return Err(Unreachable);
        }
        let Some(mut conn) = self.connection() else {
            return Err(Unreachable);
        };
        let key = redis_key(&self.keys.blind_index, scope, material);
        let mut invocation = self.script.key(key);
        invocation.arg(rate.interval_us).arg(rate.tau_us);
        let answer = tokio::time::timeout(
            CHECK_TIMEOUT,
            invocation.invoke_async::<(i64, i64)>(&mut conn),
        )
        .await;
        match answer {
            Ok(Ok((1, _))) => Ok(Ok(())),
            Ok(Ok((_, wait_us))) => Ok(Err(Duration::from_micros(
                u64::try_from(wait_us).unwrap_or(0),
            ))),
            Ok(Err(e)) => {
                tracing::debug!(kind = ?e.kind(), "rate limit check failed in Redis");
                self.mark_down();
                Err(Unreachable)
            }
            Err(_) => {
                self.mark_down();
                Err(Unreachable)
            }
        }
    }

    async fn ping(&self, timeout: Duration) -> bool {
        let Some(mut conn) = self.connection() else {
            return false;
        };
        let ping = redis::cmd("PING");
        matches!(
            tokio::time::timeout(timeout, ping.query_async::<String>(&mut conn)).await,
            Ok(Ok(_))
        )
    }

    fn mark_down(&self) {
        if self.up.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                "Redis unreachable: rate limits fail closed for sign-in and receipt look-ups \
                 (503 limits_unavailable), and fall back to per-instance limits for \
                 webhooks, intake and everything else"
            );
        }
    }

    fn mark_up(&self) {
        if !self.up.swap(true, Ordering::Relaxed) {
            tracing::info!("Redis reachable again: rate limits are shared again");
        }
    }
}

/// Pings every [`PROBE_EVERY`] while the store exists. A failed ping marks Redis
/// down and starts a fresh connection (whatever state the old one's reconnection is
/// in); a ping that succeeds marks it up.
async fn probe(shared: Weak<Shared>) {
    let mut tick = tokio::time::interval(PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.ping(CHECK_TIMEOUT).await {
            shared.mark_up();
        } else {
            shared.mark_down();
            if let Ok(fresh) = manager(&shared.client)
                && let Ok(mut conn) = shared.conn.write()
            {
                *conn = fresh;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_governor_quotas() {
        let q = governor::Quota::per_minute(std::num::NonZeroU32::MIN.saturating_add(0))
            .allow_burst(std::num::NonZeroU32::new(3).unwrap_or(std::num::NonZeroU32::MIN));
        let r = Rate::of(q);
        assert_eq!(r.interval_us, 60_000_000);
        assert_eq!(r.tau_us, 120_000_000);
    }
}
