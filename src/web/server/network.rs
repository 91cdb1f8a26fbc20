//! The client a limit counts: an IPv4 address, or an IPv6 /64.

use std::net::{IpAddr, Ipv6Addr};

/// A client as limits count them: an IPv4 address, or the /64 an IPv6
/// address is in. A host or household is handed a whole /64, so counting
/// single IPv6 addresses would let one client count as 2^64 clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Network(IpAddr);

impl From<IpAddr> for Network {
    fn from(ip: IpAddr) -> Network {
        Network(match ip.to_canonical() {
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !((1u128 << 64) - 1))),
            v4 => v4,
        })
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_ipv4_by_address_and_ipv6_by_its_slash_64() {
        let network = |ip: &str| Network::from(ip.parse::<IpAddr>().unwrap());
        assert_eq!(network("203.0.113.7").to_string(), "203.0.113.7");
        assert_eq!(network("::ffff:203.0.113.7"), network("203.0.113.7"));
        assert_eq!(network("2001:db8:1:2::1"), network("2001:db8:1:2:ffff::9"));
        assert_ne!(network("2001:db8:1:2::1"), network("2001:db8:1:3::1"));
        assert_eq!(network("2001:db8:1:2:3:4:5:6").to_string(), "2001:db8:1:2::/64");
    }
}
