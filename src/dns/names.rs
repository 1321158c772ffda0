//! What a looked-up name is for: a host's address, a reverse lookup, a DNS blocklist
//! query (an address's bytes reversed under the list's zone) or a service record
//! (`_`-labels: DKIM, DMARC, MTA-STS, TLS-RPT).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use simple_dns::RCODE;

use super::Lookup;

/// What a name in a DNS query stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// A host or domain a client may want to reach.
    Host,
    /// A reverse lookup (`in-addr.arpa`, `ip6.arpa`).
    Reverse,
    /// A blocklist query: `address` looked up in the list at `zone`.
    Blocklist { address: IpAddr, zone: String },
    /// A record behind a `_`-label (DKIM, DMARC, MTA-STS, TLS-RPT, SRV).
    Service,
}

/// What `name` stands for.
#[must_use]
pub fn name_kind(name: &str) -> NameKind {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name.ends_with(".in-addr.arpa") || name.ends_with(".ip6.arpa") {
        return NameKind::Reverse;
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.iter().any(|l| l.starts_with('_')) {
        return NameKind::Service;
    }
    // 32 nibbles (IPv6) or four numeric labels (IPv4), reversed, then a zone.
    let nibbles: Option<Vec<u8>> = labels.get(..32).and_then(|ls| {
        ls.iter()
            .map(|l| {
                let mut b = l.bytes();
                match (b.next(), b.next()) {
                    (Some(c), None) => (c as char).to_digit(16).map(|d| d as u8),
                    _ => None,
                }
            })
            .collect()
    });
    if let Some(n) = nibbles.filter(|_| labels.len() > 33) {
        // The first label is the last byte's low nibble.
        let mut bytes = [0u8; 16];
        for (k, byte) in bytes.iter_mut().enumerate() {
            let at = 2 * (15 - k);
            *byte = (n[at + 1] << 4) | n[at];
        }
        return NameKind::Blocklist {
            address: IpAddr::V6(Ipv6Addr::from(bytes)),
            zone: labels[32..].join("."),
        };
    }
    let octets: Option<Vec<u8>> = labels.get(..4).and_then(|ls| {
        ls.iter()
            .map(|l| {
                (!l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| l.parse::<u8>().ok())
                    .flatten()
            })
            .collect()
    });
    if let Some(o) = octets.filter(|_| labels.len() > 5) {
        return NameKind::Blocklist {
            address: IpAddr::V4(Ipv4Addr::new(o[3], o[2], o[1], o[0])),
            zone: labels[4..].join("."),
        };
    }
    NameKind::Host
}

/// What a blocklist answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListAnswer {
    /// NXDOMAIN: the address is not on the list.
    NotListed,
    /// 127.0.0.x: listed, with the list's code.
    Listed(u8),
    /// 127.255.255.x: the list refused the query (a public resolver, over quota).
    QueryRefused,
    /// Any other answer, or none.
    Unclear,
}

impl ListAnswer {
    #[must_use]
    pub fn of(l: &Lookup) -> ListAnswer {
        match l.rcode.map(|r| r.0) {
            Some(RCODE::NameError) => ListAnswer::NotListed,
            Some(RCODE::NoError) => {
                let v4 = l.addresses.iter().find_map(|a| match a {
                    IpAddr::V4(v) => Some(v.octets()),
                    IpAddr::V6(_) => None,
                });
                match v4 {
                    Some([127, 255, 255, _]) => ListAnswer::QueryRefused,
                    Some([127, 0, 0, x]) => ListAnswer::Listed(x),
                    _ => ListAnswer::Unclear,
                }
            }
            _ => ListAnswer::Unclear,
        }
    }

    /// `not listed`, `listed (127.0.0.2)`, `the list refused the query`, `no clear answer`.
    #[must_use]
    pub fn describe(self) -> String {
        match self {
            ListAnswer::NotListed => "not listed".into(),
            ListAnswer::Listed(x) => format!("listed (127.0.0.{x})"),
            ListAnswer::QueryRefused => "the list refused the query".into(),
            ListAnswer::Unclear => "no clear answer in the capture".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_told_apart() {
        assert_eq!(
            name_kind("1.36.168.192.bl.mailspike.net."),
            NameKind::Blocklist {
                address: "192.168.36.1".parse().unwrap(),
                zone: "bl.mailspike.net".into()
            }
        );
        let v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org";
        assert_eq!(
            name_kind(v6),
            NameKind::Blocklist {
                address: "2001:db8::1".parse().unwrap(),
                zone: "zen.spamhaus.org".into()
            }
        );
        assert_eq!(name_kind("1.36.168.192.in-addr.arpa"), NameKind::Reverse);
        assert_eq!(name_kind("s1._domainkey.example.com"), NameKind::Service);
        assert_eq!(name_kind("_mta-sts.example.com"), NameKind::Service);
        assert_eq!(name_kind("smtp.office365.com"), NameKind::Host);
        // A host whose name starts with digits is a host.
        assert_eq!(name_kind("123.mail.example.com"), NameKind::Host);
        assert_eq!(name_kind("1.2.3.400.example.com"), NameKind::Host);
    }
}
