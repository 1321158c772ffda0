use super::assembler::{Assembler, Content, Origin, Piece};
use super::seq::SeqNumber;
use crate::base::{to_index, Timestamp};

/// Why bytes of a stream are not available.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapReason {
    /// The capture never saw these bytes (lost by the capture, or before it started).
    NotCaptured,
    /// The packet was seen but cut by the snapshot length.
    Snaplen,
}

/// What a stream direction hands on, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    Data(&'a [u8]),
    Gap { len: u64, reason: GapReason },
}

// No `is_empty`: no event is empty (data and gaps have a length).
#[allow(clippy::len_without_is_empty)]
impl StreamEvent<'_> {
    /// Stream bytes the event covers.
    pub fn len(&self) -> u64 {
        match self {
            StreamEvent::Data(d) => d.len() as u64,
            StreamEvent::Gap { len, .. } => *len,
        }
    }
}

/// Receives what a direction delivers: where each piece came from, and the piece.
pub type Emit<'e> = dyn FnMut(Origin, StreamEvent<'_>) + 'e;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Bytes delivered in order.
    pub bytes: u64,
    /// Data segments seen (including retransmissions).
    pub segments: u64,
    /// Segments whose every byte had been seen before, sent again by the host (copies
    /// the capture itself holds twice are `duplicates`).
    pub retransmissions: u64,
    /// The frame of the first retransmission.
    pub first_retransmission_frame: Option<u64>,
    /// Segments the capture holds twice (a SPAN session of both switch ports, two merged
    /// captures): the same sequence range again within a few milliseconds.
    pub duplicates: u64,
    /// Segments that arrived ahead of a hole and waited for it.
    pub out_of_order: u64,
    /// Bytes that are missing from the capture, and in how many runs.
    pub gap_bytes: u64,
    pub gaps: u64,
    /// Bytes cut by the snapshot length (a subset of `gap_bytes`).
    pub snaplen_bytes: u64,
    /// Overlapping segments that disagreed about a byte (the first copy is kept): with
    /// data still waiting out of order, or with the last bytes delivered.
    pub conflicting_overlaps: u64,
    /// The frame of the first segment that disagreed.
    pub first_conflict_frame: Option<u64>,
    /// Segments too far from the stream position to be believed.
    pub out_of_window: u64,
    /// Segments captured after the peer had acknowledged them (a mirror port copies the
    /// two directions from separate queues), and the latest of them: how many packets of
    /// this direction, and how many microseconds, after the acknowledgement.
    pub late_segments: u64,
    pub late_max_packets: u64,
    pub late_max_micros: u64,
}

fn first_origin(marks: &[Mark]) -> Origin {
    marks.first().map_or(
        Origin {
            frame: 0,
            time: Timestamp::default(),
            needs: 0,
            ack: 0,
        },
        |m| m.origin,
    )
}

/// A copy of the last data segment seen this soon after it is the capture's duplicate, not
/// the host's retransmission (no TCP stack retransmits within 5 ms).
const DUPLICATE_MICROS: u32 = 5_000;

/// Delivered bytes remembered per direction to compare retransmissions with: a command
/// line or two, so that a rewritten command cannot pass unnoticed.
const RECENT: usize = 512;

/// Furthest ahead of the delivery point a segment may be and still be kept.
const MAX_AHEAD: u64 = 64 << 20;

/// Bytes the peer acknowledged before the capture showed them are missing only once this
/// direction has carried this many further packets that did not bring them ...
pub const LATE_PACKETS: u32 = 16;
/// ... or its packets' clock has moved on this long since it last brought any
/// (docs/capture-conditions.md has the measurements behind both).
pub const LATE_SECS: f64 = 1.0;

/// An acknowledgement of bytes the capture had not shown: how far it reached and where.
#[derive(Clone, Copy, Debug)]
struct Mark {
    acked: u64,
    origin: Origin,
}

