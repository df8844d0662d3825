//! Who the client of a request is.
//!
//! The client is the connection's peer, unless that peer is one of the
//! operator's trusted proxies: then the proxies' own header says whom they
//! forwarded for. The header's hops are read from the right (the hop the
//! nearest proxy appended) to the left, past every hop that is itself a trusted
//! proxy; the first one that is not is the client. Whatever a client writes
//! into the header itself sits to the left of that and is never believed, so a
//! client cannot choose its own address (and so cannot slip out of the
//! throttle) unless it is a trusted proxy.
//!
//! Only one header is read, the one the operator names: a proxy that appends
//! to `X-Forwarded-For` passes a client's own `Forwarded` header through
//! untouched, and the other way round, so reading both would believe a client.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Which header trusted proxies write the client into.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, Traefik, Envoy, Caddy).
    #[default]
    #[value(name = "x-forwarded-for")]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    #[value(name = "forwarded")]
    Forwarded,
}

/// A trusted proxy: an address, or a network in CIDR notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedNet(IpNet);

impl FromStr for TrustedNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(Self(net.trunc()));
        }
        match s.parse::<IpAddr>() {
            Ok(address) => Ok(Self(IpNet::from(canonical(address)))),
            Err(_) => Err(format!(
                "{s:?} is neither an IP address nor a network such as 10.0.0.0/8 or fd00::/8"
            )),
        }
    }
}

/// The trusted proxies and the header they write.
#[derive(Clone, Debug, Default)]
pub struct ClientResolver {
    trusted: Vec<IpNet>,
    header: ForwardedHeader,
}

impl ClientResolver {
    pub fn new(trusted: &[TrustedNet], header: ForwardedHeader) -> Self {
        Self {
            trusted: trusted.iter().map(|t| t.0).collect(),
            header,
        }
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&address))
    }

    /// The client of a request that came from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let hops = self.hops(headers);
        for hop in hops.iter().rev() {
            if !self.trusts(client) {
                break;
            }
            // A hop that is not an address ("unknown", an obfuscated name, a
            // typo) ends what can be known: nothing left of it is believed.
            let Some(address) = hop else { break };
            client = *address;
        }
        client
    }

    /// The header's hops, left to right, over every line of it in order.
    fn hops(&self, headers: &HeaderMap) -> Vec<Option<IpAddr>> {
        let (name, read): (&str, fn(&str) -> Option<IpAddr>) = match self.header {
            ForwardedHeader::XForwardedFor => ("x-forwarded-for", address_of_hop),
            ForwardedHeader::Forwarded => ("forwarded", address_of_element),
        };
        headers
            .get_all(name)
            .iter()
            .flat_map(|line| match line.to_str() {
                Ok(line) => line.split(',').map(read).collect::<Vec<_>>(),
                // A line that is not text hides what is behind it.
                Err(_) => vec![None],
            })
            .collect()
    }
}

/// An `X-Forwarded-For` hop: an address, possibly with a port
/// (`192.0.2.1:443`, `[2001:db8::1]:443`).
fn address_of_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
        .map(canonical)
}

/// The `for=` of one `Forwarded` element (`for=192.0.2.60;proto=https`,
/// `for="[2001:db8:cafe::17]:4711"`).
fn address_of_element(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        address_of_hop(value)
    })
}

