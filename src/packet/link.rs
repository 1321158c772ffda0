use crate::base::MacAddr;
use crate::capture::LinkType;

/// The network protocol found under the link layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetProto {
    Ipv4,
    Ipv6,
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const VLAN_TAGS: [u16; 3] = [0x8100, 0x88a8, 0x9100];
const MAX_TAGS: usize = 8;

/// Strips the link layer: returns the network protocol and the offset of its header,
/// or `None` for frames that carry no IP (ARP, STP, unknown link types, runts).
pub fn strip_link(link: LinkType, data: &[u8]) -> Option<(NetProto, usize)> {
    match link {
        LinkType::ETHERNET => ether_type_chain(data, 12),
        LinkType::LINUX_SLL => ether_type_chain(data, 14),
        LinkType::LINUX_SLL2 => ether_type_chain_at(data, 0, 20),
        LinkType::NULL | LinkType::LOOP => {
            let b: [u8; 4] = data.get(..4)?.try_into().ok()?;
            // NULL is in the capturing host's byte order, LOOP in network order.
            let family = if link == LinkType::LOOP {
                u32::from_be_bytes(b)
            } else {
                let le = u32::from_le_bytes(b);
                if le <= 0xffff {
                    le
                } else {
                    u32::from_be_bytes(b)
                }
            };
            match family {
                2 => Some((NetProto::Ipv4, 4)),
                10 | 24 | 28 | 30 => Some((NetProto::Ipv6, 4)),
                _ => None,
            }
        }
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 | LinkType(12 | 14) => {
            match data.first()? >> 4 {
                4 => Some((NetProto::Ipv4, 0)),
                6 => Some((NetProto::Ipv6, 0)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The sender's link-layer address, where the link type carries one (Ethernet, and the
/// Linux cooked headers for Ethernet interfaces). The all-zero address of loopback is none.
pub fn source_mac(link: LinkType, data: &[u8]) -> Option<MacAddr> {
    const ARPHRD_ETHER: u16 = 1;
    let hw = |at: usize| {
        u16::from_be_bytes([
            data.get(at).copied().unwrap_or(0),
            data.get(at + 1).copied().unwrap_or(0),
        ])
    };
    let at = match link {
        LinkType::ETHERNET => 6,
        // SLL: packet type, ARPHRD type, address length, address (8 bytes).
        LinkType::LINUX_SLL if hw(2) == ARPHRD_ETHER && hw(4) == 6 => 6,
        // SLL2: protocol, reserved, interface index, ARPHRD type, packet type, length, address.
        LinkType::LINUX_SLL2 if hw(8) == ARPHRD_ETHER && data.get(11) == Some(&6) => 12,
        _ => return None,
    };
    let mac: [u8; 6] = data.get(at..at + 6)?.try_into().ok()?;
    (mac != [0; 6]).then_some(MacAddr(mac))
}

/// Ethernet-style: the `EtherType` at `type_at`, the payload right after it.
fn ether_type_chain(data: &[u8], type_at: usize) -> Option<(NetProto, usize)> {
    ether_type_chain_at(data, type_at, type_at + 2)
}

fn ether_type_chain_at(
    data: &[u8],
    type_at: usize,
    mut payload_at: usize,
) -> Option<(NetProto, usize)> {
    let read = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
    };
    let mut ether_type = read(type_at)?;
    // 802.1Q, 802.1ad (QinQ) and the old 0x9100 tag: 2 bytes TCI, then the next EtherType.
    for _ in 0..MAX_TAGS {
        if !VLAN_TAGS.contains(&ether_type) {
            break;
        }
        ether_type = read(payload_at + 2)?;
        payload_at += 4;
    }
    match ether_type {
        ETH_IPV4 => Some((NetProto::Ipv4, payload_at)),
        ETH_IPV6 => Some((NetProto::Ipv6, payload_at)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(tags: &[u16], inner: u16) -> Vec<u8> {
        let mut v = vec![0u8; 12];
        for t in tags {
            v.extend_from_slice(&t.to_be_bytes());
            v.extend_from_slice(&[0x00, 0x7d]);
        }
        v.extend_from_slice(&inner.to_be_bytes());
        v.push(0x45);
        v
    }

    #[test]
    fn ethernet_plain_vlan_and_qinq() {
        assert_eq!(
            strip_link(LinkType::ETHERNET, &eth(&[], ETH_IPV4)),
            Some((NetProto::Ipv4, 14))
        );
        assert_eq!(
            strip_link(LinkType::ETHERNET, &eth(&[0x8100], ETH_IPV6)),
            Some((NetProto::Ipv6, 18))
        );
        assert_eq!(
            strip_link(LinkType::ETHERNET, &eth(&[0x88a8, 0x8100], ETH_IPV4)),
            Some((NetProto::Ipv4, 22))
        );
        assert_eq!(strip_link(LinkType::ETHERNET, &eth(&[], 0x0806)), None);
    }

    #[test]
    fn null_loopback_both_byte_orders() {
        assert_eq!(
            strip_link(LinkType::NULL, &[2, 0, 0, 0, 0x45]),
            Some((NetProto::Ipv4, 4))
        );
        assert_eq!(
            strip_link(LinkType::NULL, &[0, 0, 0, 30, 0x60]),
            Some((NetProto::Ipv6, 4))
        );
        assert_eq!(
            strip_link(LinkType::LOOP, &[0, 0, 0, 2, 0x45]),
            Some((NetProto::Ipv4, 4))
        );
    }

    #[test]
    fn sll_and_sll2() {
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&ETH_IPV4.to_be_bytes());
        assert_eq!(
            strip_link(LinkType::LINUX_SLL, &sll),
            Some((NetProto::Ipv4, 16))
        );
        let mut sll2 = ETH_IPV6.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0u8; 18]);
        assert_eq!(
            strip_link(LinkType::LINUX_SLL2, &sll2),
            Some((NetProto::Ipv6, 20))
        );
    }

    #[test]
    fn runts_are_not_ip() {
        assert_eq!(strip_link(LinkType::ETHERNET, &[0u8; 5]), None);
        assert_eq!(strip_link(LinkType::RAW, &[]), None);
    }
}
