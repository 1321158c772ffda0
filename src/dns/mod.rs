//! Stage 4: DNS lookups (UDP port 53), parsed with simple-dns: which names were asked,
//! what they resolved to, and which lookups failed.

mod names;

pub use names::{name_kind, ListAnswer, NameKind};

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::base::Endpoint;
use simple_dns::rdata::RData;
use simple_dns::{Packet, PacketFlag, RCODE};

/// One query and its answer, if the capture holds it.
#[derive(Clone, Debug)]
pub struct Lookup {
    pub frame: u64,
    pub client: Endpoint,
    pub server: Endpoint,
    pub name: String,
    pub qtype: String,
    /// Frame of the response, if seen.
    pub response_frame: Option<u64>,
    /// The response code (`NOERROR`, `NXDOMAIN`, …); null without a response.
    pub rcode: Option<Rcode>,
    pub addresses: Vec<IpAddr>,
    pub cnames: Vec<String>,
    pub mx: Vec<String>,
}

impl Lookup {
    /// The lookup failed: an error code, a response without an answer, or no response.
    pub fn failed(&self) -> bool {
        match self.rcode {
            Some(Rcode(RCODE::NoError)) => {
                self.addresses.is_empty() && self.cnames.is_empty() && self.mx.is_empty()
            }
            None | Some(_) => true,
        }
    }
}

const MAX_LOOKUPS: usize = 100_000;

/// Collects the DNS exchanges of a capture.
#[derive(Debug, Default)]
pub struct DnsLog {
    pub lookups: Vec<Lookup>,
    /// Queries waiting for an answer: (client, server, id) → index.
    pending: HashMap<(Endpoint, Endpoint, u16), usize>,
    pub malformed: u64,
    /// The name each address was looked up as, and the frame of the answer (the first
    /// successful lookup wins).
    names: HashMap<IpAddr, (String, u64)>,
}

impl DnsLog {
    pub fn datagram(&mut self, frame: u64, src: Endpoint, dst: Endpoint, payload: &[u8]) {
        let Ok(p) = Packet::parse(payload) else {
            self.malformed += 1;
            return;
        };
        let Some(q) = p.questions.first() else { return };
        if !p.has_flags(PacketFlag::RESPONSE) {
            if self.lookups.len() >= MAX_LOOKUPS {
                return;
            }
            self.pending.insert((src, dst, p.id()), self.lookups.len());
            self.lookups.push(Lookup {
                frame,
                client: src,
                server: dst,
                name: q.qname.to_string(),
                qtype: format!("{:?}", q.qtype)
                    .trim_start_matches("TYPE(")
                    .trim_end_matches(')')
                    .to_string(),
                response_frame: None,
                rcode: None,
                addresses: Vec::new(),
                cnames: Vec::new(),
                mx: Vec::new(),
            });
            return;
        }
        let Some(i) = self.pending.remove(&(dst, src, p.id())) else {
            return;
        };
        let Some(l) = self.lookups.get_mut(i) else {
            return;
        };
        l.response_frame = Some(frame);
        l.rcode = Some(Rcode(p.rcode()));
        for a in &p.answers {
            match &a.rdata {
                RData::A(x) => l.addresses.push(IpAddr::V4(Ipv4Addr::from(x.address))),
                RData::AAAA(x) => l.addresses.push(IpAddr::V6(Ipv6Addr::from(x.address))),
                RData::CNAME(c) => l.cnames.push(c.0.to_string()),
                RData::MX(m) => l.mx.push(m.exchange.to_string()),
                _ => {}
            }
        }
        for a in &l.addresses {
            self.names
                .entry(*a)
                .or_insert_with(|| (l.name.clone(), frame));
        }
    }

    /// The name `ip` was looked up as so far, and the frame of the answer.
    pub fn name_of(&self, ip: &IpAddr) -> Option<&(String, u64)> {
        self.names.get(ip)
    }
}

