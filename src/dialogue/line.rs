use std::fmt::Write as _;

use crate::base::Timestamp;

/// A text line of a stream, without its line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: Vec<u8>,
    pub frame: u64,
    pub time: Timestamp,
    /// Frame that held the line's last byte (Wireshark shows the line there).
    pub end_frame: u64,
    /// Bytes of the line on the wire, line ending included.
    pub wire_len: u64,
    /// The line was longer than what is kept; `text` holds its beginning.
    pub truncated: bool,
    /// False for a last line the capture ends inside.
    pub terminated: bool,
}

/// Longest line kept whole; longer lines are kept in part and marked (RFC 5321 allows
/// 512 octets for commands, 1000 for text; real traffic exceeds both).
pub const MAX_LINE: usize = 64 * 1024;

/// Splits a byte stream into lines ending in CRLF or bare LF, remembering the frame
/// that held each line's first byte.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
    start: Option<(u64, Timestamp)>,
    wire_len: u64,
    truncated: bool,
    end_frame: u64,
}

impl LineSplitter {
    /// Consumes bytes of `data` up to and including the first line end. Returns the line
    /// if one was completed, and how many bytes were consumed.
    pub fn feed(&mut self, data: &[u8], frame: u64, time: Timestamp) -> (Option<Line>, usize) {
        if data.is_empty() {
            return (None, 0);
        }
        if self.start.is_none() {
            self.start = Some((frame, time));
        }
        let (chunk, done) = match memchr::memchr(b'\n', data) {
            Some(i) => (&data[..=i], true),
            None => (data, false),
        };
        self.wire_len += chunk.len() as u64;
        let room = MAX_LINE.saturating_sub(self.buf.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        self.end_frame = frame;
        if done {
            (self.take(true), chunk.len())
        } else {
            (None, chunk.len())
        }
    }

    /// The unterminated line held, if any (the stream ended inside it).
    pub fn take_partial(&mut self) -> Option<Line> {
        if self.start.is_some() && self.wire_len > 0 {
            self.take(false)
        } else {
            None
        }
    }

    /// Forgets a partial line (after a gap its continuation is unknown).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.start = None;
        self.wire_len = 0;
        self.truncated = false;
    }

    pub fn is_empty(&self) -> bool {
        self.wire_len == 0
    }

    /// Bytes of the unfinished line held so far (on the wire).
    pub fn pending_len(&self) -> usize {
        usize::try_from(self.wire_len).unwrap_or(usize::MAX)
    }

    fn take(&mut self, terminated: bool) -> Option<Line> {
        let (frame, time) = self.start.take()?;
        let mut text = std::mem::take(&mut self.buf);
        if !self.truncated {
            if text.last() == Some(&b'\n') {
                text.pop();
            }
            if text.last() == Some(&b'\r') {
                text.pop();
            }
        }
        let line = Line {
            text,
            frame,
            time,
            end_frame: self.end_frame,
            wire_len: self.wire_len,
            truncated: self.truncated,
            terminated,
        };
        self.wire_len = 0;
        self.truncated = false;
        Some(line)
    }
}

/// At most `n` characters of `s`, with `…` where it was cut.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// Wire bytes as text: UTF-8 where valid, other bytes as `\xNN`.
pub fn display_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() && c != '\t' {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<(String, u64)> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            let mut rest = *c;
            while !rest.is_empty() {
                let (l, n) = s.feed(rest, i as u64 + 1, Timestamp::default());
                rest = &rest[n..];
                if let Some(l) = l {
                    out.push((String::from_utf8(l.text).unwrap(), l.frame));
                }
            }
        }
        if let Some(l) = s.take_partial() {
            out.push((String::from_utf8(l.text).unwrap(), l.frame));
        }
        out
    }

    #[test]
    fn crlf_bare_lf_split_and_unterminated() {
        assert_eq!(
            lines(&[b"EH", b"LO x\r\nMAIL FROM:<a>\nRC", b"PT"]),
            vec![
                ("EHLO x".into(), 1),
                ("MAIL FROM:<a>".into(), 2),
                ("RCPT".into(), 2)
            ]
        );
    }

    #[test]
    fn overlong_line_is_truncated_and_marked() {
        let mut s = LineSplitter::default();
        let long = vec![b'A'; MAX_LINE * 2];
        let (l, n) = s.feed(&long, 1, Timestamp::default());
        assert!(l.is_none());
        assert_eq!(n, long.len());
        let (l, _) = s.feed(b"\r\n", 2, Timestamp::default());
        let l = l.unwrap();
        assert!(l.truncated);
        assert_eq!(l.text.len(), MAX_LINE);
        assert_eq!(l.wire_len, (MAX_LINE * 2 + 2) as u64);
    }

    #[test]
    fn display_escapes_controls_and_bad_utf8() {
        assert_eq!(display_text(b"a\x01b\xffc"), "a\\x01b\\xffc");
    }
}
