use std::collections::hash_map::Entry;
use std::net::IpAddr;

use rustc_hash::FxHashMap;

use super::connection::Connection;
use super::sink::{SegmentMeta, StreamSink};
use crate::base::{Endpoint, Timestamp};
use crate::packet::TcpSegment;

/// Bounds on the state kept, whatever the traffic.
#[derive(Clone, Copy, Debug)]
pub struct TableLimits {
    pub max_connections: usize,
    /// Out-of-order bytes held per direction before a hole is declared missing.
    pub max_pending_bytes: u64,
    /// Seconds of capture time after which an idle open conversation is closed.
    pub idle_open_secs: i64,
    /// Seconds after its close (or of silence, if half-open) a conversation is kept for late packets.
    pub idle_closed_secs: i64,
}

impl Default for TableLimits {
    fn default() -> Self {
        TableLimits {
            // About 900 bytes each: 32,768 stay under 30 MiB, far more than a copier's port
            // carries at once; past it the longest idle are closed.
            max_connections: 32_768,
            max_pending_bytes: 4 << 20,
            idle_open_secs: 3600,
            idle_closed_secs: 120,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    pub connections: u64,
    /// Conversations closed early because the table was full.
    pub evicted_full: u64,
    /// Conversations closed because they were idle.
    pub evicted_idle: u64,
    /// Packets of a conversation already over (both FINs acknowledged): a late FIN or
    /// ACK, or a late copy of its data, counted and otherwise ignored.
    pub after_close: u64,
}

/// A conversation's two endpoints, in a fixed order. IPv4 endpoints (nearly every packet
/// of a copier's port) pack into two integers: one cheap hash and compare per packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    V4(u64, u64),
    Other(Endpoint, Endpoint),
}

fn key(a: Endpoint, b: Endpoint) -> Key {
    match (a.ip, b.ip) {
        (IpAddr::V4(x), IpAddr::V4(y)) => {
            let pack = |ip: std::net::Ipv4Addr, port: u16| {
                u64::from(u32::from(ip)) << 16 | u64::from(port)
            };
            let (a, b) = (pack(x, a.port), pack(y, b.port));
            Key::V4(a.min(b), a.max(b))
        }
        _ if a <= b => Key::Other(a, b),
        _ => Key::Other(b, a),
    }
}

/// A pending hole is also concluded when the whole capture's clock has passed it by this
/// many times `LATE_SECS` (its own direction may have gone quiet).
const QUIET_SLACK: f64 = 10.0;

/// A conversation handed on: when, and where each side's sequence numbers ended.
#[derive(Clone, Copy, Debug)]
struct Over {
    time: Timestamp,
    /// The client's address, and the sequence number after each side's FIN.
    client: Endpoint,
    ends: [u32; 2],
}

impl Over {
    /// Whether a segment carrying data lies within what the old conversation sent: a late
    /// copy (a second capture point, a SPAN session of two ports), not a new conversation.
    fn holds(&self, src: &Endpoint, seg: &TcpSegment<'_>) -> bool {
        let end = self.ends[usize::from(*src != self.client)];
        let seg_end = seg
            .seq
            .wrapping_add(seg.payload.len() as u32)
            .wrapping_add(seg.missing);
        // Before the end, by less than 1 GiB (sequence numbers wrap).
        end.wrapping_sub(seg_end) < 1 << 30
    }
}

const SWEEP_EVERY: u64 = 8192;
/// Bytes all conversations together may hold for reordering; past it the conversations
/// holding the oldest are made to conclude, until half of it is free.
const MAX_BUFFERED: u64 = 8 << 20;
/// Seconds of quiet after a reset before the conversation is over: what the peer had in
/// flight when the RST crossed it still belongs to it.
const RESET_GRACE_SECS: f64 = 1.0;
/// Seconds of quiet after which a live conversation whose dialogue is over and one side
/// has closed is concluded.
const OVER_GRACE_SECS: f64 = 0.5;

/// All conversations of a capture, by 4-tuple.
pub struct ConnectionTable<S> {
    // FxHash: the key is a 4-tuple from the capture, hashed on every packet; SipHash's
    // flooding resistance costs a sixth of the run time and buys nothing here.
    /// Boxed: the table's slots stay small, so growing it does not copy connections.
    live: FxHashMap<Key, Box<Connection<S>>>,
    /// Conversations handed on as soon as both FINs were acknowledged, and when: their
    /// late packets are recognised instead of starting a conversation of their own.
    over: FxHashMap<Key, Over>,
    finished: Vec<Connection<S>>,
    limits: TableLimits,
    is_server_port: fn(u16) -> bool,
    since_sweep: u64,
    /// Bytes the live conversations hold for reordering.
    buffered: u64,
    pub stats: TableStats,
}

impl<S: StreamSink> ConnectionTable<S> {
    /// `is_server_port` tells which side is the server when no handshake was seen.
    pub fn new(limits: TableLimits, is_server_port: fn(u16) -> bool) -> Self {
        ConnectionTable {
            live: FxHashMap::default(),
            over: FxHashMap::default(),
            finished: Vec::new(),
            limits,
            is_server_port,
            since_sweep: 0,
            buffered: 0,
            stats: TableStats::default(),
        }
    }

