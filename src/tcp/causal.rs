use std::collections::VecDeque;

use super::assembler::{Origin, AWAIT_BASE};
use super::seq::SeqNumber;
use super::sink::StreamSink;
use super::stream::{GapReason, StreamEvent};
use crate::base::Side;

/// Event bytes one conversation may hold back at most; past it the oldest are handed on
/// in capture order.
const MAX_HELD_BYTES: u64 = 256 << 10;

/// Hands a conversation's stream events to its sink in causal order: an event whose
/// segment acknowledged bytes of the peer waits until the sink has had those bytes. A
/// mirror port that captures a reply before the command it answers then still yields the
/// dialogue as the two hosts lived it.
#[derive(Debug, Default)]
pub(super) struct CausalOrder {
    /// Stream offset up to which each side's events were handed to the sink.
    released: [u64; 2],
    /// Each side's stream start, once known: places acknowledgements made before it was.
    bases: [Option<SeqNumber>; 2],
    /// Events waiting; allocated only while something waits.
    held: Option<Box<Held>>,
}

#[derive(Debug, Default)]
struct Held {
    queues: [VecDeque<HeldEvent>; 2],
    /// Stream bytes of each queue's events (what the sink will have once they go).
    queued_len: [u64; 2],
    /// Data bytes held, for the memory bounds.
    bytes: u64,
    /// Events waiting for their peer's start to be known; past `MAX_AWAIT_BASE` the peer
    /// is taken to be silent (a one-sided capture) and they go in capture order.
    awaiting_base: u32,
}

const MAX_AWAIT_BASE: u32 = 16;

#[derive(Debug)]
struct HeldEvent {
    origin: Origin,
    event: OwnedEvent,
}

#[derive(Debug)]
enum OwnedEvent {
    Data(Vec<u8>),
    Gap { len: u64, reason: GapReason },
}

impl OwnedEvent {
    fn len(&self) -> u64 {
        match self {
            OwnedEvent::Data(d) => d.len() as u64,
            OwnedEvent::Gap { len, .. } => *len,
        }
    }
}

impl CausalOrder {
    /// Takes one event of `side`: to the sink now if nothing of that side waits and the
    /// sink has what it needs of the peer, else into the queue.
    pub(super) fn offer<S: StreamSink>(
        &mut self,
        side: Side,
        mut origin: Origin,
        event: StreamEvent<'_>,
        sink: &mut S,
    ) {
        let i = side.index();
        origin.needs = self.place(i, origin);
        let queued = self.held.as_ref().is_some_and(|h| !h.queues[i].is_empty());
        if !queued && origin.needs <= self.released[1 - i] {
            self.released[i] += event.len();
            sink.event(side, origin.frame, origin.time, event);
            if self.held.is_some() {
                self.pump(sink);
            }
            return;
        }
        let held = self.held.get_or_insert_with(Box::default);
        let event = match event {
            StreamEvent::Data(d) => {
                held.bytes += d.len() as u64;
                OwnedEvent::Data(d.to_vec())
            }
            StreamEvent::Gap { len, reason } => OwnedEvent::Gap { len, reason },
        };
        held.queued_len[i] += event.len();
        if origin.needs == AWAIT_BASE {
            held.awaiting_base += 1;
        }
        held.queues[i].push_back(HeldEvent { origin, event });
        if held.bytes > MAX_HELD_BYTES {
            self.release_all(sink);
        } else if held.awaiting_base > MAX_AWAIT_BASE {
            self.give_up_on_bases();
            self.pump(sink);
        } else if held.queues[i].len() == 1 {
            // A new head: it may complete a mutual wait.
            self.pump(sink);
        }
    }

    /// Side `i`'s stream start as now known: what waited for it may go.
    pub(super) fn set_base<S: StreamSink>(
        &mut self,
        i: usize,
        base: Option<SeqNumber>,
        sink: &mut S,
    ) {
        if self.bases[i] != base {
            self.bases[i] = base;
            if self.held.is_some() {
                self.pump(sink);
            }
        }
    }

    /// The peer offset an event of side `i` needs, placing an acknowledgement made before
    /// the peer's start was known once it is.
    fn place(&self, i: usize, o: Origin) -> u64 {
        if o.needs != AWAIT_BASE {
            return o.needs;
        }
        match self.bases[1 - i] {
            Some(base) => u64::try_from(SeqNumber(o.ack) - base).unwrap_or(0),
            None => AWAIT_BASE,
        }
    }

    /// The peer never spoke: what waited for its start goes in capture order.
    fn give_up_on_bases(&mut self) {
        if let Some(h) = self.held.as_deref_mut() {
            for e in h.queues.iter_mut().flatten() {
                if e.origin.needs == AWAIT_BASE {
                    e.origin.needs = 0;
                }
            }
            h.awaiting_base = 0;
        }
    }

    /// Data bytes waiting.
    pub(super) fn held_bytes(&self) -> u64 {
        self.held.as_ref().map_or(0, |h| h.bytes)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.held.is_none()
    }

    /// The frame of the oldest event waiting.
    pub(super) fn held_since(&self) -> Option<u64> {
        let h = self.held.as_ref()?;
        h.queues
            .iter()
            .filter_map(|q| q.front().map(|e| e.origin.frame))
            .min()
    }

