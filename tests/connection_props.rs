//! Property tests of whole conversations: both directions with real acknowledgement
//! numbers, captured with the directions shuffled against each other (each direction's own
//! order kept, as a mirror port's queues keep it). The dialogue handed on equals the one
//! the hosts lived, with no gap when no byte was removed; removed segments come back as
//! gaps of exactly their size.

use proptest::prelude::*;
use smtpcap::internals::packet::{TcpFlags, TcpSegment};
use smtpcap::internals::tcp::{ConnectionTable, SegmentMeta, StreamEvent, StreamSink, TableLimits};
use smtpcap::Timestamp;
use smtpcap::{Endpoint, Side};

const C: Endpoint = Endpoint {
    ip: std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 10)),
    port: 40000,
};
const S: Endpoint = Endpoint {
    ip: std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 25)),
    port: 25,
};

/// What the sink got: data runs per side in delivery order, and gaps.
#[derive(Default)]
struct Log {
    turns: Vec<(Side, Vec<u8>)>,
    gaps: Vec<(Side, u64)>,
}

impl StreamSink for Log {
    fn event(&mut self, side: Side, _f: u64, _t: Timestamp, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Data(d) => match self.turns.last_mut() {
                Some((s, v)) if *s == side => v.extend_from_slice(d),
                _ => self.turns.push((side, d.to_vec())),
            },
            StreamEvent::Gap { len, .. } => self.gaps.push((side, len)),
        }
    }
}

#[derive(Clone, Debug)]
struct Packet {
    client: bool,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    payload: Vec<u8>,
}

const fn flags(syn: bool, fin: bool) -> TcpFlags {
    TcpFlags {
        syn,
        ack: true,
        fin,
        rst: false,
    }
}

/// A lock-step conversation: the server greets, then they alternate; each message is cut
/// into segments of at most `mss` bytes, and the receiver acknowledges what it got before
/// it answers.
fn conversation(messages: &[Vec<u8>], mss: usize, isn: [u32; 2]) -> Vec<Packet> {
    let mut next = [isn[0].wrapping_add(1), isn[1].wrapping_add(1)];
    let mut out = vec![
        Packet {
            client: true,
            seq: isn[0],
            ack: 0,
            flags: TcpFlags {
                syn: true,
                ack: false,
                fin: false,
                rst: false,
            },
            payload: Vec::new(),
        },
        Packet {
            client: false,
            seq: isn[1],
            ack: next[0],
            flags: flags(true, false),
            payload: Vec::new(),
        },
        Packet {
            client: true,
            seq: next[0],
            ack: next[1],
            flags: flags(false, false),
            payload: Vec::new(),
        },
    ];
    for (m, msg) in messages.iter().enumerate() {
        // Server first (the greeting), then alternating.
        let client = m % 2 == 1;
        let (me, peer) = if client { (0, 1) } else { (1, 0) };
        for piece in msg.chunks(mss) {
            out.push(Packet {
                client,
                seq: next[me],
                ack: next[peer],
                flags: flags(false, false),
                payload: piece.to_vec(),
            });
            next[me] = next[me].wrapping_add(piece.len() as u32);
        }
        // The peer's acknowledgement of the whole message.
        out.push(Packet {
            client: !client,
            seq: next[peer],
            ack: next[me],
            flags: flags(false, false),
            payload: Vec::new(),
        });
    }
    for client in [true, false] {
        let (me, peer) = if client { (0, 1) } else { (1, 0) };
        out.push(Packet {
            client,
            seq: next[me],
            ack: next[peer],
            flags: flags(false, true),
            payload: Vec::new(),
        });
        next[me] = next[me].wrapping_add(1);
    }
    out.push(Packet {
        client: true,
        seq: next[0],
        ack: next[1],
        flags: flags(false, false),
        payload: Vec::new(),
    });
    out
}

/// The capture's order: each packet delayed by up to `window` places, each direction's
/// own order kept.
fn mirror_order(packets: &[Packet], delays: &[usize], window: usize) -> Vec<Packet> {
    let mut last = [0usize; 2];
    let mut keyed: Vec<(usize, usize, Packet)> = packets
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let d = usize::from(p.client);
            let key = (i + delays[i % delays.len()] % (window + 1)).max(last[d]);
            last[d] = key;
            (key, i, p.clone())
        })
        .collect();
    keyed.sort_by_key(|(k, i, _)| (*k, *i));
    keyed.into_iter().map(|(_, _, p)| p).collect()
}

fn run(packets: &[Packet]) -> Log {
    let mut t: ConnectionTable<Log> = ConnectionTable::new(TableLimits::default(), |p| p == 25);
    for (i, p) in packets.iter().enumerate() {
        let (src, dst) = if p.client { (C, S) } else { (S, C) };
        let meta = SegmentMeta {
            frame: i as u64 + 1,
            time: Timestamp::new(1_000, i as u32 * 1000),
            src,
            dst,
            src_mac: None,
        };
        let seg = TcpSegment {
            src_port: src.port,
            dst_port: dst.port,
            seq: p.seq,
            ack: p.ack,
            flags: p.flags,
            payload: &p.payload,
            missing: 0,
        };
        t.segment(&meta, &seg, |_, _, _| Log::default());
    }
    let mut all = Vec::new();
    t.finish_all(|c| all.push(c));
    assert_eq!(all.len(), 1, "one conversation");
    all.pop().map(|c| c.sink).unwrap_or_default()
}

fn messages() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 1..3000), 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_mirror_port_shuffle_gives_the_dialogue_as_lived(
        msgs in messages(),
        mss in 200usize..1500,
        isn in any::<[u32; 2]>(),
        delays in prop::collection::vec(0usize..64, 1..64),
        window in 0usize..12,
    ) {
        let packets = conversation(&msgs, mss, isn);
        let log = run(&mirror_order(&packets, &delays, window));
        prop_assert!(log.gaps.is_empty(), "gaps {:?}", log.gaps);
        let expected: Vec<(Side, Vec<u8>)> = msgs
            .iter()
            .enumerate()
            .map(|(m, v)| (if m % 2 == 1 { Side::Client } else { Side::Server }, v.clone()))
            .collect();
        prop_assert_eq!(log.turns, expected);
    }

    #[test]
    fn removed_segments_are_gaps_of_their_size_under_a_shuffle(
        msgs in messages(),
        mss in 200usize..1500,
        isn in any::<[u32; 2]>(),
        delays in prop::collection::vec(0usize..64, 1..64),
        window in 0usize..12,
        drop_mask in any::<u64>(),
    ) {
        let packets = conversation(&msgs, mss, isn);
        let mut removed = [0u64; 2];
        let kept: Vec<Packet> = packets
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                let drop = !p.payload.is_empty() && drop_mask >> (i % 64) & 1 == 1;
                if drop {
                    removed[usize::from(!p.client)] += p.payload.len() as u64;
                }
                !drop
            })
            .map(|(_, p)| p.clone())
            .collect();
        let order = mirror_order(&kept, &delays, window);
        let log = run(&order);
        let mut gaps = [0u64; 2];
        for (side, len) in &log.gaps {
            gaps[usize::from(*side == Side::Server)] += len;
        }
        prop_assert_eq!(gaps, removed);
        let delivered: u64 = log.turns.iter().map(|(_, v)| v.len() as u64).sum();
        let total: u64 = msgs.iter().map(|m| m.len() as u64).sum();
        prop_assert_eq!(delivered + removed[0] + removed[1], total);
    }
}
