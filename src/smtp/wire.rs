//! SMTP on the wire, without state: command lines, reply lines, BDAT's argument and the
//! end of a DATA body. The session (`session.rs`) decides what they mean in order.

use crate::dialogue::display_text;

/// The first byte of a TLS handshake record: a client that starts TLS without STARTTLS.
pub(crate) const TLS_HANDSHAKE: u8 = 0x16;

/// Verbs of RFC 5321 and its extensions, for telling commands from other text.
pub(crate) const VERBS: &[&str] = &[
    "HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "VRFY", "EXPN", "HELP", "NOOP", "QUIT",
    "STARTTLS", "AUTH", "TURN", "ETRN", "ATRN", "XCLIENT", "XFORWARD", "SEND", "SOML", "SAML",
    "LHLO",
];

/// One reply line: the code, whether more lines follow, and the text after the code.
#[derive(Debug, PartialEq, Eq)]
pub struct ReplyLine<'a> {
    pub code: u16,
    pub more: bool,
    pub text: &'a [u8],
}

/// Parses `ddd`, `ddd text`, or `ddd-text` (RFC 5321 §4.2).
pub fn parse_reply_line(line: &[u8]) -> Option<ReplyLine<'_>> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || !(b'1'..=b'5').contains(&digits[0]) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    match line.get(3) {
        // "250\r" with a stray CR, as some servers send.
        None | Some(b'\r') => Some(ReplyLine {
            code,
            more: false,
            text: &[],
        }),
        Some(b' ' | b'\t') => Some(ReplyLine {
            code,
            more: false,
            text: &line[4..],
        }),
        Some(b'-') => Some(ReplyLine {
            code,
            more: true,
            text: &line[4..],
        }),
        _ => None,
    }
}

/// The enhanced status code (RFC 3463) at the start of a reply's text, if present:
/// class 2, 4 or 5, subject and detail of one to three digits each.
pub fn enhanced_code(text: &[u8]) -> Option<String> {
    let end = text
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(text.len());
    let word = std::str::from_utf8(&text[..end]).ok()?;
    let mut parts = word.split('.');
    let class = parts.next()?;
    let subject = parts.next()?;
    let detail = parts.next()?;
    if parts.next().is_some() || !matches!(class, "2" | "4" | "5") {
        return None;
    }
    let ok = |p: &str| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    (ok(subject) && ok(detail)).then(|| word.to_string())
}

/// Finds the end of a DATA body, the line holding a lone dot (RFC 5321 §4.1.1.4), in a
/// body given in pieces of any size, counting its bytes and lines on the way.
#[derive(Debug)]
pub(crate) struct DotScanner {
    /// Body bytes so far (dot-stuffing included, the terminator not).
    pub(crate) bytes: u64,
    /// Line ends so far.
    pub(crate) lines: u64,
    at_line_start: bool,
    /// 1 after a `.` at a line start, 2 after `.\r`.
    dot: u8,
}

impl Default for DotScanner {
    fn default() -> Self {
        DotScanner {
            bytes: 0,
            lines: 0,
            at_line_start: true,
            dot: 0,
        }
    }
}

impl DotScanner {
    /// Bytes went missing: whatever came before, the next byte is not known to start a line.
    pub(crate) fn lose_place(&mut self) {
        self.at_line_start = false;
        self.dot = 0;
    }
}

/// A line that starts with a dot: the end of the body, or a dot-stuffed line.
static DOT_LINE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\n."));

