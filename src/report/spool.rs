//! Rendered pieces of a report kept in order until the report is assembled: in memory up
//! to a budget, then in an anonymous temporary file, so that a capture with a hundred
//! thousand sessions costs disk, not memory.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

/// Bytes held in memory before the spool moves to a temporary file.
pub const DEFAULT_BUDGET: usize = 1 << 20;

/// Pieces of a report held for later: in memory up to a budget, then in a temporary file.
pub struct Spool {
    mem: Vec<u8>,
    file: Option<BufWriter<File>>,
    budget: usize,
    pieces: usize,
    /// The first write error; reported when the spool is read back.
    error: Option<io::Error>,
}

impl Default for Spool {
    fn default() -> Self {
        Spool::with_budget(DEFAULT_BUDGET)
    }
}

impl Spool {
    /// A spool that keeps up to `budget` bytes in memory.
    pub fn with_budget(budget: usize) -> Self {
        Spool {
            mem: Vec::new(),
            file: None,
            budget,
            pieces: 0,
            error: None,
        }
    }

    /// Whether no piece was pushed.
    pub fn is_empty(&self) -> bool {
        self.pieces == 0
    }

    /// Appends one piece. Pieces come back one by one, in order, from [`Spool::drain`].
    pub fn push(&mut self, piece: &[u8]) {
        self.pieces += 1;
        let len = (piece.len() as u64).to_le_bytes();
        // The length prefix counts too: one byte past the budget doubles the buffer.
        if self.file.is_none() && self.mem.len() + len.len() + piece.len() > self.budget {
            // No temporary directory: go on in memory rather than fail the report.
            if let Ok(f) = tempfile::tempfile() {
                let mut w = BufWriter::with_capacity(64 << 10, f);
                if let Err(e) = w.write_all(&self.mem) {
                    self.error.get_or_insert(e);
                }
                self.mem = Vec::new();
                self.file = Some(w);
            }
        }
        if let Some(w) = &mut self.file {
            if let Err(e) = w.write_all(&len).and_then(|()| w.write_all(piece)) {
                self.error.get_or_insert(e);
            }
        } else {
            self.mem.extend_from_slice(&len);
            self.mem.extend_from_slice(piece);
        }
    }

    /// Hands each piece to `each`, in the order they were pushed.
    ///
    /// # Errors
    /// The spool's file could not be written or read back, or `each` failed.
    pub fn drain(self, each: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut source: Box<dyn Read> = match self.file {
            Some(w) => {
                let mut f = w
                    .into_inner()
                    .map_err(std::io::IntoInnerError::into_error)?;
                f.rewind()?;
                Box::new(BufReader::with_capacity(64 << 10, f))
            }
            None => Box::new(io::Cursor::new(self.mem)),
        };
        let mut piece = Vec::new();
        for _ in 0..self.pieces {
            let mut len = [0u8; 8];
            source.read_exact(&mut len)?;
            let len = u64::from_le_bytes(len);
            piece.clear();
            let read = (&mut source).take(len).read_to_end(&mut piece)?;
            if read as u64 != len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "report spool file cut short",
                ));
            }
            each(&piece)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(s: Spool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        s.drain(&mut |p| {
            out.push(p.to_vec());
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn pieces_come_back_in_order_from_memory() {
        let mut s = Spool::default();
        for p in ["a", "", "bc"] {
            s.push(p.as_bytes());
        }
        assert!(s.file.is_none());
        assert_eq!(pieces(s), vec![b"a".to_vec(), vec![], b"bc".to_vec()]);
    }

    #[test]
    fn pieces_past_the_budget_go_to_a_file_and_come_back_whole() {
        let mut s = Spool::with_budget(100);
        let want: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; usize::from(i) * 7]).collect();
        for p in &want {
            s.push(p);
        }
        assert!(s.file.is_some());
        assert!(s.mem.is_empty());
        assert_eq!(pieces(s), want);
    }
}