/// A pending hole: the marks of the acknowledgements that reached beyond the delivery
/// point, oldest first; the packets of this direction since the delivery point last
/// moved, and since when (by this direction's own clock: a mirror port keeps each
/// direction's packets in order, and merged captures' stamps go backwards).
#[derive(Debug)]
struct Hole {
    marks: Vec<Mark>,
    stalled: u32,
    quiet_since: Timestamp,
}

/// Acknowledgements remembered while bytes are pending; later ones extend the last.
const MAX_MARKS: usize = 64;

/// One direction of a TCP conversation: sequence numbers in, in-order bytes and gaps out.
#[derive(Debug)]
pub struct StreamReassembler {
    /// Sequence number of stream offset 0 (the byte after the SYN).
    base: Option<SeqNumber>,
    next: u64,
    fin: Option<u64>,
    /// The furthest offset the peer acknowledged (a FIN counts one).
    acked: u64,
    /// Acknowledged bytes not seen yet: a pending hole, not yet a gap. Boxed: nearly
    /// always absent, and every open conversation carries the field.
    hole: Option<Box<Hole>>,
    pending: Assembler,
    /// The peer's acknowledgement seen before this direction's first segment.
    ack_hint: Option<SeqNumber>,
    /// Out-of-order data held at most; beyond it the hole is declared a gap.
    max_pending: u64,
    keep_data: bool,
    /// The last bytes delivered (at most `RECENT` of them, ending at `next`), to compare
    /// retransmissions with: what the capture shows twice must agree.
    recent: Vec<u8>,
    /// The assembler's disagreements already counted in `stats`.
    pending_conflicts: u64,
    /// Every byte from this offset on was delivered at or after this time (µs,
    /// wrapping; the mark moves on at most every `DUPLICATE_MICROS`): a copy of bytes
    /// delivered moments ago is the capture's duplicate, not the host's retransmission.
    delivered_mark: (u64, u32),
    pub saw_syn: bool,
    pub stats: StreamStats,
}

/// A time stamp's microseconds, wrapping (for differences under an hour).
fn micros(t: Timestamp) -> u32 {
    (t.secs as u64)
        .wrapping_mul(1_000_000)
        .wrapping_add(u64::from(t.nanos / 1000)) as u32
}

impl StreamReassembler {
    pub fn new(max_pending: u64) -> Self {
        StreamReassembler {
            base: None,
            next: 0,
            fin: None,
            acked: 0,
            hole: None,
            pending: Assembler::default(),
            ack_hint: None,
            max_pending,
            keep_data: true,
            recent: Vec::new(),
            pending_conflicts: 0,
            delivered_mark: (0, 0),
            saw_syn: false,
            stats: StreamStats::default(),
        }
    }

    /// This direction's FIN was sent and acknowledged.
    pub fn fin_acked(&self) -> bool {
        self.fin.is_some_and(|fin| self.acked > fin)
    }

    /// The sequence number of stream offset 0, once known.
    pub fn base(&self) -> Option<SeqNumber> {
        self.base
    }

    /// The sequence number after this direction's last byte and FIN.
    pub fn end_seq(&self) -> u32 {
        let end = self.fin.map_or(self.next, |f| f + 1);
        self.base.map_or(0, |b| (b + end as u32).0)
    }

    /// Acknowledged bytes the capture has not shown yet, which may still come.
    pub fn has_hole(&self) -> bool {
        self.hole.is_some()
    }

    /// Out-of-order bytes held.
    pub fn held_bytes(&self) -> u64 {
        self.pending.stored_bytes()
    }

    /// When the pending hole was first acknowledged (for the table's oldest-first relief).
    pub fn hole_since(&self) -> Option<u64> {
        self.hole.as_ref()?.marks.first().map(|m| m.origin.frame)
    }

    /// Stops holding data: later segments are only counted.
    pub fn discard_data(&mut self) {
        if !self.keep_data {
            return;
        }
        self.keep_data = false;
        self.pending.clear();
        self.recent = Vec::new();
        self.hole = None;
    }

