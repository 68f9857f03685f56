//! Concurrent connections per client address, for the HTTP server and the SMTP
//! listener alike: a connection holds an [`AddressPermit`] for as long as it is
//! open, and an address already holding `max` gets none. Addresses are keyed as the
//! rate limits key them ([`super::client_key`]): IPv4 as is, IPv6 by
//! its /64, IPv4-mapped IPv6 as the IPv4 address. Only addresses with a connection
//! open are remembered, so the table is bounded by the connections themselves.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

pub struct PerAddress {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection of one address; dropping it (the connection closed) frees
/// the slot.
pub struct AddressPermit {
    owner: Arc<PerAddress>,
    key: IpAddr,
}

impl PerAddress {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one more connection from `peer`, or `None` when its address
    /// holds `max` already.
    pub fn try_acquire(self: &Arc<Self>, peer: IpAddr) -> Option<AddressPermit> {
        let key = super::client_key(peer);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(key).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(AddressPermit {
            owner: Arc::clone(self),
            key,
        })
    }

    /// How many addresses hold a connection now.
    pub fn addresses(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for AddressPermit {
    fn drop(&mut self) {
        let mut open = self
            .owner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Counts connections refused over a cap (the metric) and says so in the log at
/// most once per [`REFUSAL_LOG_EVERY`], with how many since: a flood costs a line
/// every few seconds, not one per connection. No address is logged.
pub struct Refusals {
    listener: &'static str,
    since_logged: std::sync::atomic::AtomicU64,
    last_logged: Mutex<Option<std::time::Instant>>,
}

pub const REFUSAL_LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

impl Refusals {
    pub const fn new(listener: &'static str) -> Self {
        Self {
            listener,
            since_logged: std::sync::atomic::AtomicU64::new(0),
            last_logged: Mutex::new(None),
        }
    }

    /// A connection was closed at once: `cap` is `total` or `per_address`.
    pub fn refused(&self, cap: &'static str) {
        use std::sync::atomic::Ordering;
        crate::metrics::connection_refused(self.listener, cap);
        self.since_logged.fetch_add(1, Ordering::Relaxed);
        let mut last = self
            .last_logged
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = std::time::Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < REFUSAL_LOG_EVERY) {
            return;
        }
        *last = Some(now);
        let refused = self.since_logged.swap(0, Ordering::Relaxed);
        tracing::warn!(
            listener = self.listener,
            cap,
            refused,
            "connections refused over a connection cap (count since the last such line)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    #[test]
    fn an_address_gets_its_cap_and_others_are_not_affected() {
        let limit = PerAddress::new(2);
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        let first = limit.try_acquire(a);
        let second = limit.try_acquire(a);
        assert!(first.is_some() && second.is_some());
        assert!(
            limit.try_acquire(a).is_none(),
            "third from the same address"
        );
        assert!(limit.try_acquire(b).is_some(), "another address");
        drop(first);
        assert!(limit.try_acquire(a).is_some(), "a slot freed by a close");
    }

    #[test]
    fn ipv6_shares_its_slash_64_and_mapped_ipv4_is_ipv4() {
        let limit = PerAddress::new(1);
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap_or(IpAddr::from([0; 4]));
        let other: IpAddr = "2001:db8:1:2:ffff::9"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let _held = limit.try_acquire(one);
        assert!(limit.try_acquire(other).is_none(), "same /64");
        let v4: IpAddr = [203, 0, 113, 5].into();
        let mapped: IpAddr = Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0xcb00, 0x7105).into();
        let _v4 = limit.try_acquire(v4);
        assert!(limit.try_acquire(mapped).is_none(), "::ffff:203.0.113.5");
    }

    #[test]
    fn closed_connections_are_forgotten() {
        let limit = PerAddress::new(3);
        let held: Vec<_> = (1..=50u8)
            .filter_map(|i| limit.try_acquire(IpAddr::from([10, 0, 0, i])))
            .collect();
        assert_eq!(limit.addresses(), 50);
        drop(held);
        assert_eq!(limit.addresses(), 0);
    }
}
