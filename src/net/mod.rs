//! What the HTTP server and the SMTP listener share about the peers they accept:
//! one canonical form of a peer's address, caps on connections per client address
//! ([`conn_limit`]), and the process's open-file limit those caps must fit in
//! ([`files`]).

pub mod conn_limit;
pub mod files;

use std::net::IpAddr;

/// The peer as an address of its own family: an IPv4 client reaching a dual-stack
/// (`[::]`) listener shows up as `::ffff:a.b.c.d`, and is the IPv4 address
/// `a.b.c.d` for every decision about trust and limits.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The key a client is limited and counted by: IPv4 as is, IPv6 by its /64 (which
/// one subscriber usually owns), IPv4-mapped IPv6 as the IPv4 address.
pub fn client_key(client: IpAddr) -> IpAddr {
    match canonical(client) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// [`canonical`] for a socket address (the port is kept).
pub fn canonical_peer(peer: std::net::SocketAddr) -> std::net::SocketAddr {
    std::net::SocketAddr::new(canonical(peer.ip()), peer.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_ipv4_is_ipv4_and_the_rest_is_left_alone() {
        let mapped: IpAddr = std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1).into();
        assert_eq!(canonical(mapped), IpAddr::from([127, 0, 0, 1]));
        let v6: IpAddr = std::net::Ipv6Addr::LOCALHOST.into();
        assert_eq!(canonical(v6), v6);
        let v4: IpAddr = [192, 0, 2, 7].into();
        assert_eq!(canonical(v4), v4);
    }
}
