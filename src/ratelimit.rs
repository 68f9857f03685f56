//! Per-client-IP rate limits (governor's GCRA), kept in memory only: no IP address is
//! ever written to the database or a log. Three buckets: filing complaints, receipt
//! look-ups and messages (slow, so receipts can't be guessed), webhooks (Meta delivers
//! every worker's messages from a handful of addresses, so theirs is a high limit of
//! its own; WhatsApp senders are limited one by one in the channel), and everything else.
//!
//! Limits are per instance; behind several instances divide the numbers accordingly.

use crate::config::{Limit, Settings};
use axum::http::{HeaderMap, Method};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    Intake,
    Status,
    Webhook,
    /// Staff sign-in steps (password, second factor): slow, so passwords can't be guessed.
    Login,
    General,
}

impl Bucket {
    /// Its name in metrics.
    pub fn code(self) -> &'static str {
        match self {
            Self::Intake => "intake",
            Self::Status => "status",
            Self::Webhook => "webhook",
            Self::Login => "login",
            Self::General => "general",
        }
    }

    /// Which limit a request counts against.
    pub fn of(method: &Method, path: &str) -> Self {
        if path.starts_with("/webhooks/") {
            return Self::Webhook;
        }
        if method == Method::POST {
            match path {
                "/complaints" | "/api/v1/complaints" | "/org/file" => return Self::Intake,
                "/triage/login" | "/triage/totp" | "/triage/enroll" => return Self::Login,
                "/status"
                | "/status/messages"
                | "/receipt"
                | "/api/v1/status"
                | "/api/v1/status/messages" => {
                    return Self::Status;
                }
                _ => {}
            }
        }
        Self::General
    }
}

pub struct Limiters {
    intake: DefaultKeyedRateLimiter<IpAddr>,
    status: DefaultKeyedRateLimiter<IpAddr>,
    webhook: DefaultKeyedRateLimiter<IpAddr>,
    login: DefaultKeyedRateLimiter<IpAddr>,
    /// Sign-in attempts per account (keyed by the e-mail's blind index, known or
    /// not), whatever address they come from: 20 per minute, checked before any
    /// Argon2 work. Known accounts also lock after 5 failures in a row
    /// (`staff::LOCK_AFTER`).
    accounts: DefaultKeyedRateLimiter<Vec<u8>>,
    /// Failed sign-ins per unknown e-mail: five, then one more every three minutes,
    /// like the lockout of a real account (so answers don't tell them apart).
    unknown_failures: DefaultKeyedRateLimiter<Vec<u8>>,
    general: DefaultKeyedRateLimiter<IpAddr>,
    trusted_proxies: Vec<IpNet>,
    clock: DefaultClock,
}