impl DotScanner {
    /// Counts body bytes up to the lone-dot line. Returns the bytes consumed (the
    /// terminator included) and whether the terminator was found.
    pub(crate) fn scan(&mut self, data: &[u8]) -> (usize, bool) {
        let scan = self;
        let mut i = 0;
        while i < data.len() {
            if scan.at_line_start || scan.dot > 0 {
                match (scan.dot, data[i]) {
                    (0, b'.') => {
                        scan.dot = 1;
                        i += 1;
                        continue;
                    }
                    (1, b'\r') => {
                        scan.dot = 2;
                        i += 1;
                        continue;
                    }
                    (1 | 2, b'\n') => {
                        scan.dot = 0;
                        return (i + 1, true);
                    }
                    _ => {
                        // Not the terminator: the dot (and CR) were body bytes.
                        scan.bytes += u64::from(scan.dot);
                        scan.dot = 0;
                        scan.at_line_start = false;
                    }
                }
            }
            // Mid-line: the lines up to the next one that starts with a dot are plain body,
            // counted in one pass rather than a search per line.
            let rest = data.get(i..).unwrap_or_default();
            let upto = DOT_LINE.find(rest).map_or(rest.len(), |p| p + 1);
            let chunk = rest.get(..upto).unwrap_or_default();
            scan.bytes += upto as u64;
            scan.lines += count_newlines(chunk);
            scan.at_line_start = chunk.last() == Some(&b'\n');
            i += upto;
        }
        (i, false)
    }
}

/// Line ends in `bytes`: 64 bytes at a time into a byte-wide counter, which the compiler
/// turns into vector compares (a plain `filter().count()` runs a byte at a time).
fn count_newlines(bytes: &[u8]) -> u64 {
    let mut blocks = bytes.chunks_exact(64);
    let mut total = 0u64;
    for block in &mut blocks {
        let mut n = 0u8;
        for &b in block {
            n += u8::from(b == b'\n');
        }
        total += u64::from(n);
    }
    // The remainder is under 64 bytes: not worth a bytecount dependency.
    #[allow(clippy::naive_bytecount)]
    let rest = blocks.remainder().iter().filter(|&&b| b == b'\n').count();
    total + rest as u64
}

/// Verb (upper-cased) and argument of a command line.
pub(crate) fn split_command(text: &[u8]) -> (String, &[u8]) {
    let (verb, rest) = match text.iter().position(|&b| b == b' ') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &text[text.len()..]),
    };
    match VERBS
        .iter()
        .find(|v| v.as_bytes().eq_ignore_ascii_case(verb))
    {
        Some(v) => ((*v).to_string(), rest),
        None => (display_text(verb).to_ascii_uppercase(), rest),
    }
}

/// Bytes up to and including the next line end, and whether there was one.
pub(crate) fn to_next_line(data: &[u8]) -> (usize, bool) {
    match memchr::memchr(b'\n', data) {
        Some(i) => (i + 1, true),
        None => (data.len(), false),
    }
}

pub(crate) fn first_line(data: &[u8]) -> &[u8] {
    let end = memchr::memchr(b'\n', data).unwrap_or(data.len());
    &data[..end]
}

/// An unknown word that could still be an extension verb (e.g. XEXCH50).
pub(crate) fn plausible_verb(verb: &str) -> bool {
    (1..=16).contains(&verb.len())
        && verb
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A line whose first word is an SMTP verb.
pub(crate) fn is_command_line(text: &[u8]) -> bool {
    let line = first_line(text);
    let word_end = line
        .iter()
        .position(|&b| b == b' ' || b == b'\r')
        .unwrap_or(line.len());
    let word = &line[..word_end];
    VERBS
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(word))
}

pub(crate) fn starts_like_command(data: &[u8]) -> bool {
    is_command_line(data) && (memchr::memchr(b'\n', data).is_some() || data.len() >= 4)
}

