use std::net::IpAddr;

use etherparse::defrag::{IpDefragPayloadVec, IpDefragPool};
use etherparse::{IpNumber, LaxIpSlice, SlicedPacket, TcpSlice};

use super::link::strip_link;
use crate::capture::Frame;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

#[derive(Debug)]
pub struct TcpSegment<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// The payload bytes the capture holds.
    pub payload: &'a [u8],
    /// Payload bytes the packet carried beyond `payload` (cut by the snapshot length).
    pub missing: u32,
}

#[derive(Debug)]
pub struct UdpDatagram<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: &'a [u8],
    pub missing: u32,
}

#[derive(Debug)]
pub enum Transport<'a> {
    Tcp(TcpSegment<'a>),
    Udp(UdpDatagram<'a>),
    Other,
}

#[derive(Debug)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub transport: Transport<'a>,
}

/// What the decoder saw and could not use, for the report's capture facts.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DecodeStats {
    pub non_ip: u64,
    pub malformed: u64,
    pub truncated: u64,
    pub fragments: u64,
    pub reassembled: u64,
    pub fragments_dropped: u64,
}

/// Fragments older than this many frames are given up on (RFC 791 suggests seconds; frames
/// keep the bound independent of the capture's clock).
const FRAGMENT_WINDOW: u64 = 4096;
const FRAGMENT_PURGE_EVERY: u64 = 256;

/// Decodes frames into packets, reassembling IPv4 and IPv6 fragments.
pub struct PacketDecoder {
    defrag: IpDefragPool<u64, ()>,
    reassembled: Option<IpDefragPayloadVec>,
    fragments_since_purge: u64,
    pub stats: DecodeStats,
}

impl Default for PacketDecoder {
    fn default() -> Self {
        PacketDecoder {
            defrag: IpDefragPool::new(),
            reassembled: None,
            fragments_since_purge: 0,
            stats: DecodeStats::default(),
        }
    }
}

impl PacketDecoder {
    pub fn decode<'s>(&'s mut self, frame: &'s Frame<'s>) -> Option<Packet<'s>> {
        if let Some(buf) = self.reassembled.take() {
            self.defrag.return_buf(buf);
        }
        let Some((_, at)) = strip_link(frame.link_type, frame.data) else {
            self.stats.non_ip += 1;
            return None;
        };
        let ip_bytes = frame.data.get(at..)?;
        let Ok((ip, _)) = LaxIpSlice::from_slice(ip_bytes) else {
            self.stats.malformed += 1;
            return None;
        };
        let src = ip.source_addr();
        let dst = ip.destination_addr();
        let claimed = claimed_ip_len(&ip);
        let payload = ip.payload();
        let proto = payload.ip_number;
        let mut missing = claimed.saturating_sub(ip_bytes.len()) as u32;
        if payload.incomplete || missing > 0 {
            self.stats.truncated += 1;
        }

        let l4: &'s [u8] = if ip.is_fragmenting_payload() {
            self.stats.fragments += 1;
            match self.reassemble(ip_bytes, frame.number) {
                Some(()) => {
                    missing = 0;
                    self.reassembled.as_ref().map(|b| b.payload.as_slice())?
                }
                None => return None,
            }
        } else {
            payload.payload
        };

        let transport = match proto {
            IpNumber::TCP => match TcpSlice::from_slice(l4) {
                Ok(tcp) => Transport::Tcp(TcpSegment {
                    src_port: tcp.source_port(),
                    dst_port: tcp.destination_port(),
                    seq: tcp.sequence_number(),
                    ack: tcp.acknowledgment_number(),
                    flags: TcpFlags {
                        syn: tcp.syn(),
                        ack: tcp.ack(),
                        fin: tcp.fin(),
                        rst: tcp.rst(),
                    },
                    payload: tcp.payload(),
                    missing,
                }),
                Err(_) => {
                    // A header cut by the snapshot length, or garbage.
                    self.stats.malformed += 1;
                    return None;
                }
            },
            IpNumber::UDP => {
                if l4.len() < 8 {
                    self.stats.malformed += 1;
                    return None;
                }
                let port = |i: usize| u16::from_be_bytes([l4[i], l4[i + 1]]);
                let udp_len = usize::from(port(4)).max(8);
                let end = udp_len.min(l4.len());
                Transport::Udp(UdpDatagram {
                    src_port: port(0),
                    dst_port: port(2),
                    payload: &l4[8..end],
                    missing: udp_len.saturating_sub(l4.len()) as u32,
                })
            }
            _ => Transport::Other,
        };
        Some(Packet {
            src,
            dst,
            transport,
        })
    }

    fn reassemble(&mut self, ip_bytes: &[u8], frame: u64) -> Option<()> {
        self.fragments_since_purge += 1;
        if self.fragments_since_purge >= FRAGMENT_PURGE_EVERY {
            self.fragments_since_purge = 0;
            let oldest = frame.saturating_sub(FRAGMENT_WINDOW);
            let dropped = std::cell::Cell::new(0u64);
            self.defrag.retain(|&seen| {
                let keep = seen >= oldest;
                dropped.set(dropped.get() + u64::from(!keep));
                keep
            });
            self.stats.fragments_dropped += dropped.get();
        }
        let Ok(sliced) = SlicedPacket::from_ip(ip_bytes) else {
            self.stats.malformed += 1;
            return None;
        };
        match self.defrag.process_sliced_packet(&sliced, frame, ()) {
            Ok(Some(buf)) => {
                self.stats.reassembled += 1;
                self.reassembled = Some(buf);
                Some(())
            }
            Ok(None) => None,
            Err(_) => {
                // Overlapping or inconsistent fragments: RFC 5722 says drop the datagram.
                self.stats.fragments_dropped += 1;
                None
            }
        }
    }
}

/// The IP datagram's length according to its header.
fn claimed_ip_len(ip: &LaxIpSlice<'_>) -> usize {
    match ip {
        LaxIpSlice::Ipv4(v4) => usize::from(v4.header().total_len()),
        LaxIpSlice::Ipv6(v6) => 40 + usize::from(v6.header().payload_length()),
    }
}