pub fn quota(limit: Limit) -> Quota {
    let per_minute = NonZeroU32::new(limit.per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

impl Limiters {
    pub fn new(settings: &Settings) -> Self {
        Self {
            intake: RateLimiter::keyed(quota(settings.intake_limit)),
            status: RateLimiter::keyed(quota(settings.status_limit)),
            webhook: RateLimiter::keyed(quota(settings.webhook_limit)),
            login: RateLimiter::keyed(quota(settings.login_limit)),
            accounts: RateLimiter::keyed(quota(Limit {
                per_minute: 20,
                burst: 20,
            })),
            unknown_failures: RateLimiter::keyed(
                Quota::with_period(Duration::from_secs(180))
                    .unwrap_or_else(|| {
                        quota(Limit {
                            per_minute: 1,
                            burst: 1,
                        })
                    })
                    .allow_burst(
                        NonZeroU32::new(crate::staff::LOCK_AFTER.unsigned_abs() - 1)
                            .unwrap_or(NonZeroU32::MIN),
                    ),
            ),
            general: RateLimiter::keyed(quota(settings.general_limit)),
            trusted_proxies: settings.trusted_proxies.clone(),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when the client must wait before this request would be allowed.
    pub fn check(&self, bucket: Bucket, client: IpAddr) -> Result<(), Duration> {
        let limiter = match bucket {
            Bucket::Intake => &self.intake,
            Bucket::Status => &self.status,
            Bucket::Webhook => &self.webhook,
            Bucket::Login => &self.login,
            Bucket::General => &self.general,
        };
        limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// `Err(wait)` when this account had too many sign-in attempts lately.
    pub fn check_account(&self, account: &[u8]) -> Result<(), Duration> {
        self.accounts
            .check_key(&account.to_vec())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Counts a failed sign-in for an e-mail no account has; `Err` from the fifth on.
    pub fn count_unknown_failure(&self, account: &[u8]) -> Result<(), Duration> {
        self.unknown_failures
            .check_key(&account.to_vec())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// How many clients (addresses, accounts) each limiter remembers now: what the
    /// periodic [`Self::forget_idle`] keeps bounded, exported as a gauge.
    pub fn clients(&self) -> [(&'static str, usize); 7] {
        [
            (Bucket::Intake.code(), self.intake.len()),
            (Bucket::Status.code(), self.status.len()),
            (Bucket::Webhook.code(), self.webhook.len()),
            (Bucket::Login.code(), self.login.len()),
            (Bucket::General.code(), self.general.len()),
            ("login_account", self.accounts.len()),
            ("login_unknown_account", self.unknown_failures.len()),
        ]
    }

    /// Forgets clients whose limits have fully recovered, so memory stays bounded:
    /// between two sweeps the store holds at most the clients seen since the last
    /// one plus those still limited (a client is forgotten once its limit would let
    /// a full burst through again, about `burst / per_minute` minutes after its last
    /// request).
    pub fn forget_idle(&self) {
        for limiter in [
            &self.intake,
            &self.status,
            &self.webhook,
            &self.login,
            &self.general,
        ] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        for limiter in [&self.accounts, &self.unknown_failures] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// The client's address: the peer, unless the peer is a trusted proxy, in which
    /// case the right-most address of `X-Forwarded-For` that is not itself a trusted
    /// proxy. IPv6 clients are keyed by their /64, which one subscriber usually owns.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        let mut client = peer;
        if trusted(&peer) {
            let hops: Vec<&str> = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .collect();
            // Right to left: each trusted proxy vouches for the hop before it. An entry
            // that is not an address ends the walk: nothing left of it can be trusted.
            for hop in hops.into_iter().rev() {
                let Some(ip) = parse_hop(hop) else { break };
                client = ip;
                if !trusted(&ip) {
                    break;
                }
            }
        }
        client_key(client)
    }
}

/// The key a client is limited by: IPv4 as is, IPv6 by its /64 (which one
/// subscriber usually owns), IPv4-mapped IPv6 as the IPv4 address.
pub fn client_key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
        v4 => v4,
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`), as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiters(proxies: &[&str]) -> Limiters {
        let mut s = Settings::defaults();
        s.trusted_proxies = proxies.iter().filter_map(|p| p.parse().ok()).collect();
        s.status_limit = Limit {
            per_minute: 2,
            burst: 2,
        };
        Limiters::new(&s)
    }

    fn xff(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = value.parse() {
            h.insert("x-forwarded-for", v);
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let l = limiters(&["10.0.0.0/8"]);
        let peer: IpAddr = [10, 0, 0, 5].into();
        let spoof = xff("1.1.1.1, 203.0.113.9, 10.0.0.7");
        assert_eq!(l.client_ip(peer, &spoof), IpAddr::from([203, 0, 113, 9]));
        let stranger: IpAddr = [198, 51, 100, 1].into();
        assert_eq!(l.client_ip(stranger, &spoof), stranger);
        // Ports are stripped; garbage stops the walk at the last trusted hop.
        let with_port = xff("1.1.1.1, 203.0.113.9:4431");
        assert_eq!(
            l.client_ip(peer, &with_port),
            IpAddr::from([203, 0, 113, 9])
        );
        let garbage = xff("1.1.1.1, unknown, 10.0.0.7");
        assert_eq!(l.client_ip(peer, &garbage), IpAddr::from([10, 0, 0, 7]));
    }

    #[test]
    fn ipv6_clients_share_their_slash_64() {
        let l = limiters(&[]);
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let b: IpAddr = "2001:db8:1:2:bbbb::9"
            .parse()
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(
            l.client_ip(a, &HeaderMap::new()),
            l.client_ip(b, &HeaderMap::new())
        );
    }

    #[test]
    fn the_burst_passes_then_the_limit_holds_per_client() {
        let l = limiters(&[]);
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        assert!(l.check(Bucket::Status, a).is_ok());
        assert!(l.check(Bucket::Status, a).is_ok());
        let wait = l.check(Bucket::Status, a);
        assert!(wait.is_err_and(|w| w > Duration::from_secs(20)));
        assert!(l.check(Bucket::Status, b).is_ok());
        assert!(l.check(Bucket::General, a).is_ok());
    }
}