    /// Adds one segment. `new_sink` makes the protocol state of a new conversation from
    /// its client, its server, and whether its start (a SYN) is in the capture.
    pub fn segment(
        &mut self,
        meta: &SegmentMeta,
        seg: &TcpSegment<'_>,
        new_sink: impl FnOnce(&Endpoint, &Endpoint, bool) -> S,
    ) {
        let k = key(meta.src, meta.dst);
        if seg.flags.syn {
            if let Some(conn) = self.live.get(&k) {
                let side = conn.side_of(&meta.src);
                if conn.is_new_attempt(side, seg.seq, seg.flags.ack) {
                    if let Some(old) = self.live.remove(&k) {
                        self.end(*old);
                    }
                }
            }
        }
        let is_server_port = self.is_server_port;
        let conn = match self.live.entry(k) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => {
                if let Some(over) = (!self.over.is_empty()).then(|| self.over.get(&k)).flatten() {
                    let carries = !seg.payload.is_empty() || seg.missing > 0;
                    if seg.flags.syn || (carries && !over.holds(&meta.src, seg)) {
                        // The 4-tuple is used again (its SYN perhaps not captured): every
                        // byte of the old conversation was acknowledged before its end.
                        self.over.remove(&k);
                    } else {
                        self.stats.after_close += 1;
                        return;
                    }
                }
                let (client, server) = roles(is_server_port, meta, seg);
                let sink = new_sink(&client, &server, seg.flags.syn);
                self.stats.connections += 1;
                let max_pending = self.limits.max_pending_bytes;
                v.insert(Box::new(Connection::new(
                    client,
                    server,
                    meta,
                    sink,
                    max_pending,
                )))
            }
        };
        let before = conn.buffered();
        conn.segment(meta, seg);
        if conn.sink.take_role_swap() {
            conn.swap_roles();
        }
        self.buffered = (self.buffered + conn.buffered()).saturating_sub(before);
        if conn.is_done() {
            self.end_done(k, meta.time);
        }
        if self.buffered > MAX_BUFFERED {
            self.relieve();
        }
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY || self.live.len() > self.limits.max_connections {
            self.since_sweep = 0;
            self.sweep(meta.time);
        }
    }

    /// A conversation whose both FINs were acknowledged leaves the table; its 4-tuple is
    /// remembered for the late packets that may follow.
    fn end_done(&mut self, k: Key, now: Timestamp) {
        if let Some(c) = self.live.remove(&k) {
            let over = Over {
                time: now,
                client: c.client,
                ends: c.end_seqs(),
            };
            self.end(*c);
            self.over.insert(k, over);
        }
    }

    /// A conversation leaves the table: what is left is delivered, and it is handed on.
    fn end(&mut self, mut c: Connection<S>) {
        self.buffered = self.buffered.saturating_sub(c.buffered());
        c.finish();
        self.finished.push(c);
    }

