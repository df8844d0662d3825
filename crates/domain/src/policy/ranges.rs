//! Where a credential works: lists of address ranges (Stripe's, Unkey's and
//! dbt Cloud's IP restrictions), kept by an account, a service account and
//! a key. A key works from an address only if every one of the three that
//! has a list holds the address; one with none allows anywhere.
//!
//! A list is checked whole when it is given ([`AddressRanges::parse`]):
//! at most [`MAX_RANGES`] networks in CIDR notation (or single addresses),
//! none with host bits set, none wider than `/8` for IPv4 or `/16` for
//! IPv6 (so never `0.0.0.0/0`: no list at all means anywhere), an IPv4
//! network written as IPv4-mapped IPv6 read as the IPv4 network it is. A
//! service account's list lies within its account's, and a key's within
//! both ([`AddressRanges::within`]). The account's list may narrow later;
//! then what its service accounts and keys name outside it no longer works.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net};

use crate::base::error::{DomainError, DomainResult};

/// Networks a list holds at most.
pub const MAX_RANGES: usize = 20;
/// The longest entry read, in characters (the longest IPv6 network is 43).
const MAX_ENTRY_LEN: usize = 64;
/// The widest prefixes a list may name.
const WIDEST_V4: u8 = 8;
const WIDEST_V6: u8 = 16;

/// A list of networks, in the order given, none twice. A stored list that no
/// longer parses holds what of it does (possibly nothing: then it admits no
/// address), never more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressRanges(Arc<[IpNet]>);

/// The address as ranges compare it: an IPv4-mapped IPv6 address is the IPv4
/// address it carries.
fn canonical(address: IpAddr) -> IpAddr {
    address.to_canonical()
}

/// A network given as `entry`, checked as the module says.
fn network(field: &str, entry: &str) -> DomainResult<IpNet> {
    let entry = entry.trim();
    if entry.is_empty() || entry.len() > MAX_ENTRY_LEN {
        return Err(DomainError::invalid(format!(
            "{field}: each range is a network such as 203.0.113.0/24 or 2001:db8::/32, of at most {MAX_ENTRY_LEN} characters"
        )));
    }
    let net = match (entry.parse::<IpNet>(), entry.parse::<IpAddr>()) {
        (Ok(net), _) => net,
        (_, Ok(address)) => IpNet::from(address),
        _ => {
            return Err(DomainError::invalid(format!(
                "{field}: {entry:?} is not a network in CIDR notation (such as 203.0.113.0/24 or 2001:db8::/32) nor an address"
            )));
        }
    };
    let net = mapped_to_v4(net);
    if net.trunc() != net {
        return Err(DomainError::invalid(format!(
            "{field}: {entry:?} has bits set past its prefix: write {}",
            net.trunc()
        )));
    }
    let widest = match net {
        IpNet::V4(_) => WIDEST_V4,
        IpNet::V6(_) => WIDEST_V6,
    };
    if net.prefix_len() < widest {
        return Err(DomainError::invalid(format!(
            "{field}: {entry:?} is wider than /{widest}; to allow every address, leave the ranges unset"
        )));
    }
    Ok(net)
}

/// An IPv6 network inside `::ffff:0:0/96` as the IPv4 network it covers.
fn mapped_to_v4(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
        && let Ok(mapped) = Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(mapped);
    }
    net
}

impl AddressRanges {
    /// The list given for `field`, checked; `None` for no list (anywhere).
    /// An empty list is refused: it would mean nowhere, which no one means.
    pub fn parse<S: AsRef<str>>(field: &str, given: Option<&[S]>) -> DomainResult<Option<Self>> {
        let Some(given) = given else {
            return Ok(None);
        };
        if given.is_empty() {
            return Err(DomainError::invalid(format!(
                "{field}: give at least one range, or null to allow every address"
            )));
        }
        if given.len() > MAX_RANGES {
            return Err(DomainError::invalid(format!(
                "{field}: at most {MAX_RANGES} ranges, {} given",
                given.len()
            )));
        }
        let mut nets: Vec<IpNet> = Vec::with_capacity(given.len());
        for entry in given {
            let net = network(field, entry.as_ref())?;
            if !nets.contains(&net) {
                nets.push(net);
            }
        }
        Ok(Some(Self(nets.into())))
    }

