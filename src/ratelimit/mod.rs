//! Rate limits (GCRA, governor's quota semantics: `per_minute` sustained, `burst` at
//! once). Buckets of HTTP requests per client IP: filing complaints, receipt
//! look-ups and messages (slow, so receipts can't be guessed), webhooks (Meta
//! delivers every worker's messages from a handful of addresses, so theirs is a high
//! limit of its own), staff sign-in, and everything else; sign-in attempts per
//! account; and, in the channels, WhatsApp senders
//! and SMTP senders and client addresses. No IP address is ever written to the
//! database or a log.
//!
//! Where the state lives: without `BUZON_REDIS_URL`, in memory (`memory.rs`), per
//! instance. With it, in Redis (`redis.rs`), shared by every instance, under keys
//! that are HMACs (no address, phone or e-mail reaches Redis). While Redis is
//! unreachable each limiter follows [`Scope::on_outage`]: sign-in and receipt
//! look-ups are refused (503 `limits_unavailable`: an attacker must not get
//! unlimited guesses by cutting Redis), everything else falls back to the in-memory
//! limiter of the instance (a lost complaint or webhook delivery is worse than a
//! limit N times as loose for a while).

pub mod memory;
pub mod redis;

use self::redis::{Rate, Shared, Unreachable};
use crate::config::{Limit, Settings};
use axum::http::{HeaderMap, Method};
use governor::Quota;
use ipnet::IpNet;
use memory::Memory;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
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
    /// Its name in metrics and Redis keys.
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

/// Every limiter, as named in metrics and Redis keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Http(Bucket),
    /// Sign-in attempts per account (blind index of the e-mail).
    LoginAccount,
    /// Messages per WhatsApp sender (blind index), checked by the inbox worker.
    WhatsAppSender,
    /// SMTP messages per sender address (blind index).
    SmtpSender,
    /// SMTP connections and messages per client address.
    SmtpIp,
}

/// What a limiter does while its shared store (Redis) is unreachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnOutage {
    /// Refuse: guessing (passwords, receipts) must not become unlimited.
    FailClosed,
    /// Let through under this instance's in-memory limit: nothing delivered or
    /// filed is lost.
    FallBackToMemory,
}

impl Scope {
    pub fn code(self) -> &'static str {
        match self {
            Self::Http(b) => b.code(),
            Self::LoginAccount => "login_account",
            Self::WhatsAppSender => "whatsapp_sender",
            Self::SmtpSender => "smtp_sender",
            Self::SmtpIp => "smtp_ip",
        }
    }

    pub fn on_outage(self) -> OnOutage {
        match self {
            Self::Http(Bucket::Login | Bucket::Status) | Self::LoginAccount => OnOutage::FailClosed,
            Self::Http(Bucket::Intake | Bucket::Webhook | Bucket::General)
            | Self::WhatsAppSender
            | Self::SmtpSender
            | Self::SmtpIp => OnOutage::FallBackToMemory,
        }
    }
}

/// Why a request is not let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// Over the limit: allowed again after this long.
    Wait(Duration),
    /// The shared store is unreachable and this limiter fails closed.
    Unavailable,
}

/// What a limiter keys on, as bytes for the Redis key's HMAC.
pub trait KeyMaterial: Hash + Eq + Clone {
    fn material(&self) -> Vec<u8>;
}