    /// Over the memory budget: the conversations that have held bytes the longest
    /// conclude their holes now, until half the budget is free.
    fn relieve(&mut self) {
        let mut by_age: Vec<(u64, Key)> = self
            .live
            .iter()
            .filter_map(|(k, c)| c.buffered_since().map(|f| (f, *k)))
            .collect();
        by_age.sort_unstable_by_key(|(f, _)| *f);
        for (_, k) in by_age {
            if self.buffered <= MAX_BUFFERED / 2 {
                break;
            }
            if let Some(c) = self.live.get_mut(&k) {
                let before = c.buffered();
                c.conclude_now();
                self.buffered = (self.buffered + c.buffered()).saturating_sub(before);
            }
        }
        // Out-of-order data waiting without an acknowledged hole has no age: if what is
        // left is still over, every conversation concludes.
        if self.buffered > MAX_BUFFERED / 2 {
            for c in self.live.values_mut() {
                c.conclude_now();
            }
            self.buffered = 0;
        }
    }

    /// The clock reads `now` with no packet to show it (a live capture between frames):
    /// the time-driven work of a packet's arrival is done at once.
    pub fn tick(&mut self, now: Timestamp) {
        self.since_sweep = 0;
        self.sweep(now);
        // Live only: a dialogue that is over, one side closed, and quiet for a moment is
        // concluded now rather than after the closed-conversation timeout.
        let over: Vec<Key> = self
            .live
            .iter()
            .filter(|(_, c)| {
                c.is_closed() && c.sink.is_over() && now.since(c.last_seen) > OVER_GRACE_SECS
            })
            .map(|(k, _)| *k)
            .collect();
        for k in over {
            if let Some(c) = self.live.remove(&k) {
                self.end(*c);
            }
        }
    }

    /// Closes idle conversations, and the longest-idle ones while the table is over its bound.
    fn sweep(&mut self, now: Timestamp) {
        let limits = self.limits;
        self.over
            .retain(|_, o| now.secs - o.time.secs <= limits.idle_closed_secs);
        if self.over.len() > limits.max_connections {
            // Under a flood of short conversations, keep the most recent half.
            let mut times: Vec<Timestamp> = self.over.values().map(|o| o.time).collect();
            times.sort_unstable();
            if let Some(&cut) = times.get(times.len() / 2) {
                self.over.retain(|_, o| o.time >= cut);
            }
        }
        // Holes the capture clock has passed are concluded; conversations that were only
        // waiting for them are over.
        let mut done = Vec::new();
        let mut freed = 0;
        for (k, c) in &mut self.live {
            if c.buffered_since().is_some() {
                let before = c.buffered();
                c.expire_quiet(now, QUIET_SLACK);
                freed += before.saturating_sub(c.buffered());
                if c.is_done() {
                    done.push(*k);
                }
            }
        }
        self.buffered = self.buffered.saturating_sub(freed);
        for k in done {
            self.end_done(k, now);
        }
        let mut reset = Vec::new();
        let idle: Vec<Key> = self
            .live
            .iter()
            .filter(|(k, c)| {
                if c.is_reset() && now.since(c.last_seen) > RESET_GRACE_SECS {
                    reset.push(**k);
                    return false;
                }
                let quiet = now.secs - c.last_seen.secs;
                let half_open = c.facts.syn_ack_frame.is_none() && !c.facts.mid_stream;
                if c.is_closed() || half_open {
                    quiet > limits.idle_closed_secs
                } else {
                    quiet > limits.idle_open_secs
                }
            })
            .map(|(k, _)| *k)
            .collect();
        // No tombstone: packets after a reset that the stack ignored (out of window) make
        // a conversation of their own rather than vanish.
        for k in reset {
            if let Some(c) = self.live.remove(&k) {
                self.end(*c);
            }
        }
        for k in idle {
            if let Some(c) = self.live.remove(&k) {
                self.end(*c);
                self.stats.evicted_idle += 1;
            }
        }
        if self.live.len() > limits.max_connections {
            let mut by_age: Vec<(Timestamp, Key)> =
                self.live.iter().map(|(k, c)| (c.last_seen, *k)).collect();
            by_age.sort_unstable_by_key(|(t, _)| *t);
            let excess = self.live.len() - limits.max_connections * 9 / 10;
            for (_, k) in by_age.into_iter().take(excess) {
                if let Some(c) = self.live.remove(&k) {
                    self.end(*c);
                    self.stats.evicted_full += 1;
                }
            }
        }
    }