    /// The list a column holds (`None`: no list).
    pub(crate) fn from_stored(stored: Option<&str>) -> Option<Self> {
        let stored = stored?.trim();
        if stored.is_empty() {
            return None;
        }
        let nets: Vec<IpNet> = stored
            .split_whitespace()
            .filter_map(|entry| entry.parse::<IpNet>().ok())
            .collect();
        Some(Self(nets.into()))
    }

    /// The list as a column holds it.
    pub(crate) fn stored(&self) -> String {
        self.texts().join(" ")
    }

    /// Each network as text, in order.
    pub fn texts(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// Whether one of the networks holds `address`.
    pub fn admits(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|net| net.contains(&address))
    }

    /// Refuses a list that names anything outside `outer` (the list of the
    /// account, or of the service account), saying which range and where.
    pub fn within(&self, field: &str, outer: &Self, outer_name: &str) -> DomainResult<()> {
        match self
            .0
            .iter()
            .find(|net| !outer.0.iter().any(|o| o.contains(*net)))
        {
            None => Ok(()),
            Some(net) => Err(DomainError::invalid(format!(
                "{field}: {net} is not within the {outer_name}'s ranges ({})",
                outer.texts().join(", ")
            ))),
        }
    }
}

/// The lists a key's verification checks: its account's, its service
/// account's and its own. A level with no list allows anywhere.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedFrom {
    levels: Vec<AddressRanges>,
}

impl AllowedFrom {
    /// The lists of the three levels, from the columns that hold them.
    pub(crate) fn stored(account: Option<&str>, sa: Option<&str>, key: Option<&str>) -> Self {
        Self {
            levels: [account, sa, key]
                .into_iter()
                .filter_map(AddressRanges::from_stored)
                .collect(),
        }
    }

