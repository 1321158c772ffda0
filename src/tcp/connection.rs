use super::assembler::{Origin, AWAIT_BASE};
use super::causal::CausalOrder;
use super::facts::{Close, CloseHow, Handshake, TcpFacts, TcpSummary};
use super::sink::{SegmentMeta, StreamSink};
use super::stream::{Emit, StreamReassembler};
use crate::base::{Endpoint, Side, Timestamp};
use crate::packet::TcpSegment;

const MAX_LISTED_FRAMES: usize = 32;

/// A TCP conversation, its two stream directions and the protocol state fed by them.
pub struct Connection<S> {
    pub client: Endpoint,
    pub server: Endpoint,
    pub facts: TcpFacts,
    pub sink: S,
    streams: [StreamReassembler; 2],
    /// Hands the streams' events to `sink` in causal order.
    order: CausalOrder,
    client_isn: Option<u32>,
    /// The acknowledgement number of the server's SYN-ACK: the client's ISN + 1.
    syn_ack_answers: Option<u32>,
    /// The conversation's capture clock: the latest time stamp seen (stamps of merged
    /// captures can go backwards).
    pub(super) last_seen: Timestamp,
}

impl<S: StreamSink> Connection<S> {
    pub(super) fn new(
        client: Endpoint,
        server: Endpoint,
        meta: &SegmentMeta,
        sink: S,
        max_pending: u64,
    ) -> Self {
        Connection {
            client,
            server,
            facts: TcpFacts {
                first_frame: meta.frame,
                last_frame: meta.frame,
                start: meta.time,
                end: meta.time,
                handshake: Handshake::NotSeen,
                syn_frames: Vec::new(),
                syn_ack_frame: None,
                mid_stream: false,
                close: None,
                client_fin_frame: None,
                server_fin_frame: None,
                reset_frames: Vec::new(),
                client_packets: 0,
                server_packets: 0,
                client_mac: None,
                server_mac: None,
            },
            sink,
            streams: [
                StreamReassembler::new(max_pending),
                StreamReassembler::new(max_pending),
            ],
            order: CausalOrder::default(),
            client_isn: None,
            syn_ack_answers: None,
            last_seen: meta.time,
        }
    }

    pub fn side_of(&self, src: &Endpoint) -> Side {
        if *src == self.client {
            Side::Client
        } else {
            Side::Server
        }
    }

    pub fn is_closed(&self) -> bool {
        self.facts.close.is_some()
    }

    /// A side reset the conversation.
    pub(super) fn is_reset(&self) -> bool {
        !self.facts.reset_frames.is_empty()
    }

    /// Both sides sent a FIN and both FINs were acknowledged, and no acknowledged byte is
    /// still to come: nothing more belongs here.
    pub(super) fn is_done(&self) -> bool {
        self.streams.iter().all(|s| s.fin_acked() && !s.has_hole()) && self.order.is_empty()
    }

    /// The facts and both streams' counts, for the report.
    pub fn summary(&self) -> TcpSummary {
        TcpSummary {
            facts: self.facts.clone(),
            client_stream: self.streams[0].stats.clone(),
            server_stream: self.streams[1].stats.clone(),
        }
    }

    /// The sequence number after each side's FIN (client, server), for recognising late
    /// copies once the conversation is over.
    pub(super) fn end_seqs(&self) -> [u32; 2] {
        [self.streams[0].end_seq(), self.streams[1].end_seq()]
    }

    /// Bytes held for reordering (out-of-order data and events waiting for their cause).
    pub(super) fn buffered(&self) -> u64 {
        self.streams[0].held_bytes() + self.streams[1].held_bytes() + self.order.held_bytes()
    }

    /// The frame since which something has been held (holes, waiting events), if any.
    pub(super) fn buffered_since(&self) -> Option<u64> {
        let holes = self
            .streams
            .iter()
            .filter_map(StreamReassembler::hole_since);
        holes.chain(self.order.held_since()).min()
    }

