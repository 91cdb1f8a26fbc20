//! Trusted reverse proxies, and the client they name. Behind a proxy every
//! connection comes from the proxy's address, and the proxy names the
//! client it serves in a header it writes (`X-Forwarded-For`, or RFC 7239
//! `Forwarded`). That header is believed only on a connection from a
//! listed proxy (anyone else could write it), and only as far as listed
//! proxies wrote it: reading the addresses from the right (the nearest hop
//! first), the client is the first one that is not itself a trusted proxy,
//! so what a client put in the header before its proxy appended the
//! client's address is never read. Only the one header the proxies are
//! said to write is read: a proxy passes on the headers it does not write,
//! so the other one is whatever the client sent.
//!
//! `config` reads the list ([`Cidr`], [`ClientHeader`]); `web/server.rs`
//! asks it who sent each request ([`TrustedProxies::client`], given the
//! request's [`Headers`]) and which connections are a proxy's
//! ([`TrustedProxies::trusts`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address or a network of them, as `trusted_proxies` lists them:
/// `203.0.113.7`, `10.0.0.0/8`, `2001:db8::/48`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is in the network (an IPv4-mapped IPv6 address as IPv4).
    fn contains(self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => network.to_bits() == ip.to_bits() & v4_mask(self.prefix),
            (IpAddr::V6(network), IpAddr::V6(ip)) => network.to_bits() == ip.to_bits() & v6_mask(self.prefix),
            _ => false,
        }
    }
}

fn v4_mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn v6_mask(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = String;

    /// An address (the network of that one address) or `address/prefix`;
    /// refused: bits set past the prefix (a typo: which network was meant?)
    /// and a prefix of 0 (every address on the internet trusted).
    fn from_str(text: &str) -> Result<Cidr, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let not_one = || format!("{text:?} is not an IP address or a network such as 10.0.0.0/8");
        let address: IpAddr = address.parse().map_err(|_| not_one())?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(not_one)?,
        };
        if prefix == 0 {
            return Err(format!(
                "{text:?} would trust every address on the internet to name its own client"
            ));
        }
        let network = match address {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from_bits(v4.to_bits() & v4_mask(prefix))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & v6_mask(prefix))),
        };
        if network != address {
            return Err(format!(
                "{text:?} has bits set past its /{prefix}: the network is {network}/{prefix}"
            ));
        }
        // An IPv4-mapped network is the IPv4 network: peers are compared as IPv4.
        Ok(match network {
            IpAddr::V6(v6) if prefix >= 96 && v6.to_ipv4_mapped().is_some() => Cidr {
                network: network.to_canonical(),
                prefix: prefix - 96,
            },
            _ => Cidr { network, prefix },
        })
    }
}

/// A request's headers as the proxies are read from them: the HTTP server
/// gives them from its own header map, and this file needs no HTTP library.
pub trait Headers {
    /// Every value of the header `name` (matched without case), in order.
    fn values(&self, name: &str) -> Vec<&[u8]>;
}

/// The header the trusted proxies write the client into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`: what nginx, HAProxy,
    /// Caddy, Apache and the cloud load balancers write.
    #[default]
    XForwardedFor,
    /// RFC 7239: `Forwarded: for=client;proto=https, for="[2001:db8::1]:443"`.
    Forwarded,
}

impl ClientHeader {
    /// The header's name, as the config writes it.
    pub fn name(self) -> &'static str {
        match self {
            ClientHeader::XForwardedFor => "X-Forwarded-For",
            ClientHeader::Forwarded => "Forwarded",
        }
    }

    /// The addresses the header names, left (the first hop) to right; `None`
    /// for one that is no address (`unknown`, an obfuscated name, garbage).
    fn hops(self, headers: &impl Headers) -> Vec<Option<IpAddr>> {
        let lines = headers.values(self.name());
        let mut hops = Vec::new();
        for line in lines {
            let Ok(line) = std::str::from_utf8(line) else {
                hops.push(None);
                continue;
            };
            for element in split_outside_quotes(line, ',') {
                hops.push(match self {
                    ClientHeader::XForwardedFor => node(element.trim()),
                    ClientHeader::Forwarded => forwarded_for(element).and_then(|value| node(&value)),
                });
            }
        }
        hops
    }
}