    /// Whether a request from `client` may use the credential. An unknown
    /// client is admitted only where nothing is restricted.
    pub fn admits(&self, client: Option<IpAddr>) -> bool {
        match client {
            None => self.levels.is_empty(),
            Some(address) => self.levels.iter().all(|level| level.admits(address)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(given: &[&str]) -> DomainResult<Option<AddressRanges>> {
        AddressRanges::parse("allowedRanges", Some(given))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn refusal(given: &[&str]) -> String {
        parsed(given).unwrap_err().to_string()
    }

    #[test]
    fn a_list_holds_networks_and_addresses_once_each_in_order() {
        let list = parsed(&[
            "203.0.113.0/24",
            " 2001:db8::/32 ",
            "198.51.100.7",
            "203.0.113.0/24",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            list.texts(),
            ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32"]
        );
        assert_eq!(
            list.stored(),
            "203.0.113.0/24 2001:db8::/32 198.51.100.7/32"
        );
        assert_eq!(
            AddressRanges::from_stored(Some(&list.stored())),
            Some(list.clone())
        );
        assert!(list.admits(ip("203.0.113.255")));
        assert!(list.admits(ip("2001:db8:ffff::1")));
        assert!(list.admits(ip("198.51.100.7")));
        assert!(!list.admits(ip("198.51.100.8")));
        assert!(!list.admits(ip("203.0.114.0")));
        assert!(!list.admits(ip("2001:db9::1")));
        assert_eq!(
            AddressRanges::parse::<&str>("allowedRanges", None).unwrap(),
            None
        );
    }

    #[test]
    fn an_ipv4_mapped_address_or_network_is_the_ipv4_one() {
        let list = parsed(&["::ffff:10.1.0.0/112"]).unwrap().unwrap();
        assert_eq!(list.texts(), ["10.1.0.0/16"]);
        assert!(list.admits(ip("10.1.2.3")));
        assert!(list.admits(ip("::ffff:10.1.2.3")));
        assert!(!list.admits(ip("::ffff:10.2.0.1")));
        let v4 = parsed(&["10.1.0.0/16"]).unwrap().unwrap();
        assert!(v4.admits(ip("::ffff:10.1.9.9")));
        // An address that is not mapped stays IPv6.
        assert!(!v4.admits(ip("::10.1.9.9")));
    }

    #[test]
    fn every_bad_list_is_refused_with_what_is_wrong() {
        assert!(refusal(&[]).contains("at least one range, or null"));
        let many: Vec<String> = (0..=MAX_RANGES).map(|i| format!("10.0.{i}.0/24")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(refusal(&many).contains("at most 20 ranges, 21 given"));
        assert!(parsed(&many[..MAX_RANGES]).unwrap().is_some());
        assert!(refusal(&["10.0.0.0/33"]).contains("not a network in CIDR notation"));
        assert!(refusal(&["example.com"]).contains("\"example.com\" is not a network"));
        assert!(refusal(&[""]).contains("at most 64 characters"));
        assert!(refusal(&[&"1".repeat(65)]).contains("at most 64 characters"));
        // 64 characters are read, and found to be no network.
        assert!(refusal(&[&"1".repeat(64)]).contains("is not a network"));
        assert!(refusal(&["10.0.0.1/8"]).contains("write 10.0.0.0/8"));
        assert!(refusal(&["0.0.0.0/0"]).contains("wider than /8"));
        assert!(refusal(&["::/0"]).contains("wider than /16"));
        assert!(refusal(&["::ffff:0.0.0.0/96"]).contains("wider than /8"));
        assert!(parsed(&["10.0.0.0/8", "2001::/16"]).unwrap().is_some());
        assert!(refusal(&["10.0.0.0/7"]).contains("wider than /8"));
        assert!(refusal(&["2000::/15"]).contains("wider than /16"));
    }

    #[test]
    fn a_list_lies_within_another_only_if_each_network_does() {
        let outer = parsed(&["10.0.0.0/8", "2001:db8::/32"]).unwrap().unwrap();
        let inner = parsed(&["10.1.0.0/16", "2001:db8:1::/48", "10.0.0.0/8"])
            .unwrap()
            .unwrap();
        assert!(inner.within("allowedRanges", &outer, "account").is_ok());
        let wider = parsed(&["10.1.0.0/16", "11.0.0.0/8"]).unwrap().unwrap();
        let e = wider
            .within("allowedRanges", &outer, "account")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("11.0.0.0/8 is not within the account's ranges (10.0.0.0/8, 2001:db8::/32)"),
            "{e}"
        );
    }

    #[test]
    fn a_key_works_only_where_every_level_with_a_list_allows() {
        let anywhere = AllowedFrom::stored(None, None, Some(""));
        assert!(anywhere.admits(None));
        assert!(anywhere.admits(Some(ip("192.0.2.1"))));
        let three =
            AllowedFrom::stored(Some("10.0.0.0/8"), Some("10.1.0.0/16"), Some("10.1.2.0/24"));
        assert!(three.admits(Some(ip("10.1.2.3"))));
        assert!(!three.admits(Some(ip("10.1.3.1"))));
        assert!(!three.admits(Some(ip("10.2.2.3"))));
        assert!(!three.admits(None));
        // A key's list that the account's narrowed past works only where both do.
        let narrowed = AllowedFrom::stored(Some("10.9.0.0/16"), None, Some("10.1.2.0/24"));
        assert!(!narrowed.admits(Some(ip("10.1.2.3"))));
        assert!(!narrowed.admits(Some(ip("10.9.0.1"))));
        // A stored list that no longer parses admits what of it does, never more.
        let broken = AllowedFrom::stored(None, Some("not-a-network 10.1.0.0/16"), None);
        assert!(broken.admits(Some(ip("10.1.0.1"))));
        assert!(!broken.admits(Some(ip("10.2.0.1"))));
        assert!(!AllowedFrom::stored(Some("garbage"), None, None).admits(Some(ip("10.1.0.1"))));
    }
}