    /// Hands on every event whose turn has come. Two heads that each wait for what the
    /// other holds (impossible in real TCP, possible in a hostile capture) go in capture
    /// order.
    fn pump<S: StreamSink>(&mut self, sink: &mut S) {
        loop {
            self.place_heads();
            let Some(h) = self.held.as_deref() else {
                return;
            };
            let head = |i: usize| h.queues[i].front().map(|e| e.origin);
            let ready = |i: usize| head(i).filter(|o| o.needs <= self.released[1 - i]);
            // Waiting for bytes that sit in the other queue, not for a hole.
            let stuck = |i: usize| {
                head(i).is_some_and(|o| o.needs <= self.released[1 - i] + h.queued_len[1 - i])
            };
            let pick = match (ready(0), ready(1)) {
                (Some(a), Some(b)) => usize::from(b.frame < a.frame),
                (Some(_), None) => 0,
                (None, Some(_)) => 1,
                (None, None) if stuck(0) && stuck(1) => self.oldest_head().unwrap_or(0),
                (None, None) => return,
            };
            self.release_head(pick, sink);
        }
    }

    /// Places the heads' acknowledgements whose peer start has become known.
    fn place_heads(&mut self) {
        let bases = self.bases;
        let Some(h) = self.held.as_deref_mut() else {
            return;
        };
        for (i, q) in h.queues.iter_mut().enumerate() {
            if let Some(e) = q.front_mut() {
                if e.origin.needs == AWAIT_BASE {
                    if let Some(base) = bases[1 - i] {
                        e.origin.needs = u64::try_from(SeqNumber(e.origin.ack) - base).unwrap_or(0);
                        h.awaiting_base = h.awaiting_base.saturating_sub(1);
                    }
                }
            }
        }
    }

    fn oldest_head(&self) -> Option<usize> {
        let h = self.held.as_ref()?;
        match (h.queues[0].front(), h.queues[1].front()) {
            (Some(a), Some(b)) => Some(usize::from(b.origin.frame < a.origin.frame)),
            (Some(_), None) => Some(0),
            (None, Some(_)) => Some(1),
            (None, None) => None,
        }
    }

    fn release_head<S: StreamSink>(&mut self, i: usize, sink: &mut S) {
        let Some(h) = self.held.as_deref_mut() else {
            return;
        };
        let Some(e) = h.queues[i].pop_front() else {
            return;
        };
        let len = e.event.len();
        h.queued_len[i] -= len;
        if let OwnedEvent::Data(d) = &e.event {
            h.bytes -= d.len() as u64;
        }
        if h.queues.iter().all(VecDeque::is_empty) {
            self.held = None;
        }
        self.released[i] += len;
        let side = if i == 0 { Side::Client } else { Side::Server };
        let event = match &e.event {
            OwnedEvent::Data(d) => StreamEvent::Data(d),
            OwnedEvent::Gap { len, reason } => StreamEvent::Gap {
                len: *len,
                reason: *reason,
            },
        };
        sink.event(side, e.origin.frame, e.origin.time, event);
    }

    /// Hands on everything held: causal order where it can be kept, capture order where
    /// what an event waits for will not come (the conversation ended, or memory is short).
    pub(super) fn release_all<S: StreamSink>(&mut self, sink: &mut S) {
        loop {
            self.pump(sink);
            match self.oldest_head() {
                Some(i) => self.release_head(i, sink),
                None => return,
            }
        }
    }

    /// The roles turned out the other way round.
    pub(super) fn swap(&mut self) {
        self.released.swap(0, 1);
        self.bases.swap(0, 1);
        if let Some(h) = self.held.as_deref_mut() {
            h.queues.swap(0, 1);
            h.queued_len.swap(0, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::Timestamp;

    #[derive(Default)]
    struct Log(Vec<(Side, Vec<u8>)>);

    impl StreamSink for Log {
        fn event(&mut self, side: Side, _f: u64, _t: Timestamp, ev: StreamEvent<'_>) {
            if let StreamEvent::Data(d) = ev {
                self.0.push((side, d.to_vec()));
            }
        }
    }

    fn origin(frame: u64, needs: u64) -> Origin {
        Origin {
            frame,
            time: Timestamp::default(),
            needs,
            ack: 0,
        }
    }

    #[test]
    fn a_command_captured_before_the_greeting_it_answers_waits_for_it() {
        let mut o = CausalOrder::default();
        let mut log = Log::default();
        // EHLO acknowledged the 10-byte greeting, which the capture shows afterwards.
        o.offer(
            Side::Client,
            origin(1, 10),
            StreamEvent::Data(b"EHLO a\r\n"),
            &mut log,
        );
        assert!(log.0.is_empty());
        o.offer(
            Side::Server,
            origin(2, 0),
            StreamEvent::Data(b"220 hi\r\n\r\n"),
            &mut log,
        );
        let sides: Vec<Side> = log.0.iter().map(|(s, _)| *s).collect();
        assert_eq!(sides, [Side::Server, Side::Client]);
        assert!(o.is_empty());
    }

    #[test]
    fn a_mutual_wait_falls_back_to_capture_order() {
        let mut o = CausalOrder::default();
        let mut log = Log::default();
        o.offer(
            Side::Client,
            origin(1, 4),
            StreamEvent::Data(b"AAAA"),
            &mut log,
        );
        o.offer(
            Side::Server,
            origin(2, 4),
            StreamEvent::Data(b"BBBB"),
            &mut log,
        );
        let sides: Vec<Side> = log.0.iter().map(|(s, _)| *s).collect();
        assert_eq!(sides, [Side::Client, Side::Server]);
        assert!(o.is_empty());
    }

    #[test]
    fn what_waits_for_a_hole_goes_when_the_gap_is_declared() {
        let mut o = CausalOrder::default();
        let mut log = Log::default();
        o.offer(
            Side::Server,
            origin(1, 6),
            StreamEvent::Data(b"250 ok"),
            &mut log,
        );
        assert!(log.0.is_empty());
        let gap = StreamEvent::Gap {
            len: 6,
            reason: GapReason::NotCaptured,
        };
        o.offer(Side::Client, origin(2, 0), gap, &mut log);
        assert_eq!(log.0.len(), 1);
        assert!(o.is_empty());
    }
}