impl FromStr for ClientHeader {
    type Err = String;

    fn from_str(text: &str) -> Result<ClientHeader, String> {
        [ClientHeader::XForwardedFor, ClientHeader::Forwarded]
            .into_iter()
            .find(|header| header.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| format!("{text:?}: expected \"X-Forwarded-For\" or \"Forwarded\""))
    }
}

/// The proxies whose word on the client is taken; by default none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<Cidr>,
    header: ClientHeader,
}

impl TrustedProxies {
    pub fn new(networks: Vec<Cidr>, header: ClientHeader) -> TrustedProxies {
        TrustedProxies { networks, header }
    }

    /// Whether a connection from `ip` is a trusted proxy's.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|network| network.contains(ip))
    }

    /// Who sent a request that came from `peer` with `headers`: `peer`
    /// itself unless it is a trusted proxy; else the right-most address of
    /// the header that is not a trusted proxy. Where the header names no
    /// address (missing, `unknown`, garbage), the nearest proxy that did
    /// name one is taken: nothing left of it can be trusted.
    pub fn client(&self, peer: IpAddr, headers: &impl Headers) -> IpAddr {
        let mut nearest = peer.to_canonical();
        if !self.trusts(nearest) {
            return nearest;
        }
        for hop in self.header.hops(headers).into_iter().rev() {
            match hop {
                Some(ip) if self.trusts(ip) => nearest = ip,
                Some(ip) => return ip,
                None => break,
            }
        }
        nearest
    }
}

/// The `for=` value of one `Forwarded` element, unquoted.
fn forwarded_for(element: &str) -> Option<String> {
    split_outside_quotes(element, ';').into_iter().find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| unquote(value.trim()))
    })
}

/// A quoted-string's content (backslash escapes undone), or a token as is.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_string();
    };
    let mut text = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if escaped || c != '\\' {
            text.push(c);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    text
}

