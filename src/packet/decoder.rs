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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeStats {
    pub non_ip: u64,
    pub malformed: u64,
    pub truncated: u64,
    pub fragments: u64,
    pub reassembled: u64,
    /// IP datagrams given up on: fragments missing (never completed within 4,096 frames,
    /// or by the end of the capture) or overlapping inconsistently.
    pub fragments_dropped: u64,
    /// A frame of the first datagram given up on (its latest fragment).
    pub first_dropped_fragment: Option<u64>,
    /// Fragments of a datagram already reassembled: a second copy of the traffic (a
    /// SPAN session of two ports, two captures merged), not a datagram of its own.
    pub duplicate_fragments: u64,
}

/// Who sent a fragmented datagram and its identification: what its copies share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DatagramId {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
}

/// Datagrams remembered as reassembled, to recognise their copies' fragments.
const RECENT_DATAGRAMS: usize = 64;

/// Fragments older than this many frames are given up on (RFC 791 suggests seconds; frames
/// keep the bound independent of the capture's clock).
const FRAGMENT_WINDOW: u64 = 4096;
const FRAGMENT_PURGE_EVERY: u64 = 256;

/// Decodes frames into packets, reassembling IPv4 and IPv6 fragments.
pub struct PacketDecoder {
    defrag: IpDefragPool<u64, ()>,
    /// Datagrams reassembled lately, and the frame that completed each.
    recent: std::collections::VecDeque<(DatagramId, u64)>,
    reassembled: Option<IpDefragPayloadVec>,
    fragments_since_purge: u64,
    pub stats: DecodeStats,
}

impl Default for PacketDecoder {
    fn default() -> Self {
        PacketDecoder {
            defrag: IpDefragPool::new(),
            recent: std::collections::VecDeque::new(),
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
            let id = datagram_id(&ip, ip_bytes);
            if let Some(id) = id {
                let copy = self
                    .recent
                    .iter()
                    .any(|(r, at)| *r == id && frame.number.saturating_sub(*at) <= FRAGMENT_WINDOW);
                if copy {
                    self.stats.duplicate_fragments += 1;
                    return None;
                }
            }
            match self.reassemble(ip_bytes, frame.number) {
                Some(()) => {
                    missing = 0;
                    if let Some(id) = id {
                        if self.recent.len() >= RECENT_DATAGRAMS {
                            self.recent.pop_front();
                        }
                        self.recent.push_back((id, frame.number));
                    }
                    self.reassembled.as_ref().map(|b| b.payload.as_slice())?
                }
                None => return None,
            }
        } else {
            payload.payload
        };

        let transport = match proto {
            IpNumber::TCP => {
                if let Ok(tcp) = TcpSlice::from_slice(l4) {
                    Transport::Tcp(TcpSegment {
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
                    })
                } else {
                    // A header cut by the snapshot length, or garbage.
                    self.stats.malformed += 1;
                    return None;
                }
            }
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
            self.give_up_before(frame.saturating_sub(FRAGMENT_WINDOW));
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
                self.dropped(frame);
                None
            }
        }
    }

    /// Gives up on the datagrams whose latest fragment came before frame `oldest`.
    fn give_up_before(&mut self, oldest: u64) {
        // The pool keeps each datagram's latest fragment frame (unique to it) and may ask
        // the predicate twice about one datagram: collect, then count each frame once.
        let dropped = std::cell::Cell::new(Vec::new());
        self.defrag.retain(|&seen| {
            let keep = seen >= oldest;
            if !keep {
                let mut v = dropped.take();
                v.push(seen);
                dropped.set(v);
            }
            keep
        });
        let mut dropped = dropped.take();
        dropped.sort_unstable();
        dropped.dedup();
        for seen in dropped {
            self.dropped(seen);
        }
    }

    fn dropped(&mut self, frame: u64) {
        self.stats.fragments_dropped += 1;
        let first = self.stats.first_dropped_fragment.get_or_insert(frame);
        *first = (*first).min(frame);
    }

    /// The capture is over: fragments still waiting will never be completed.
    pub fn finish(&mut self) {
        self.give_up_before(u64::MAX);
    }
}

/// A fragment's datagram: IPv4's identification, or IPv6's from a fragment header that
/// directly follows the fixed header (where nearly every sender puts it).
fn datagram_id(ip: &LaxIpSlice<'_>, ip_bytes: &[u8]) -> Option<DatagramId> {
    let id = match ip {
        LaxIpSlice::Ipv4(v4) => u32::from(v4.header().identification()),
        LaxIpSlice::Ipv6(_) => {
            if *ip_bytes.get(6)? != 44 {
                return None;
            }
            u32::from_be_bytes(ip_bytes.get(44..48)?.try_into().ok()?)
        }
    };
    Some(DatagramId {
        src: ip.source_addr(),
        dst: ip.destination_addr(),
        id,
    })
}

/// The IP datagram's length according to its header.
fn claimed_ip_len(ip: &LaxIpSlice<'_>) -> usize {
    match ip {
        LaxIpSlice::Ipv4(v4) => usize::from(v4.header().total_len()),
        LaxIpSlice::Ipv6(v6) => 40 + usize::from(v6.header().payload_length()),
    }
}
