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
        None => Some(ReplyLine {
            code,
            more: false,
            text: &[],
        }),
        Some(b' ') | Some(b'\t') => Some(ReplyLine {
            code,
            more: false,
            text: &line[4..],
        }),
        Some(b'-') => Some(ReplyLine {
            code,
            more: true,
            text: &line[4..],
        }),
        // "250\r" with a stray CR, as some servers send.
        Some(b'\r') => Some(ReplyLine {
            code,
            more: false,
            text: &[],
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

#[cfg(test)]
mod tests {
    use super::*;

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