    /// Runs `step` on each direction's reassembler, its events going to the sink in
    /// causal order; then, with `release`, hands on everything still waiting.
    fn each_stream(
        &mut self,
        release: bool,
        mut step: impl FnMut(&mut StreamReassembler, &mut Emit<'_>),
    ) {
        let Connection {
            streams,
            sink,
            order,
            ..
        } = self;
        for (stream, side) in streams.iter_mut().zip([Side::Client, Side::Server]) {
            step(stream, &mut |o, ev| order.offer(side, o, ev, sink));
        }
        if release {
            order.release_all(sink);
        }
    }

    /// Concludes pending holes of directions that went quiet: the capture's clock `now`
    /// passed their last progress by `slack` × `LATE_SECS`.
    pub(super) fn expire_quiet(&mut self, now: Timestamp, slack: f64) {
        self.each_stream(false, |stream, emit| stream.expire(now, slack, emit));
    }

    /// Memory is short: every hole is concluded missing and every waiting event handed on.
    pub(super) fn conclude_now(&mut self) {
        self.each_stream(true, |stream, emit| stream.conclude_all(emit));
    }

    /// Whether a SYN from `side` with `seq` begins a new conversation on this 4-tuple.
    pub(super) fn is_new_attempt(&self, side: Side, seq: u32, is_syn_ack: bool) -> bool {
        if is_syn_ack {
            return false;
        }
        match (side, self.client_isn) {
            // The same ISN is the kernel retrying the same attempt.
            (Side::Client, Some(isn)) => isn != seq,
            // The SYN captured after the SYN-ACK that answers it (a mirror port).
            (Side::Client, None) if self.syn_ack_answers == Some(seq.wrapping_add(1)) => false,
            // A SYN on a conversation picked up mid-stream: the old one ended unseen.
            (Side::Client, None) => true,
            (Side::Server, _) => self.is_closed(),
        }
    }

    pub(super) fn segment(&mut self, meta: &SegmentMeta, seg: &TcpSegment<'_>) {
        let side = self.side_of(&meta.src);
        let f = &mut self.facts;
        f.last_frame = meta.frame;
        f.end = meta.time;
        self.last_seen = self.last_seen.max(meta.time);
        match side {
            Side::Client => f.client_packets += 1,
            Side::Server => f.server_packets += 1,
        }
        let mut seq = seg.seq;
        if seg.flags.syn {
            let mac = if side == Side::Client {
                &mut f.client_mac
            } else {
                &mut f.server_mac
            };
            *mac = mac.or(meta.src_mac);
            if side == Side::Client && !seg.flags.ack {
                if f.syn_frames.len() < MAX_LISTED_FRAMES {
                    f.syn_frames.push(meta.frame);
                }
                self.client_isn = Some(seg.seq);
                // Its answer was captured first (a mirror port): not picked up mid-stream.
                f.mid_stream = false;
            } else if side == Side::Server && seg.flags.ack && f.syn_ack_frame.is_none() {
                f.syn_ack_frame = Some(meta.frame);
                self.syn_ack_answers = Some(seg.ack);
            }
            self.streams[side.index()].syn(seg.seq);
            seq = seq.wrapping_add(1);
        } else if f.syn_frames.is_empty() && f.syn_ack_frame.is_none() {
            f.mid_stream = true;
            if side == Side::Server && seg.flags.ack && self.syn_ack_answers.is_none() {
                // A refusal (RST-ACK) captured before the SYN it answers.
                self.syn_ack_answers = Some(seg.ack);
            }
        }
        if seg.flags.rst {
            if f.reset_frames.len() < MAX_LISTED_FRAMES {
                f.reset_frames.push(meta.frame);
            }
            if f.close.is_none() {
                f.close = Some(Close {
                    by: side,
                    how: CloseHow::Rst,
                    frame: meta.frame,
                });
            }
        }
        if seg.flags.fin {
            let fin = match side {
                Side::Client => &mut f.client_fin_frame,
                Side::Server => &mut f.server_fin_frame,
            };
            fin.get_or_insert(meta.frame);
            if f.close.is_none() {
                f.close = Some(Close {
                    by: side,
                    how: CloseHow::Fin,
                    frame: meta.frame,
                });
            }
        }

        let Connection {
            streams,
            sink,
            order,
            ..
        } = self;
        let [client_stream, server_stream] = streams;
        let (own, peer) = match side {
            Side::Client => (client_stream, server_stream),
            Side::Server => (server_stream, client_stream),
        };
        let mut origin = Origin {
            frame: meta.frame,
            time: meta.time,
            needs: 0,
            ack: seg.ack,
        };
        if seg.flags.ack && !seg.flags.rst {
            peer.peer_ack(seg.ack, origin);
            origin.needs = match peer.base() {
                Some(_) => peer.ack_offset(seg.ack).unwrap_or(0),
                None => AWAIT_BASE,
            };
        }
        if !seg.flags.rst {
            own.segment(
                seq,
                seg.payload,
                seg.missing,
                seg.flags.fin,
                origin,
                &mut |o, ev| order.offer(side, o, ev, sink),
            );
        }
        let i = side.index();
        order.set_base(i, own.base(), sink);
        if !sink.wants_data() {
            own.discard_data();
            peer.discard_data();
            order.release_all(sink);
        }
    }

    /// The content showed the roles the other way round (no handshake told them).
    pub(super) fn swap_roles(&mut self) {
        let f = &mut self.facts;
        if !f.syn_frames.is_empty() || f.syn_ack_frame.is_some() {
            return;
        }
        std::mem::swap(&mut self.client, &mut self.server);
        self.streams.swap(0, 1);
        self.order.swap();
        std::mem::swap(&mut f.client_packets, &mut f.server_packets);
        std::mem::swap(&mut f.client_mac, &mut f.server_mac);
        std::mem::swap(&mut f.client_fin_frame, &mut f.server_fin_frame);
        if let Some(c) = &mut f.close {
            c.by = c.by.other();
        }
    }

    /// The conversation is over, or the capture is: deliver what is left, settle the facts.
    pub(super) fn finish(&mut self) {
        if self.sink.take_role_swap() {
            self.swap_roles();
        }
        let origin = Origin {
            frame: self.facts.last_frame,
            time: self.facts.end,
            needs: 0,
            ack: 0,
        };
        self.each_stream(true, |stream, emit| stream.flush(origin, emit));
        let client = &self.streams[0].stats;
        let client_bytes = client.bytes + client.gap_bytes;
        let f = &mut self.facts;
        f.handshake = if f.syn_ack_frame.is_some() {
            Handshake::Complete
        } else if !f.syn_frames.is_empty() {
            let server_reset = f
                .close
                .is_some_and(|c| c.how == CloseHow::Rst && c.by == Side::Server);
            if server_reset {
                Handshake::Refused
            } else if f.server_packets == 0 && client_bytes == 0 {
                Handshake::SynUnanswered
            } else {
                // The server spoke, or the client sent data (so the handshake completed),
                // but the SYN-ACK is not in the capture.
                Handshake::NotSeen
            }
        } else {
            Handshake::NotSeen
        };
        self.sink.finish(&self.facts);
    }
}