/// `BDAT <size> [LAST]` (RFC 3030); `None` when the syntax is wrong (no chunk follows).
pub(crate) fn parse_bdat(arg: &[u8]) -> Option<(u64, bool)> {
    let text = std::str::from_utf8(arg).ok()?;
    let mut words = text.split_ascii_whitespace();
    let size: u64 = words.next()?.parse().ok()?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return None,
    };
    words.next().is_none().then_some((size, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(chunks: &[&[u8]]) -> (u64, u64, bool, usize) {
        let mut s = DotScanner::default();
        let mut consumed = 0;
        for c in chunks {
            let (n, done) = s.scan(c);
            consumed += n;
            if done {
                return (s.bytes, s.lines, true, consumed);
            }
        }
        (s.bytes, s.lines, false, consumed)
    }

    /// The body scan as it was (a search per line), to hold the faster one to.
    fn scan_body_per_line(scan: &mut DotScanner, data: &[u8]) -> (usize, bool) {
        let mut i = 0;
        while i < data.len() {
            if scan.at_line_start || scan.dot > 0 {
                match (scan.dot, data[i]) {
                    (0, b'.') | (1, b'\r') => {
                        scan.dot += 1;
                        i += 1;
                        continue;
                    }
                    (1 | 2, b'\n') => {
                        scan.dot = 0;
                        return (i + 1, true);
                    }
                    _ => {
                        scan.bytes += u64::from(scan.dot);
                        scan.dot = 0;
                        scan.at_line_start = false;
                    }
                }
            }
            if let Some(p) = memchr::memchr(b'\n', &data[i..]) {
                scan.bytes += p as u64 + 1;
                scan.lines += 1;
                i += p + 1;
                scan.at_line_start = true;
            } else {
                scan.bytes += (data.len() - i) as u64;
                i = data.len();
            }
        }
        (i, false)
    }

    proptest::proptest! {
        #[test]
        fn body_scan_counts_as_a_search_per_line_does(
            body in proptest::collection::vec(proptest::sample::select(b".\r\nab".to_vec()), 0..300),
            cuts in proptest::collection::vec(0usize..300, 0..6),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(body.len())).collect();
            cuts.sort_unstable();
            let (mut fast, mut slow) = (DotScanner::default(), DotScanner::default());
            let mut at = 0;
            for end in cuts.into_iter().chain([body.len()]) {
                let piece = &body[at..end.max(at)];
                let a = fast.scan(piece);
                let b = scan_body_per_line(&mut slow, piece);
                proptest::prop_assert_eq!(a, b);
                proptest::prop_assert_eq!((fast.bytes, fast.lines, fast.dot, fast.at_line_start),
                    (slow.bytes, slow.lines, slow.dot, slow.at_line_start));
                if a.1 { break; }
                at = end.max(at);
            }
        }
    }

    #[test]
    fn body_ends_at_lone_dot_even_split() {
        assert_eq!(
            scan_all(&[b"Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n"]),
            (18, 3, true, 21)
        );
        assert_eq!(scan_all(&[b"hi\r\n.", b"\r", b"\nQUIT"]), (4, 1, true, 7));
        assert_eq!(scan_all(&[b"..stuffed\r\n.\n"]), (11, 1, true, 13));
        assert_eq!(scan_all(&[b".x\r\n", b"no end"]), (10, 1, false, 10));
    }

    #[test]
    fn bdat_syntax() {
        assert_eq!(parse_bdat(b"86 LAST"), Some((86, true)));
        assert_eq!(parse_bdat(b"129"), Some((129, false)));
        assert_eq!(parse_bdat(b"1234 SCRAMBLE"), None);
        assert_eq!(parse_bdat(b"SCRAMBLE"), None);
        assert_eq!(parse_bdat(b""), None);
    }

    #[test]
    fn reply_lines() {
        assert_eq!(
            parse_reply_line(b"250-SIZE 157286400").map(|r| (r.code, r.more)),
            Some((250, true))
        );
        assert_eq!(
            parse_reply_line(b"221 2.0.0 Bye").map(|r| (r.code, r.more)),
            Some((221, false))
        );
        assert_eq!(parse_reply_line(b"250").map(|r| r.code), Some(250));
        assert!(parse_reply_line(b"4.7.0 [IPTS04] deferred").is_none());
        assert!(parse_reply_line(b"25").is_none());
        assert!(parse_reply_line(b"2500 x").is_none());
        assert!(parse_reply_line(b"HELO x").is_none());
    }

    #[test]
    fn enhanced_codes() {
        assert_eq!(
            enhanced_code(b"5.7.57 Client not authenticated").as_deref(),
            Some("5.7.57")
        );
        assert_eq!(
            enhanced_code(b"5.7.139 Authentication unsuccessful").as_deref(),
            Some("5.7.139")
        );
        assert_eq!(enhanced_code(b"2.0.0").as_deref(), Some("2.0.0"));
        assert_eq!(
            enhanced_code(b"PN4P287CA0064.outlook.office365.com Hello"),
            None
        );
        assert_eq!(enhanced_code(b"3.1.1 x"), None);
        assert_eq!(enhanced_code(b"5.7.1234 x"), None);
    }
}