    /// Remembers delivered bytes for [`Self::compare_recent`]; they stay contiguous and
    /// end at the delivery point.
    fn remember(&mut self, data: &[u8]) {
        if data.len() >= RECENT {
            self.recent.clear();
            self.recent
                .extend_from_slice(data.get(data.len() - RECENT..).unwrap_or_default());
            return;
        }
        if self.recent.len() + data.len() > 2 * RECENT {
            let cut = (self.recent.len() + data.len() - RECENT).min(self.recent.len());
            self.recent.drain(..cut);
        }
        self.recent.extend_from_slice(data);
    }

    /// A segment that covers bytes delivered already: where they are still remembered,
    /// they must be the same bytes.
    fn compare_recent(&mut self, off: i64, payload: &[u8], frame: u64) {
        let held_from = self.next as i64 - self.recent.len() as i64;
        let lo = off.max(held_from);
        let hi = (off + payload.len() as i64).min(self.next as i64);
        if lo >= hi {
            return;
        }
        // lo ≥ off, lo ≥ held_from and hi > lo: both ranges lie inside bytes held.
        let index = |n: i64| u64::try_from(n).map_or(usize::MAX, to_index);
        let at = |from: i64, to: i64| index(from)..index(to);
        let new = payload.get(at(lo - off, hi - off));
        let old = self.recent.get(at(lo - held_from, hi - held_from));
        if new != old {
            self.conflict(frame);
        }
    }

    fn conflict(&mut self, frame: u64) {
        self.stats.conflicting_overlaps += 1;
        self.stats.first_conflict_frame.get_or_insert(frame);
    }

    /// Takes the assembler's count of disagreeing overlaps after an insert at `frame`.
    fn note_pending_conflicts(&mut self, frame: u64) {
        while self.pending_conflicts < self.pending.conflicting_overlaps {
            self.pending_conflicts += 1;
            self.conflict(frame);
        }
    }

    fn offset_of(&self, seq: SeqNumber) -> Option<i64> {
        let base = self.base?;
        let next_seq = base + (self.next as u32);
        Some(self.next as i64 + (seq - next_seq))
    }

    /// The stream offset an acknowledgement number of the peer points at, when it is
    /// believable (not before the start, not absurdly far ahead).
    pub fn ack_offset(&self, ack: u32) -> Option<u64> {
        let off = self.offset_of(SeqNumber(ack))?;
        (off >= 0 && off as u64 <= self.next + MAX_AHEAD).then_some(off as u64)
    }

    /// A SYN from this direction fixes the stream's start.
    pub fn syn(&mut self, seq: u32) {
        let base = SeqNumber(seq) + 1;
        if self.base.is_none() || (self.next == 0 && self.pending.is_empty()) {
            self.base = Some(base);
        }
        self.saw_syn = true;
    }