impl KeyMaterial for IpAddr {
    fn material(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl KeyMaterial for Vec<u8> {
    fn material(&self) -> Vec<u8> {
        self.clone()
    }
}

/// One limiter: in Redis when a shared store is configured, else (and as the
/// fallback of limiters that fail open) in memory.
pub struct Keyed<K: KeyMaterial> {
    scope: Scope,
    rate: Rate,
    memory: Memory<K>,
    shared: Option<Arc<Shared>>,
}

impl<K: KeyMaterial> Keyed<K> {
    pub fn new(scope: Scope, quota: Quota, shared: Option<Arc<Shared>>) -> Self {
        Self {
            scope,
            rate: Rate::of(quota),
            memory: Memory::new(quota),
            shared,
        }
    }

    pub async fn check(&self, key: &K) -> Result<(), Denied> {
        if let Some(shared) = &self.shared {
            match shared
                .check(self.scope.code(), &key.material(), self.rate)
                .await
            {
                Ok(verdict) => return verdict.map_err(Denied::Wait),
                Err(Unreachable) => {
                    if self.scope.on_outage() == OnOutage::FailClosed {
                        return Err(Denied::Unavailable);
                    }
                }
            }
        }
        self.memory.check(key).map_err(Denied::Wait)
    }

    /// For limiters that fail open: `Err(wait)` only when over the limit.
    pub async fn check_open(&self, key: &K) -> Result<(), Duration> {
        match self.check(key).await {
            Err(Denied::Wait(wait)) => Err(wait),
            Ok(()) | Err(Denied::Unavailable) => Ok(()),
        }
    }

    /// Keys held in memory: all of them without Redis; with it, the fallback's.
    pub fn len(&self) -> usize {
        self.memory.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn forget_idle(&self) {
        self.memory.forget_idle();
    }
}

pub struct Limiters {
    intake: Keyed<IpAddr>,
    status: Keyed<IpAddr>,
    webhook: Keyed<IpAddr>,
    login: Keyed<IpAddr>,
    /// Sign-in attempts per account (keyed by the e-mail's blind index, known or
    /// not), whatever address they come from: 20 per minute, checked before any
    /// Argon2 work. Every address, with an account or not, also locks after 5
    /// failures (`staff::lock`, in the database).
    accounts: Keyed<Vec<u8>>,
    general: Keyed<IpAddr>,
    trusted_proxies: Vec<IpNet>,
    shared: Option<Arc<Shared>>,
}

pub fn quota(limit: Limit) -> Quota {
    let per_minute = NonZeroU32::new(limit.per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

/// Whether the limits are shared, and whether the store answers (for `/readyz`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreHealth {
    /// No `BUZON_REDIS_URL`: per-instance limits in memory.
    Memory,
    Redis {
        up: bool,
    },
}

impl Limiters {
    /// In-memory limiters only.
    pub fn new(settings: &Settings) -> Self {
        Self::with_store(settings, None)
    }

    /// Limiters in `shared` (Redis) when given.
    pub fn with_store(settings: &Settings, shared: Option<Arc<Shared>>) -> Self {
        let ip = |bucket: Bucket, limit: Limit| {
            Keyed::new(Scope::Http(bucket), quota(limit), shared.clone())
        };
        Self {
            intake: ip(Bucket::Intake, settings.intake_limit),
            status: ip(Bucket::Status, settings.status_limit),
            webhook: ip(Bucket::Webhook, settings.webhook_limit),
            login: ip(Bucket::Login, settings.login_limit),
            accounts: Keyed::new(
                Scope::LoginAccount,
                quota(Limit {
                    per_minute: 20,
                    burst: 20,
                }),
                shared.clone(),
            ),
            general: ip(Bucket::General, settings.general_limit),
            trusted_proxies: settings.trusted_proxies.clone(),
            shared,
        }
    }

    /// The shared store, for the channels' limiters.
    pub fn shared(&self) -> Option<Arc<Shared>> {
        self.shared.clone()
    }

    pub fn health(&self) -> StoreHealth {
        match &self.shared {
            None => StoreHealth::Memory,
            Some(s) => StoreHealth::Redis { up: s.is_up() },
        }
    }

    /// `Err` when the client must wait before this request would be allowed, or the
    /// shared store is down and this bucket fails closed.
    pub async fn check(&self, bucket: Bucket, client: IpAddr) -> Result<(), Denied> {
        let limiter = match bucket {
            Bucket::Intake => &self.intake,
            Bucket::Status => &self.status,
            Bucket::Webhook => &self.webhook,
            Bucket::Login => &self.login,
            Bucket::General => &self.general,
        };
        limiter.check(&client).await
    }

    /// `Err` when this account had too many sign-in attempts lately.
    pub async fn check_account(&self, account: &[u8]) -> Result<(), Denied> {
        self.accounts.check(&account.to_vec()).await
    }

    /// How many clients (addresses, accounts) each limiter remembers in memory now:
    /// what the periodic [`Self::forget_idle`] keeps bounded, exported as a gauge.
    /// With Redis this is the fallback's (0 while Redis answers); Redis expires its
    /// keys itself once their limits have recovered.
    pub fn clients(&self) -> [(&'static str, usize); 6] {
        [
            (Bucket::Intake.code(), self.intake.len()),
            (Bucket::Status.code(), self.status.len()),
            (Bucket::Webhook.code(), self.webhook.len()),
            (Bucket::Login.code(), self.login.len()),
            (Bucket::General.code(), self.general.len()),
            (Scope::LoginAccount.code(), self.accounts.len()),
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
            limiter.forget_idle();
        }
        self.accounts.forget_idle();
    }

    /// The client's address: the peer, unless the peer is a trusted proxy, in which
    /// case the right-most address of `X-Forwarded-For` that is not itself a trusted
    /// proxy. IPv6 clients are keyed by their /64, which one subscriber usually owns.
    /// Every address is taken in its canonical form first
    /// ([`crate::net::canonical`]): a trusted IPv4 proxy reaching a dual-stack
    /// listener is the peer `::ffff:a.b.c.d`, and must be recognised as `a.b.c.d`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        let peer = crate::net::canonical(peer);
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
                let ip = crate::net::canonical(ip);
                client = ip;
                if !trusted(&ip) {
                    break;
                }
            }
        }
        client_key(client)
    }
}

/// The key a client is limited by (see [`crate::net::client_key`]).
pub use crate::net::client_key;

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
    fn a_trusted_ipv4_proxy_is_recognised_on_a_dual_stack_listener() {
        let l = limiters(&["127.0.0.1/32"]);
        let mapped: IpAddr = std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1).into();
        assert_eq!(
            l.client_ip(mapped, &xff("203.0.113.9")),
            IpAddr::from([203, 0, 113, 9])
        );
        // A mapped hop is the proxy too, and a mapped client is keyed as IPv4.
        assert_eq!(
            l.client_ip(mapped, &xff("::ffff:198.51.100.4, ::ffff:127.0.0.1")),
            IpAddr::from([198, 51, 100, 4])
        );
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

    #[tokio::test]
    async fn the_burst_passes_then_the_limit_holds_per_client() {
        let l = limiters(&[]);
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        assert!(l.check(Bucket::Status, a).await.is_ok());
        assert!(l.check(Bucket::Status, a).await.is_ok());
        let wait = l.check(Bucket::Status, a).await;
        assert!(wait.is_err_and(|w| matches!(w, Denied::Wait(w) if w > Duration::from_secs(20))));
        assert!(l.check(Bucket::Status, b).await.is_ok());
        assert!(l.check(Bucket::General, a).await.is_ok());
        assert_eq!(l.health(), StoreHealth::Memory);
    }

    #[test]
    fn guessing_fails_closed_and_deliveries_fall_back_when_redis_is_down() {
        use OnOutage::*;
        let expected = [
            (Scope::Http(Bucket::Login), FailClosed),
            (Scope::Http(Bucket::Status), FailClosed),
            (Scope::LoginAccount, FailClosed),
            (Scope::Http(Bucket::Webhook), FallBackToMemory),
            (Scope::Http(Bucket::Intake), FallBackToMemory),
            (Scope::Http(Bucket::General), FallBackToMemory),
            (Scope::WhatsAppSender, FallBackToMemory),
            (Scope::SmtpSender, FallBackToMemory),
            (Scope::SmtpIp, FallBackToMemory),
        ];
        for (scope, policy) in expected {
            assert_eq!(scope.on_outage(), policy, "{scope:?}");
        }
        let codes: std::collections::HashSet<_> = expected.iter().map(|(s, _)| s.code()).collect();
        assert_eq!(
            codes.len(),
            expected.len(),
            "every limiter has its own key space"
        );
    }

    #[test]
    fn redis_keys_are_keyed_hashes_without_the_address() {
        use crate::crypto::BlindIndex;
        let index = BlindIndex::new([7u8; 32]);
        let ip: IpAddr = [203, 0, 113, 77].into();
        let key = redis::redis_key(&index, "status", &ip.material());
        assert!(key.starts_with("buzon:rl:status:"), "{key}");
        let hash = key.trim_start_matches("buzon:rl:status:");
        assert_eq!(hash.len(), 64);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!key.contains("203.0.113.77"));
        assert!(!key.contains(&crate::crypto::hex(b"203.0.113.77")));
        // Stable for one key file, different per limiter, per client and per key file.
        assert_eq!(key, redis::redis_key(&index, "status", &ip.material()));
        assert_ne!(
            hash,
            redis::redis_key(&index, "login", &ip.material()).trim_start_matches("buzon:rl:login:")
        );
        let other: IpAddr = [203, 0, 113, 78].into();
        assert_ne!(key, redis::redis_key(&index, "status", &other.material()));
        let other_file = BlindIndex::new([8u8; 32]);
        assert_ne!(key, redis::redis_key(&other_file, "status", &ip.material()));
        // The IPv6 key is the /64 it was reduced to, not the full address.
        let v6 = client_key("2001:db8:1:2:aaaa::1".parse().unwrap_or(ip));
        assert_eq!(v6.material(), b"2001:db8:1:2::".to_vec());
    }
}