/// IPv4 addresses as such, also when a dual-stack socket reports them mapped
/// into IPv6 (`::ffff:192.0.2.1`).
fn canonical(address: IpAddr) -> IpAddr {
    address.to_canonical()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| IpAddr::from([0, 0, 0, 0]))
    }

    fn resolver(trusted: &[&str], header: ForwardedHeader) -> ClientResolver {
        let nets: Vec<TrustedNet> = trusted.iter().filter_map(|t| t.parse().ok()).collect();
        assert_eq!(nets.len(), trusted.len(), "every trusted proxy parses");
        ClientResolver::new(&nets, header)
    }

    fn headers(name: &'static str, lines: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for line in lines {
            h.append(name, HeaderValue::from_static(line));
        }
        h
    }

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let r = resolver(&["10.0.0.0/8"], XFF);
        let claims = headers("x-forwarded-for", &["198.51.100.7"]);
        assert_eq!(r.client(ip("192.0.2.1"), &claims), ip("192.0.2.1"));
        let nobody = ClientResolver::default();
        assert_eq!(nobody.client(ip("10.0.0.1"), &claims), ip("10.0.0.1"));
    }

    #[test]
    fn a_trusted_peer_forwards_for_the_rightmost_untrusted_hop() {
        let r = resolver(&["10.0.0.0/8", "192.0.2.10"], XFF);
        // The client wrote 203.0.113.9 itself; the first proxy (192.0.2.10)
        // appended the address it saw, 198.51.100.7; the second, 10.0.0.2,
        // appended 192.0.2.10 and connected to us.
        let h = headers(
            "x-forwarded-for",
            &["203.0.113.9, 198.51.100.7", "192.0.2.10"],
        );
        assert_eq!(r.client(ip("10.0.0.2"), &h), ip("198.51.100.7"));
        // A trusted peer that forwards nothing is the client itself.
        assert_eq!(r.client(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
        // Every hop trusted: the leftmost is as far as can be known.
        let all = headers("x-forwarded-for", &["10.1.1.1, 10.2.2.2"]);
        assert_eq!(r.client(ip("10.0.0.2"), &all), ip("10.1.1.1"));
    }

    #[test]
    fn a_hop_that_is_not_an_address_ends_the_walk() {
        let r = resolver(&["10.0.0.0/8"], XFF);
        let h = headers("x-forwarded-for", &["198.51.100.7, unknown, 10.0.0.5"]);
        assert_eq!(r.client(ip("10.0.0.2"), &h), ip("10.0.0.5"));
        let h = headers("x-forwarded-for", &["198.51.100.7, nonsense"]);
        assert_eq!(r.client(ip("10.0.0.2"), &h), ip("10.0.0.2"));
    }

    #[test]
    fn hops_with_ports_brackets_and_mapped_addresses_are_read() {
        let r = resolver(&["10.0.0.0/8", "::1"], XFF);
        for (hop, client) in [
            ("198.51.100.7:4711", "198.51.100.7"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::2]", "2001:db8::2"),
            (" 2001:db8::3 ", "2001:db8::3"),
            ("::ffff:198.51.100.8", "198.51.100.8"),
        ] {
            let h = headers("x-forwarded-for", &[hop]);
            assert_eq!(r.client(ip("10.0.0.2"), &h), ip(client), "{hop}");
        }
        // A dual-stack socket's mapped peer is trusted by its IPv4 network.
        let h = headers("x-forwarded-for", &["198.51.100.7"]);
        assert_eq!(r.client(ip("::ffff:10.0.0.2"), &h), ip("198.51.100.7"));
        assert_eq!(r.client(ip("::1"), &h), ip("198.51.100.7"));
    }

    #[test]
    fn the_forwarded_header_is_read_only_when_named() {
        let h = {
            let mut h = headers(
                "forwarded",
                &[r#"for=198.51.100.7;proto=https, For="[2001:db8:cafe::17]:4711";by=10.0.0.9"#],
            );
            h.append("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
            h
        };
        let forwarded = resolver(&["10.0.0.0/8"], ForwardedHeader::Forwarded);
        assert_eq!(
            forwarded.client(ip("10.0.0.2"), &h),
            ip("2001:db8:cafe::17")
        );
        let xff = resolver(&["10.0.0.0/8"], XFF);
        assert_eq!(xff.client(ip("10.0.0.2"), &h), ip("203.0.113.9"));
        // An element without `for`, or an obfuscated one, ends the walk.
        let hidden = headers("forwarded", &["for=198.51.100.7, for=_hidden"]);
        assert_eq!(forwarded.client(ip("10.0.0.2"), &hidden), ip("10.0.0.2"));
        let no_for = headers("forwarded", &["for=198.51.100.7, proto=http"]);
        assert_eq!(forwarded.client(ip("10.0.0.2"), &no_for), ip("10.0.0.2"));
    }

    #[test]
    fn trusted_proxies_parse_as_addresses_or_networks() {
        let net = |s: &str| s.parse::<TrustedNet>();
        assert_eq!(net("10.0.0.1"), net("10.0.0.1/32"));
        assert_eq!(net("10.1.2.3/8"), net("10.0.0.0/8"), "host bits dropped");
        assert_eq!(net(" fd00::/8 "), net("fd00::/8"));
        assert_eq!(net("::ffff:10.0.0.1"), net("10.0.0.1/32"));
        for bad in ["", "10.0.0.0/33", "proxy.internal", "10.0.0"] {
            assert!(net(bad).is_err(), "{bad:?}");
        }
    }
}