    /// Handles one packet of this direction; `emit` receives what becomes deliverable.
    /// `origin.needs` is how far into the peer's stream the packet acknowledged.
    pub fn segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        missing: u32,
        fin: bool,
        origin: Origin,
        emit: &mut Emit<'_>,
    ) {
        let before = self.next;
        if let Some(h) = &mut self.hole {
            h.stalled = h.stalled.saturating_add(1);
        }
        self.consume(seq, payload, missing, fin, origin, emit);
        if self.next > before {
            let now = micros(origin.time);
            if now.wrapping_sub(self.delivered_mark.1) > DUPLICATE_MICROS {
                self.delivered_mark = (before, now);
            }
        }
        if let Some(h) = &mut self.hole {
            if self.next > before {
                h.stalled = 0;
                h.quiet_since = h.quiet_since.max(origin.time);
            }
            if h.stalled > LATE_PACKETS || origin.time.since(h.quiet_since) >= LATE_SECS {
                self.conclude_acked(Some(origin.time), emit);
            }
        }
    }

    fn consume(
        &mut self,
        seq: u32,
        payload: &[u8],
        missing: u32,
        fin: bool,
        origin: Origin,
        emit: &mut Emit<'_>,
    ) {
        let seq = SeqNumber(seq);
        let total = payload.len() as u64 + u64::from(missing);
        if total == 0 && !fin {
            return;
        }
        if self.base.is_none() {
            // Picked up mid-conversation: start at this segment, or at the peer's
            // acknowledgement when that is a little earlier (the bytes between were missed).
            let start = match self.ack_hint {
                Some(h) if seq - h > 0 && seq - h < MAX_AHEAD as i64 => h,
                _ => seq,
            };
            self.base = Some(start);
        }
        let Some(off) = self.offset_of(seq) else {
            return;
        };
        if total > 0 {
            self.stats.segments += 1;
        }
        let end = off + total as i64;
        if fin && end >= self.next as i64 && self.fin.is_none() {
            self.fin = Some(end as u64);
            self.settle_hole();
        }
        if total == 0 {
            return;
        }
        let conflicts = self.stats.conflicting_overlaps;
        if self.keep_data && off < self.next as i64 {
            self.compare_recent(off, payload, origin.frame);
        }
        let now = micros(origin.time);
        // Bytes delivered moments ago, again and the same: the capture holds them twice.
        let (mark_at, mark_time) = self.delivered_mark;
        let copy = self.stats.conflicting_overlaps == conflicts
            && end > mark_at as i64
            && now.wrapping_sub(mark_time) <= 2 * DUPLICATE_MICROS;
        if end <= self.next as i64 {
            if copy {
                self.stats.duplicates += 1;
            } else {
                self.stats.retransmissions += 1;
                self.stats
                    .first_retransmission_frame
                    .get_or_insert(origin.frame);
            }
            return;
        }
        if off > (self.next + MAX_AHEAD) as i64 {
            self.stats.out_of_window += 1;
            return;
        }
        if !self.keep_data {
            self.next = self.next.max(end as u64);
            self.stats.bytes += total;
            return;
        }
        if (off.max(0) as u64) < self.acked {
            self.note_late(origin.time);
        }
        // Cut away what was delivered already.
        let skip = (self.next as i64 - off).max(0) as u64;
        let start = off.max(self.next as i64) as u64;
        let (data, missing) = if skip < payload.len() as u64 {
            (
                payload.get(to_index(skip)..).unwrap_or_default(),
                u64::from(missing),
            )
        } else {
            (&payload[..0], total - skip)
        };
        if start == self.next {
            self.deliver_direct(data, missing, origin, emit);
            self.drain(emit);
        } else {
            self.stats.out_of_order += 1;
            self.pending
                .insert(start, Content::Data(data.to_vec()), origin);
            if missing > 0 {
                let at = start + data.len() as u64;
                self.pending.insert(at, Content::Missing(missing), origin);
            }
            self.note_pending_conflicts(origin.frame);
            if self.pending.stored_bytes() > self.max_pending {
                // Held as much as a direction may: the hole is missing from the capture.
                self.conclude_next_hole(emit);
            }
        }
        self.settle_hole();
    }

    /// A segment filled bytes the peer had acknowledged before the capture showed them.
    fn note_late(&mut self, time: Timestamp) {
        self.stats.late_segments += 1;
        if let Some(h) = &self.hole {
            let packets = u64::from(h.stalled.saturating_sub(1));
            let since = h.quiet_since;
            let micros = (time.since(since).max(0.0) * 1e6) as u64;
            self.stats.late_max_packets = self.stats.late_max_packets.max(packets);
            self.stats.late_max_micros = self.stats.late_max_micros.max(micros);
        }
    }

    fn deliver_direct(&mut self, data: &[u8], missing: u64, origin: Origin, emit: &mut Emit<'_>) {
        // Data the assembler already holds at these offsets is older and wins; compare it.
        if !self.pending.is_empty() {
            let end = self.next + data.len() as u64 + missing;
            if self.pending.first_offset().is_some_and(|f| f < end) {
                self.pending
                    .insert(self.next, Content::Data(data.to_vec()), origin);
                if missing > 0 {
                    self.pending.insert(
                        self.next + data.len() as u64,
                        Content::Missing(missing),
                        origin,
                    );
                }
                self.note_pending_conflicts(origin.frame);
                return;
            }
        }
        if !data.is_empty() {
            self.next += data.len() as u64;
            self.stats.bytes += data.len() as u64;
            self.remember(data);
            emit(origin, StreamEvent::Data(data));
        }
        if missing > 0 {
            self.gap(missing, GapReason::Snaplen, origin, emit);
        }
    }

    fn gap(&mut self, len: u64, reason: GapReason, origin: Origin, emit: &mut Emit<'_>) {
        self.next += len;
        // What was remembered no longer ends at the delivery point.
        self.recent.clear();
        self.stats.gap_bytes += len;
        self.stats.gaps += 1;
        if reason == GapReason::Snaplen {
            self.stats.snaplen_bytes += len;
        }
        // A gap waits for nothing of the peer: what it stands for is unknown.
        let origin = Origin { needs: 0, ..origin };
        emit(origin, StreamEvent::Gap { len, reason });
    }

    /// Delivers what the assembler holds contiguously from the delivery point.
    fn drain(&mut self, emit: &mut Emit<'_>) {
        while let Some(Piece { content, origin }) = self.pending.pop_at(self.next) {
            match content {
                Content::Data(d) => {
                    self.next += d.len() as u64;
                    self.stats.bytes += d.len() as u64;
                    self.remember(&d);
                    emit(origin, StreamEvent::Data(&d));
                }
                Content::Missing(n) => self.gap(n, GapReason::Snaplen, origin, emit),
            }
        }
    }

    /// Declares the hole up to `to` missing and delivers what follows it.
    fn skip_to(&mut self, to: u64, origin: Origin, emit: &mut Emit<'_>) {
        if to > self.next {
            self.gap(to - self.next, GapReason::NotCaptured, origin, emit);
        }
        self.drain(emit);
    }

    /// Declares the hole before the first piece held missing.
    fn conclude_next_hole(&mut self, emit: &mut Emit<'_>) {
        if let (Some(first), Some(origin)) =
            (self.pending.first_offset(), self.pending.first_origin())
        {
            self.skip_to(first, origin, emit);
        }
    }

    /// Where the acknowledged bytes end (a FIN takes a sequence number, not a byte).
    fn acked_bytes_end(&self) -> u64 {
        match self.fin {
            Some(fin) => self.acked.min(fin),
            None => self.acked,
        }
    }

    /// Forgets the marks of acknowledgements whose bytes have all come: the hole's age
    /// is that of the oldest byte still missing.
    fn settle_hole(&mut self) {
        let Some(h) = &mut self.hole else {
            return;
        };
        let end = self.fin.unwrap_or(u64::MAX);
        let next = self.next;
        let settled = h
            .marks
            .iter()
            .take_while(|m| m.acked.min(end) <= next)
            .count();
        h.marks.drain(..settled);
        if h.marks.is_empty() {
            self.hole = None;
        }
    }

    /// The peer acknowledged up to `ack`. Bytes before it were sent; those the capture
    /// has not shown become a pending hole: a mirror port may still deliver them.
    pub fn peer_ack(&mut self, ack: u32, origin: Origin) {
        let ack = SeqNumber(ack);
        if self.base.is_none() {
            if self.ack_hint.is_none() {
                self.ack_hint = Some(ack);
            }
            return;
        }
        let Some(off) = self.offset_of(ack) else {
            return;
        };
        if off <= self.acked as i64 || off > (self.next + MAX_AHEAD) as i64 {
            return;
        }
        self.acked = off as u64;
        if !self.keep_data || self.acked_bytes_end() <= self.next {
            return;
        }
        let h = self.hole.get_or_insert_with(|| {
            // The hole ages from when it was seen.
            Box::new(Hole {
                marks: Vec::new(),
                stalled: 0,
                quiet_since: origin.time,
            })
        });
        let mark = Mark {
            acked: self.acked,
            origin,
        };
        if h.marks.len() < MAX_MARKS {
            h.marks.push(mark);
        } else if let Some(last) = h.marks.last_mut() {
            last.acked = self.acked;
        }
    }

    /// Concludes the pending hole when the whole capture's clock `now` has passed this
    /// direction's last progress by `LATE_SECS` × `slack` (the direction went quiet).
    pub fn expire(&mut self, now: Timestamp, slack: f64, emit: &mut Emit<'_>) {
        if self
            .hole
            .as_ref()
            .is_some_and(|h| now.since(h.quiet_since) >= LATE_SECS * slack)
        {
            self.conclude_acked(Some(now), emit);
        }
    }

    /// Declares what the peer acknowledged and the capture did not show missing. Before
    /// the end (`early`, at time `now`) only what the oldest acknowledgement covered: the
    /// later ones start aging anew; and while this direction's FIN is unknown the last
    /// acknowledged position stays pending (it may be the FIN's, captured late).
    fn conclude_acked(&mut self, early: Option<Timestamp>, emit: &mut Emit<'_>) {
        let Some(mut hole) = self.hole.take() else {
            return;
        };
        let Some(now) = early else {
            let target = self.acked_bytes_end();
            self.conclude_marks(hole.marks, target, emit);
            return;
        };
        let first = hole.marks.first().map_or(self.acked, |m| m.acked);
        let mut target = first.min(self.acked_bytes_end());
        if self.fin.is_none() && target == self.acked {
            target -= 1;
        }
        let later: Vec<Mark> = hole
            .marks
            .iter()
            .copied()
            .filter(|m| m.acked > target)
            .collect();
        hole.marks.retain(|m| m.acked <= target);
        if let Some(m) = later.first() {
            hole.marks.push(Mark {
                acked: target,
                origin: m.origin,
            });
        }
        self.conclude_marks(hole.marks, target, emit);
        if !later.is_empty() {
            self.hole = Some(Box::new(Hole {
                marks: later,
                stalled: 0,
                quiet_since: now,
            }));
            self.settle_hole();
        }
    }

    fn conclude_marks(&mut self, marks: Vec<Mark>, target: u64, emit: &mut Emit<'_>) {
        // A gap is shown at the acknowledgement that first covered it.
        let origin_for = |offset: u64| {
            marks
                .iter()
                .find(|m| m.acked > offset)
                .or(marks.last())
                .map_or(first_origin(&marks), |m| m.origin)
        };
        while self.next < target {
            let origin = origin_for(self.next);
            match self.pending.first_offset() {
                Some(first) if first <= self.next => self.drain(emit),
                Some(first) => self.skip_to(first.min(target), origin, emit),
                None => self.gap(target - self.next, GapReason::NotCaptured, origin, emit),
            }
        }
    }

    /// Under memory pressure: every hole, acknowledged or not, is concluded missing.
    pub fn conclude_all(&mut self, emit: &mut Emit<'_>) {
        self.conclude_acked(None, emit);
        while !self.pending.is_empty() {
            self.conclude_next_hole(emit);
        }
    }

    /// The conversation is over (or the capture is): every hole is now a gap.
    pub fn flush(&mut self, origin: Origin, emit: &mut Emit<'_>) {
        self.conclude_all(emit);
        if let Some(fin) = self.fin {
            if fin > self.next && self.keep_data {
                self.gap(fin - self.next, GapReason::NotCaptured, origin, emit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds (seq offset, bytes) segments after a SYN at 0; returns what was delivered.
    fn feed(r: &mut StreamReassembler, segments: &[(u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        r.syn(0);
        for (i, (off, data)) in segments.iter().enumerate() {
            let origin = Origin {
                frame: i as u64 + 1,
                time: Timestamp::default(),
                needs: 0,
                ack: 0,
            };
            r.segment(1 + off, data, 0, false, origin, &mut |_, ev| {
                if let StreamEvent::Data(d) = ev {
                    out.extend_from_slice(d);
                }
            });
        }
        out
    }

    #[test]
    fn a_retransmitted_command_that_changed_is_a_conflict_and_the_first_copy_stays() {
        let mut r = StreamReassembler::new(1 << 20);
        let out = feed(
            &mut r,
            &[
                (0, b"MAIL FROM:<a@b>\r\n"),
                (17, b"RCPT TO:<x@y>\r\n"),
                (17, b"RCPT TO:<z@y>\r\n"),
            ],
        );
        assert_eq!(out, b"MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\n");
        assert_eq!(r.stats.conflicting_overlaps, 1);
        assert_eq!(r.stats.first_conflict_frame, Some(3));
        assert_eq!(r.stats.retransmissions, 1);
    }

    #[test]
    fn a_faithful_retransmission_is_no_conflict() {
        let mut r = StreamReassembler::new(1 << 20);
        feed(
            &mut r,
            &[
                (0, b"EHLO a\r\n"),
                (8, b"QUIT\r\n"),
                (8, b"QUIT\r\n"),
                (4, b" a\r\nQUIT\r\nNOOP"),
            ],
        );
        assert_eq!(r.stats.conflicting_overlaps, 0);
    }

    #[test]
    fn what_is_remembered_stays_contiguous_after_a_long_segment() {
        // 100 bytes, then 1,000: the last 512 remembered are the end of the second.
        let a = vec![b'a'; 100];
        let b: Vec<u8> = (0..1000u32).map(|i| b'0' + (i % 10) as u8).collect();
        let mut r = StreamReassembler::new(1 << 20);
        feed(&mut r, &[(0, &a), (100, &b), (800, &b[700..])]);
        assert_eq!(r.stats.conflicting_overlaps, 0);
        let mut changed = b[700..].to_vec();
        changed[250] ^= 1;
        let mut r = StreamReassembler::new(1 << 20);
        feed(&mut r, &[(0, &a), (100, &b), (800, &changed)]);
        assert_eq!(r.stats.conflicting_overlaps, 1);
    }

    #[test]
    fn a_partial_overlap_is_compared_on_the_bytes_it_shares() {
        let mut r = StreamReassembler::new(1 << 20);
        let out = feed(&mut r, &[(0, b"HELO a\r\n"), (6, b"\r\nNOOP\r\n")]);
        assert_eq!(out, b"HELO a\r\nNOOP\r\n");
        assert_eq!(r.stats.conflicting_overlaps, 0);
        let mut r = StreamReassembler::new(1 << 20);
        let out = feed(&mut r, &[(0, b"HELO a\r\n"), (5, b"b\r\nQUIT\r\n")]);
        assert_eq!(out, b"HELO a\r\nQUIT\r\n");
        assert_eq!(r.stats.conflicting_overlaps, 1);
    }

    #[test]
    fn a_copy_within_milliseconds_is_a_duplicate_a_later_one_a_retransmission() {
        let mut r = StreamReassembler::new(1 << 20);
        r.syn(0);
        let at = |r: &mut StreamReassembler, seq: u32, data: &[u8], frame: u64, ms: u32| {
            let origin = Origin {
                frame,
                time: Timestamp::new(100, ms * 1_000_000),
                needs: 0,
                ack: 0,
            };
            r.segment(1 + seq, data, 0, false, origin, &mut |_, _| {});
        };
        at(&mut r, 0, b"MAIL FROM:<a@b>\r\n", 1, 0);
        at(&mut r, 0, b"MAIL FROM:<a@b>\r\n", 2, 0); // the mirror's second copy
        at(&mut r, 17, b"RCPT TO:<c@d>\r\n", 3, 1);
        at(&mut r, 17, b"RCPT TO:<c@d>\r\n", 4, 300); // the host's retransmission
        assert_eq!(r.stats.duplicates, 1);
        assert_eq!(r.stats.retransmissions, 1);
        assert_eq!(r.stats.first_retransmission_frame, Some(4));
    }
}
