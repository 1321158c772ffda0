use super::entry::{looks_like_tls, Body, Entry, EntryKind, Gap, Provenance, TlsPart, Unparsed};
use crate::base::{Side, Timestamp};
use crate::tcp::GapReason;

/// A dialogue as a protocol parser writes it, shared by SMTP and POP3: entries in the
/// order they happen, at most `max` of them (the rest counted), and the bytes one side
/// sent that were not parsed joined into one entry per run.
#[derive(Debug)]
pub struct Recorder {
    /// The entries kept.
    pub entries: Vec<Entry>,
    /// Entries not kept because the bound was reached.
    pub dropped: u64,
    max: usize,
    /// Per side, the not-parsed entry that more bytes for the same reason extend.
    unparsed: [Option<usize>; 2],
    /// The dialogue goes on inside a decrypted TLS session: later entries are marked.
    pub inside_tls: bool,
}

/// Where an entry made at the first byte it covers (a body, a TLS part) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// No byte came yet: the entry is still to be made.
    Unmade,
    /// Made, at this index.
    At(usize),
    /// Made past the bound: counted, not kept.
    Dropped,
}

impl Slot {
    /// The entry's index, if it is kept.
    pub fn at(self) -> Option<usize> {
        match self {
            Slot::At(i) => Some(i),
            Slot::Unmade | Slot::Dropped => None,
        }
    }
}

impl From<Option<usize>> for Slot {
    fn from(pushed: Option<usize>) -> Self {
        pushed.map_or(Slot::Dropped, Slot::At)
    }
}

impl Recorder {
    /// An empty dialogue that keeps at most `max` entries.
    pub fn new(max: usize) -> Self {
        Recorder {
            entries: Vec::new(),
            dropped: 0,
            max,
            unparsed: [None, None],
            inside_tls: false,
        }
    }

    /// Whether the next entry would be dropped.
    pub fn is_full(&self) -> bool {
        self.entries.len() >= self.max
    }

    /// Appends an entry and tells its index; `None` when the bound dropped it (and it was
    /// counted). Ends the side's run of bytes not parsed.
    pub fn push(
        &mut self,
        frame: u64,
        time: Timestamp,
        from: Side,
        kind: EntryKind,
    ) -> Option<usize> {
        self.unparsed[from.index()] = None;
        if self.is_full() {
            self.dropped += 1;
            return None;
        }
        self.entries.push(Entry {
            frame,
            time,
            from,
            kind,
            provenance: if self.inside_tls {
                Provenance::Decrypted
            } else {
                Provenance::Clear
            },
        });
        Some(self.entries.len() - 1)
    }

    /// Records `bytes` of `from` not parsed, for `reason`: they join the side's previous
    /// not-parsed entry when nothing of that side came between and the reason is the same.
    pub fn unparsed(&mut self, from: Side, unparsed: Unparsed, frame: u64, time: Timestamp) {
        let run = self.unparsed[from.index()].and_then(|i| self.entries.get_mut(i));
        if let Some(Entry {
            kind: EntryKind::Unparsed { unparsed: run },
            ..
        }) = run
        {
            if run.reason == unparsed.reason {
                run.bytes += unparsed.bytes;
                return;
            }
        }
        let at = self.push(frame, time, from, EntryKind::Unparsed { unparsed });
        self.unparsed[from.index()] = at;
    }

    /// `bytes` of `from` are missing from the capture here.
    pub fn gap(&mut self, from: Side, bytes: u64, reason: GapReason, frame: u64, time: Timestamp) {
        let gap = Gap { bytes, reason };
        self.push(frame, time, from, EntryKind::Gap { gap });
    }

    /// Bytes before the protocol began (a tunnel or proxy handshake), not parsed.
    pub fn prefix(&mut self, from: Side, bytes: u64, frame: u64, time: Timestamp) {
        let unparsed = Unparsed {
            bytes,
            reason: "before the protocol began (tunnel or proxy)",
            text: None,
        };
        self.push(frame, time, from, EntryKind::Unparsed { unparsed });
    }

    /// TLS bytes of `from`, counted in the entry at `slot`, which is made at the first.
    pub fn tls(&mut self, slot: &mut Slot, from: Side, data: &[u8], frame: u64, time: Timestamp) {
        if *slot == Slot::Unmade {
            *slot = self.start_tls(from, frame, time);
        }
        self.add_tls(*slot, data, frame);
    }

    /// The body entry at `slot`, if it is kept.
    pub fn body_mut(&mut self, slot: Slot) -> Option<&mut Body> {
        match self.entries.get_mut(slot.at()?) {
            Some(Entry {
                kind: EntryKind::Body { body },
                ..
            }) => Some(body),
            _ => None,
        }
    }

    /// From here on `from` speaks TLS: the entry its TLS bytes are counted in.
    pub fn start_tls(&mut self, from: Side, frame: u64, time: Timestamp) -> Slot {
        let tls = TlsPart {
            bytes: 0,
            end_frame: frame,
            looks_like_tls: false,
        };
        self.push(frame, time, from, EntryKind::Tls { tls }).into()
    }

    /// Counts TLS bytes in the entry at `slot` (the first ones tell whether they look like TLS).
    pub fn add_tls(&mut self, slot: Slot, data: &[u8], frame: u64) {
        let Some(i) = slot.at() else { return };
        if let Some(Entry {
            kind: EntryKind::Tls { tls },
            ..
        }) = self.entries.get_mut(i)
        {
            if tls.bytes == 0 {
                tls.looks_like_tls = looks_like_tls(data);
            }
            tls.bytes += data.len() as u64;
            tls.end_frame = frame;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_parsed(bytes: u64, reason: &'static str) -> Unparsed {
        Unparsed {
            bytes,
            reason,
            text: None,
        }
    }

    #[test]
    fn runs_of_unparsed_bytes_join_until_something_else_comes() {
        let mut r = Recorder::new(10);
        let t = Timestamp::default();
        r.unparsed(Side::Server, not_parsed(3, "a"), 1, t);
        r.unparsed(Side::Client, not_parsed(1, "a"), 2, t);
        r.unparsed(Side::Server, not_parsed(4, "a"), 3, t);
        r.unparsed(Side::Server, not_parsed(5, "b"), 4, t);
        let gap = crate::dialogue::Gap {
            bytes: 1,
            reason: crate::tcp::GapReason::NotCaptured,
        };
        r.push(5, t, Side::Server, EntryKind::Gap { gap });
        r.unparsed(Side::Server, not_parsed(6, "b"), 6, t);
        let runs: Vec<(u64, u64)> = r
            .entries
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::Unparsed { unparsed } => Some((e.frame, unparsed.bytes)),
                _ => None,
            })
            .collect();
        assert_eq!(runs, [(1, 7), (2, 1), (4, 5), (6, 6)]);
    }

    #[test]
    fn past_the_bound_entries_are_counted_and_their_slots_say_so() {
        let mut r = Recorder::new(1);
        let t = Timestamp::default();
        assert_eq!(r.start_tls(Side::Client, 1, t), Slot::At(0));
        let dropped = r.start_tls(Side::Server, 2, t);
        assert_eq!(dropped, Slot::Dropped);
        r.add_tls(dropped, b"\x16\x03\x01", 3);
        r.add_tls(Slot::At(0), b"\x16\x03\x01", 3);
        assert_eq!(r.dropped, 1);
        assert!(matches!(
            &r.entries[0].kind,
            EntryKind::Tls { tls } if tls.bytes == 3 && tls.looks_like_tls
        ));
    }
}
