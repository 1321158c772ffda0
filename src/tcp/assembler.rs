use std::collections::BTreeMap;

use crate::base::{to_index, Timestamp};

/// What a stored piece of a stream holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Data(Vec<u8>),
    /// Bytes the packet carried but the capture did not keep (snapshot length).
    Missing(u64),
}

impl Content {
    pub fn len(&self) -> u64 {
        match self {
            Content::Data(d) => d.len() as u64,
            Content::Missing(n) => *n,
        }
    }
}

/// Where a piece of a stream was captured, and how far into the peer's stream its segment
/// had acknowledged: the sink must have that much of the peer before this piece makes sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub frame: u64,
    pub time: Timestamp,
    /// Offset in the peer's stream acknowledged by the segment (0: no constraint;
    /// [`AWAIT_BASE`]: the peer's stream had no known start yet, see `ack`).
    pub needs: u64,
    /// The acknowledgement number, for placing it once the peer's start is known.
    pub ack: u32,
}

/// `needs` of a segment that acknowledged the peer before any byte of the peer was seen
/// (a capture begun mid-conversation): it is placed once the peer's start is known.
pub const AWAIT_BASE: u64 = u64::MAX;

#[derive(Debug, Clone)]
pub struct Piece {
    pub content: Content,
    pub origin: Origin,
}

/// Out-of-order data of one stream direction, as non-overlapping pieces keyed by stream
/// offset. The first copy of a byte wins; a later copy that differs is counted.
#[derive(Debug, Default)]
pub struct Assembler {
    pieces: BTreeMap<u64, Piece>,
    stored: u64,
    pub conflicting_overlaps: u64,
}

impl Assembler {
    /// Bytes of data held (missing pieces do not count).
    pub fn stored_bytes(&self) -> u64 {
        self.stored
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Offset of the first piece held.
    pub fn first_offset(&self) -> Option<u64> {
        self.pieces.keys().next().copied()
    }

    /// Where the first piece held was captured.
    pub fn first_origin(&self) -> Option<Origin> {
        self.pieces.values().next().map(|p| p.origin)
    }

    /// Stores `content` at `start`, keeping what is already held where they overlap.
    pub fn insert(&mut self, start: u64, content: Content, origin: Origin) {
        let end = start + content.len();
        if end == start {
            return;
        }
        // The holes of [start, end) not covered by a held piece.
        let mut holes = Vec::new();
        let mut cursor = start;
        let overlapping = self
            .pieces
            .range(..end)
            .rev()
            .take_while(|(&s, p)| s + p.content.len() > start)
            .map(|(&s, p)| (s, p.content.len()))
            .collect::<Vec<_>>();
        for &(s, len) in overlapping.iter().rev() {
            if s > cursor {
                holes.push((cursor, s));
            }
            if let (
                Content::Data(new),
                Some(Piece {
                    content: Content::Data(old),
                    ..
                }),
            ) = (&content, self.pieces.get(&s))
            {
                let lo = s.max(start);
                let hi = (s + len).min(end);
                if lo < hi
                    && new.get(to_index(lo - start)..to_index(hi - start))
                        != old.get(to_index(lo - s)..to_index(hi - s))
                {
                    self.conflicting_overlaps += 1;
                }
            }
            cursor = cursor.max(s + len);
        }
        if cursor < end {
            holes.push((cursor, end));
        }
        for (lo, hi) in holes {
            let piece_content = match &content {
                Content::Data(d) => {
                    let part = d
                        .get(to_index(lo - start)..to_index(hi - start))
                        .unwrap_or_default()
                        .to_vec();
                    self.stored += part.len() as u64;
                    Content::Data(part)
                }
                Content::Missing(_) => Content::Missing(hi - lo),
            };
            self.pieces.insert(
                lo,
                Piece {
                    content: piece_content,
                    origin,
                },
            );
        }
    }

    /// Removes and returns the first piece if it starts at or before `offset`, with the
    /// part before `offset` cut away (that part was delivered already).
    pub fn pop_at(&mut self, offset: u64) -> Option<Piece> {
        let (&start, _) = self.pieces.iter().next()?;
        if start > offset {
            return None;
        }
        let mut piece = self.pieces.remove(&start)?;
        if let Content::Data(d) = &piece.content {
            self.stored -= d.len() as u64;
        }
        let skip = offset - start;
        if skip > 0 {
            piece.content = match piece.content {
                Content::Data(mut d) => {
                    if to_index(skip) >= d.len() {
                        return self.pop_at(offset);
                    }
                    d.drain(..to_index(skip));
                    Content::Data(d)
                }
                Content::Missing(n) if n > skip => Content::Missing(n - skip),
                Content::Missing(_) => return self.pop_at(offset),
            };
        }
        Some(piece)
    }

    pub fn clear(&mut self) {
        self.pieces.clear();
        self.stored = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(a: &mut Assembler, start: u64, bytes: &[u8]) {
        let origin = Origin {
            frame: 1,
            time: Timestamp::default(),
            needs: 0,
            ack: 0,
        };
        a.insert(start, Content::Data(bytes.to_vec()), origin);
    }

    fn drain(a: &mut Assembler, mut at: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(p) = a.pop_at(at) {
            if let Content::Data(d) = p.content {
                at += d.len() as u64;
                out.extend(d);
            }
        }
        out
    }

    #[test]
    fn first_copy_wins_and_conflict_is_counted() {
        let mut a = Assembler::default();
        data(&mut a, 2, b"cdef");
        data(&mut a, 0, b"abXDEFgh");
        assert_eq!(a.conflicting_overlaps, 1);
        assert_eq!(drain(&mut a, 0), b"abcdefgh");
        assert_eq!(a.stored_bytes(), 0);
    }

    #[test]
    fn identical_overlap_is_not_a_conflict() {
        let mut a = Assembler::default();
        data(&mut a, 4, b"efgh");
        data(&mut a, 0, b"abcdefgh");
        data(&mut a, 2, b"cdef");
        assert_eq!(a.conflicting_overlaps, 0);
        assert_eq!(drain(&mut a, 0), b"abcdefgh");
    }

    #[test]
    fn pop_trims_delivered_prefix() {
        let mut a = Assembler::default();
        data(&mut a, 10, b"0123456789");
        let p = a.pop_at(15).unwrap();
        assert_eq!(p.content, Content::Data(b"56789".to_vec()));
    }
}