/// `text` cut at every `separator` that is not inside a quoted string.
fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let (mut parts, mut start) = (Vec::new(), 0);
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// An address as proxies write a hop: `192.0.2.1`, `192.0.2.1:4711`,
/// `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:4711`.
fn node(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (v6, port) = rest.split_once(']')?;
        return (port.is_empty() || port.strip_prefix(':').is_some_and(is_port))
            .then(|| v6.parse::<Ipv6Addr>().ok())
            .flatten()
            .map(|v6| IpAddr::V6(v6).to_canonical());
    }
    let (v4, port) = text.rsplit_once(':')?;
    is_port(port)
        .then(|| v4.parse::<Ipv4Addr>().ok())
        .flatten()
        .map(IpAddr::V4)
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Headers as a request carries them: (name, value), a name repeated
    /// for each of its lines.
    struct Lines(Vec<(&'static str, &'static str)>);

    impl Headers for Lines {
        fn values(&self, name: &str) -> Vec<&[u8]> {
            self.0
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_bytes())
                .collect()
        }
    }

    fn proxies(list: &[&str], header: ClientHeader) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|c| c.parse().unwrap()).collect(), header)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(name: &'static str, values: &[&'static str]) -> Lines {
        Lines(values.iter().map(|value| (name, *value)).collect())
    }

    #[test]
    fn networks_are_read_strictly() {
        let net = |t: &str| t.parse::<Cidr>();
        assert!(net("10.0.0.0/8").unwrap().contains(ip("10.200.1.1")));
        assert!(!net("10.0.0.0/8").unwrap().contains(ip("11.0.0.1")));
        assert!(net("127.0.0.1").unwrap().contains(ip("::ffff:127.0.0.1")));
        assert!(!net("127.0.0.1").unwrap().contains(ip("127.0.0.2")));
        assert!(net("2001:db8::/32").unwrap().contains(ip("2001:db8:ffff::1")));
        assert!(!net("2001:db8::/32").unwrap().contains(ip("10.0.0.1")));
        assert!(net("::ffff:10.0.0.0/104").unwrap().contains(ip("10.1.2.3")));
        assert!(net("::1").unwrap().contains(ip("::1")));
        assert!(net("10.1.2.3/8").unwrap_err().contains("10.0.0.0/8"));
        assert!(net("0.0.0.0/0").unwrap_err().contains("every address"));
        assert!(net("::/0").is_err());
        assert!(net("10.0.0.0/33").is_err());
        assert!(net("proxy.example").is_err());
        assert!(net("10.0.0.1/").is_err());
    }

    #[test]
    fn the_client_is_the_right_most_address_no_trusted_proxy_wrote_itself() {
        let xff = proxies(&["127.0.0.1", "10.0.0.0/8"], ClientHeader::XForwardedFor);
        let proxy = ip("127.0.0.1");
        let of = |values: &[&'static str]| xff.client(proxy, &headers("x-forwarded-for", values));
        assert_eq!(of(&["198.51.100.7"]), ip("198.51.100.7"));
        // A client's own X-Forwarded-For, appended to by the proxy: its forgery is left of it.
        assert_eq!(of(&["1.2.3.4, 198.51.100.7"]), ip("198.51.100.7"));
        // Two trusted hops: the load balancer's address is skipped.
        assert_eq!(of(&["1.2.3.4, 198.51.100.7, 10.1.1.1"]), ip("198.51.100.7"));
        assert_eq!(of(&["1.2.3.4", "198.51.100.7"]), ip("198.51.100.7"));
        assert_eq!(of(&["[2001:db8::7]:4711"]), ip("2001:db8::7"));
        assert_eq!(of(&["198.51.100.7:4711"]), ip("198.51.100.7"));
        // Nothing readable: the nearest proxy that named an address.
        assert_eq!(of(&[]), proxy);
        assert_eq!(of(&["1.2.3.4, garbage"]), proxy);
        assert_eq!(of(&["1.2.3.4, unknown, 10.1.1.1"]), ip("10.1.1.1"));
        // Not from a trusted proxy: the header is not read at all.
        let direct = ip("203.0.113.9");
        assert_eq!(
            xff.client(direct, &headers("x-forwarded-for", &["1.2.3.4"])),
            direct
        );
        // The other header is whatever the client sent.
        assert_eq!(xff.client(proxy, &headers("forwarded", &["for=1.2.3.4"])), proxy);
    }

    #[test]
    fn forwarded_is_read_as_rfc_7239_writes_it() {
        let rfc = proxies(&["127.0.0.1"], ClientHeader::Forwarded);
        let proxy = ip("127.0.0.1");
        let of = |values: &[&'static str]| rfc.client(proxy, &headers("forwarded", values));
        assert_eq!(
            of(&["for=192.0.2.60;proto=http;by=203.0.113.43"]),
            ip("192.0.2.60")
        );
        assert_eq!(
            of(&["for=1.2.3.4, FOR=\"[2001:db8:cafe::17]:4711\";proto=https"]),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(of(&["for=\"_hidden\", for=198.51.100.7"]), ip("198.51.100.7"));
        assert_eq!(of(&["for=198.51.100.7, for=unknown"]), proxy);
        assert_eq!(of(&["proto=https"]), proxy);
        // A comma inside quotes does not start an element.
        assert_eq!(of(&["for=\"1.2.3.4,5.6.7.8\""]), proxy);
        assert_eq!(
            rfc.client(proxy, &headers("x-forwarded-for", &["1.2.3.4"])),
            proxy
        );
    }

    #[test]
    fn the_header_is_named_as_the_config_writes_it() {
        assert_eq!("x-forwarded-for".parse(), Ok(ClientHeader::XForwardedFor));
        assert_eq!("Forwarded".parse(), Ok(ClientHeader::Forwarded));
        assert!("X-Real-IP".parse::<ClientHeader>().is_err());
    }
}