    /// The first frame of the oldest live conversation for which `pending` holds: what
    /// a caller reporting conversations in order of their first frame must wait for.
    pub fn oldest_first_frame(&self, pending: impl Fn(&S) -> bool) -> Option<u64> {
        self.live
            .values()
            .filter(|c| pending(&c.sink))
            .map(|c| c.facts.first_frame)
            .min()
    }

    /// How many live conversations `pending` holds for, and the newest of them: its client,
    /// server and first frame (for a live capture's status line).
    pub fn open_conversations(
        &self,
        pending: impl Fn(&S) -> bool,
    ) -> (usize, Option<(Endpoint, Endpoint, u64)>) {
        let mut n = 0;
        let mut newest: Option<(Endpoint, Endpoint, u64)> = None;
        for c in self.live.values().filter(|c| pending(&c.sink)) {
            n += 1;
            if newest.is_none_or(|(_, _, f)| c.facts.first_frame > f) {
                newest = Some((c.client, c.server, c.facts.first_frame));
            }
        }
        (n, newest)
    }

    /// Conversations finished since the last call, oldest first.
    pub fn take_finished(&mut self) -> Vec<Connection<S>> {
        std::mem::take(&mut self.finished)
    }

    /// Whether [`Self::take_finished`] has anything (asked once per packet, so cheap).
    pub fn has_finished(&self) -> bool {
        !self.finished.is_empty()
    }

    /// Ends every conversation (the capture is over) and hands each on, those finished
    /// earlier first; the caller orders them.
    pub fn finish_all(&mut self, mut each: impl FnMut(Connection<S>)) {
        for c in std::mem::take(&mut self.finished) {
            each(c);
        }
        // One at a time: collecting them first would hold a second copy of the table.
        self.buffered = 0;
        for (_, mut c) in self.live.drain() {
            c.finish();
            each(*c);
        }
    }
}