/// A DNS response code; shown and serialised by its mnemonic (`NXDOMAIN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rcode(pub RCODE);

impl Rcode {
    /// The answer is no error (it may still hold no address).
    pub fn is_ok(self) -> bool {
        self.0 == RCODE::NoError
    }
}

impl std::fmt::Display for Rcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            RCODE::NoError => f.write_str("NOERROR"),
            RCODE::FormatError => f.write_str("FORMERR"),
            RCODE::ServerFailure => f.write_str("SERVFAIL"),
            RCODE::NameError => f.write_str("NXDOMAIN"),
            RCODE::NotImplemented => f.write_str("NOTIMP"),
            RCODE::Refused => f.write_str("REFUSED"),
            other => write!(f, "{}", format!("{other:?}").to_uppercase()),
        }
    }
}

/// DNS over TCP (RFC 1035 §4.2.2): messages with a two-byte length, in either direction.
#[derive(Debug, Default)]
pub struct DnsOverTcp {
    buf: [Vec<u8>; 2],
    first_frame: [u64; 2],
    /// Complete messages: (from the client?, frame of the first byte, bytes).
    pub messages: Vec<(bool, u64, Vec<u8>)>,
}

const MAX_TCP_MESSAGES: usize = 10_000;

impl DnsOverTcp {
    pub fn data(&mut self, from_client: bool, data: &[u8], frame: u64) {
        let i = usize::from(!from_client);
        if self.buf[i].is_empty() {
            self.first_frame[i] = frame;
        }
        self.buf[i].extend_from_slice(data);
        loop {
            let b = &self.buf[i];
            if b.len() < 2 {
                return;
            }
            let len = usize::from(u16::from_be_bytes([b[0], b[1]]));
            if b.len() < 2 + len {
                return;
            }
            let msg = b[2..2 + len].to_vec();
            self.buf[i].drain(..2 + len);
            if self.messages.len() < MAX_TCP_MESSAGES {
                self.messages.push((from_client, self.first_frame[i], msg));
            }
            self.first_frame[i] = frame;
        }
    }

    /// Bytes are missing: the framing of this direction is lost.
    pub fn gap(&mut self, from_client: bool) {
        self.buf[usize::from(!from_client)].clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(id: u16, name: &str) -> Vec<u8> {
        let mut q = id.to_be_bytes().to_vec();
        q.extend([0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend(label.as_bytes());
        }
        q.extend([0, 0, 1, 0, 1]);
        q
    }

    fn nxdomain(id: u16, name: &str) -> Vec<u8> {
        let mut r = query(id, name);
        r[2] = 0x81;
        r[3] = 0x83;
        r
    }

    #[test]
    fn tcp_messages_split_across_segments_are_framed() {
        let mut t = DnsOverTcp::default();
        let q = query(7, "smtp.office365.co");
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend(&q);
        t.data(true, &framed[..5], 10);
        t.data(true, &framed[5..], 11);
        let r = nxdomain(7, "smtp.office365.co");
        let mut framed = (r.len() as u16).to_be_bytes().to_vec();
        framed.extend(&r);
        t.data(false, &framed, 12);
        assert_eq!(t.messages.len(), 2);
        assert_eq!((t.messages[0].0, t.messages[0].1), (true, 10));
        let mut log = DnsLog::default();
        let c = Endpoint {
            ip: "192.0.2.10".parse().unwrap(),
            port: 40000,
        };
        let s = Endpoint {
            ip: "192.0.2.53".parse().unwrap(),
            port: 53,
        };
        for (from_client, frame, m) in &t.messages {
            let (src, dst) = if *from_client { (c, s) } else { (s, c) };
            log.datagram(*frame, src, dst, m);
        }
        assert_eq!(log.lookups.len(), 1);
        assert_eq!(
            log.lookups[0].rcode.map(|r| r.to_string()).as_deref(),
            Some("NXDOMAIN")
        );
        assert!(log.lookups[0].failed());
    }
}