/// Client and server of a conversation first seen with this segment.
fn roles(
    is_server_port: fn(u16) -> bool,
    meta: &SegmentMeta,
    seg: &TcpSegment<'_>,
) -> (Endpoint, Endpoint) {
    let (src, dst) = (meta.src, meta.dst);
    if seg.flags.syn {
        return if seg.flags.ack {
            (dst, src)
        } else {
            (src, dst)
        };
    }
    match (is_server_port(src.port), is_server_port(dst.port)) {
        (true, false) => (dst, src),
        (false, true) => (src, dst),
        // Servers listen on the lower port far more often than not.
        _ if src.port < dst.port => (dst, src),
        _ => (src, dst),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::Side;
    use crate::packet::TcpFlags;
    use crate::tcp::{Handshake, StreamEvent};

    #[derive(Default)]
    struct Count {
        bytes: u64,
    }

    impl StreamSink for Count {
        fn event(&mut self, _side: Side, _frame: u64, _time: Timestamp, ev: StreamEvent<'_>) {
            if let StreamEvent::Data(d) = ev {
                self.bytes += d.len() as u64;
            }
        }
    }

    const C: Endpoint = Endpoint {
        ip: std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 10)),
        port: 40000,
    };
    const S: Endpoint = Endpoint {
        ip: std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 25)),
        port: 25,
    };

    struct Feed {
        t: ConnectionTable<Count>,
        frame: u64,
    }

    impl Feed {
        fn new() -> Self {
            Feed {
                t: ConnectionTable::new(TableLimits::default(), |p| p == 25),
                frame: 0,
            }
        }
        fn seg(&mut self, from_client: bool, seq: u32, ack: u32, flags: TcpFlags, payload: &[u8]) {
            self.frame += 1;
            let (src, dst) = if from_client { (C, S) } else { (S, C) };
            let meta = SegmentMeta {
                frame: self.frame,
                time: Timestamp::new(self.frame as i64, 0),
                src,
                dst,
                src_mac: None,
            };
            let seg = TcpSegment {
                src_port: src.port,
                dst_port: dst.port,
                seq,
                ack,
                flags,
                payload,
                missing: 0,
            };
            self.t.segment(&meta, &seg, |_, _, _| Count::default());
        }
        fn all(mut self) -> Vec<Connection<Count>> {
            let mut v = Vec::new();
            self.t.finish_all(|c| v.push(c));
            v.sort_by_key(|c| c.facts.first_frame);
            v
        }
    }

    const SYN: TcpFlags = TcpFlags {
        syn: true,
        ack: false,
        fin: false,
        rst: false,
    };
    const SYNACK: TcpFlags = TcpFlags {
        syn: true,
        ack: true,
        fin: false,
        rst: false,
    };
    const ACK: TcpFlags = TcpFlags {
        syn: false,
        ack: true,
        fin: false,
        rst: false,
    };
    const FIN: TcpFlags = TcpFlags {
        syn: false,
        ack: true,
        fin: true,
        rst: false,
    };
    const RST: TcpFlags = TcpFlags {
        syn: false,
        ack: true,
        fin: false,
        rst: true,
    };

    #[test]
    fn a_new_syn_on_a_closed_tuple_starts_a_new_conversation() {
        let mut f = Feed::new();
        f.seg(true, 100, 0, SYN, b"");
        f.seg(false, 500, 101, SYNACK, b"");
        f.seg(false, 501, 101, ACK, b"220 hi\r\n");
        f.seg(true, 101, 509, FIN, b"");
        f.seg(false, 509, 102, FIN, b"");
        // The device retries from the same port with a new ISN.
        f.seg(true, 9000, 0, SYN, b"");
        f.seg(false, 700, 9001, SYNACK, b"");
        let all = f.all();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].sink.bytes, 8);
        assert_eq!(all[0].facts.handshake, Handshake::Complete);
        assert_eq!(all[1].facts.first_frame, 6);
    }

    #[test]
    fn both_fins_acknowledged_end_the_conversation_at_once() {
        let mut f = Feed::new();
        f.seg(true, 100, 0, SYN, b"");
        f.seg(false, 500, 101, SYNACK, b"");
        f.seg(false, 501, 101, ACK, b"221 bye\r\n");
        f.seg(true, 101, 510, FIN, b"");
        f.seg(false, 510, 102, FIN, b"");
        assert!(
            !f.t.has_finished(),
            "the server's FIN is not acknowledged yet"
        );
        f.seg(true, 102, 511, ACK, b"");
        assert!(f.t.has_finished());
        let done = f.t.take_finished();
        assert_eq!(done[0].facts.last_frame, 6);
        // A late FIN of the same conversation is counted, not a conversation of its own.
        f.seg(false, 510, 102, FIN, b"");
        assert_eq!(f.t.stats.after_close, 1);
        // Data on the same 4-tuple is a new conversation whose SYN was not captured.
        f.seg(true, 7000, 900, ACK, b"EHLO x\r\n");
        let all = f.all();
        assert_eq!(all.len(), 1);
        assert!(all[0].facts.mid_stream);
        assert_eq!(all[0].sink.bytes, 8);
    }

    #[test]
    fn a_retransmitted_syn_is_the_same_attempt() {
        let mut f = Feed::new();
        f.seg(true, 100, 0, SYN, b"");
        f.seg(true, 100, 0, SYN, b"");
        f.seg(true, 100, 0, SYN, b"");
        let all = f.all();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].facts.syn_frames, vec![1, 2, 3]);
        assert_eq!(all[0].facts.handshake, Handshake::SynUnanswered);
    }

    #[test]
    fn a_reset_answering_the_syn_is_a_refusal() {
        let mut f = Feed::new();
        f.seg(true, 100, 0, SYN, b"");
        f.seg(false, 0, 101, RST, b"");
        let all = f.all();
        assert_eq!(all[0].facts.handshake, Handshake::Refused);
        assert_eq!(all[0].facts.close.map(|c| c.by), Some(Side::Server));
    }

    #[test]
    fn a_client_only_capture_is_not_an_unanswered_syn() {
        let mut f = Feed::new();
        f.seg(true, 100, 0, SYN, b"");
        f.seg(true, 101, 501, ACK, b"EHLO x\r\n");
        let all = f.all();
        assert_eq!(all[0].facts.handshake, Handshake::NotSeen);
        assert_eq!(all[0].sink.bytes, 8);
    }

    #[test]
    fn without_a_handshake_the_server_port_names_the_server() {
        let mut f = Feed::new();
        f.seg(false, 501, 101, ACK, b"250 ok\r\n");
        let all = f.all();
        assert_eq!((all[0].client, all[0].server), (C, S));
        assert!(all[0].facts.mid_stream);
    }
}
