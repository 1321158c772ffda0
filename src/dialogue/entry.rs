use super::answered::Answered;

use super::sasl::AuthData;
use crate::base::{Len, Side, Timestamp};
use crate::tcp::GapReason;

/// One step of a dialogue, where it starts on the wire and who sent it.
#[derive(Clone, Debug)]
pub struct Entry {
    pub frame: u64,
    pub time: Timestamp,
    pub from: Side,
    pub kind: EntryKind,
    /// How the entry is known: seen in clear, decrypted, or read from record lengths.
    pub provenance: Provenance,
}

/// How an entry of the dialogue is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// Sent in clear text and read as sent.
    Clear,
    /// Sent inside TLS and read from its decryption with a key log.
    Decrypted,
    /// Sent inside TLS and read from the lengths of its records (no keys): what it is,
    /// never its text. `bytes`: the plaintext length of the turn it was read from.
    /// `alike`: a reply whose length fits other texts as well, all of the same meaning
    /// (its lines are one of them).
    Inferred { bytes: Len, alike: bool },
}

impl Provenance {
    /// Seen as it crossed the network, in clear text.
    #[must_use]
    pub fn in_clear(self) -> bool {
        self == Provenance::Clear
    }

    #[must_use]
    pub fn inferred(self) -> bool {
        matches!(self, Provenance::Inferred { .. })
    }

    /// `clear`, `decrypted` or `inferred`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Provenance::Clear => "clear",
            Provenance::Decrypted => "decrypted",
            Provenance::Inferred { .. } => "inferred",
        }
    }
}

#[derive(Clone, Debug)]
pub enum EntryKind {
    Command {
        command: String,
        argument: String,
        truncated: bool,
        /// Set when the line ends in a later frame than it starts.
        end_frame: Option<u64>,
        /// The same command sent again this many times right after (a flood folded).
        repeated: u64,
    },
    Reply {
        code: u16,
        enhanced: Option<String>,
        lines: Vec<String>,
        end_frame: Option<u64>,
        /// The command this reply answers: its verb and frame (`GREETING` for the banner).
        answers: Option<Answers>,
    },
    /// A POP3 response: `+OK`, `-ERR`, or `+` (a SASL challenge).
    Status {
        status: String,
        lines: Vec<String>,
        answers: Option<Answers>,
    },
    Auth {
        auth: AuthData,
    },
    Body {
        body: Body,
    },
    Tls {
        tls: TlsPart,
    },
    Gap {
        gap: Gap,
    },
    Unparsed {
        unparsed: Unparsed,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answers {
    pub command: Answered,
    pub frame: u64,
}

/// A message body: DATA up to the lone dot, or one BDAT chunk. Counted, never stored.
#[derive(Clone, Debug)]
pub struct Body {
    pub kind: BodyKind,
    pub bytes: u64,
    pub lines: u64,
    pub end_frame: u64,
    /// The end (the lone dot, or the chunk's last byte) was seen.
    pub complete: bool,
    /// Part of the body is missing from the capture.
    pub gaps: bool,
    pub last: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    Data,
    Bdat,
}

/// From here on this side speaks TLS (after STARTTLS, or implicit TLS).
#[derive(Clone, Debug)]
pub struct TlsPart {
    pub bytes: u64,
    pub end_frame: u64,
    /// The first bytes have the form of a TLS record (false: e.g. a decrypted capture, or a
    /// client that went on in plain text).
    pub looks_like_tls: bool,
}

/// Whether `data` starts like a TLS record (content type 20–24, major version 3) or an
/// SSLv2-framed `ClientHello`.
pub fn looks_like_tls(data: &[u8]) -> bool {
    match data {
        [t, 3, ..] => (20..=24).contains(t),
        [t, ..] if t & 0x80 != 0 => true,
        _ => false,
    }
}

#[derive(Clone, Debug)]
pub struct Gap {
    pub bytes: u64,
    pub reason: GapReason,
}

#[derive(Clone, Debug)]
pub struct Unparsed {
    pub bytes: u64,
    pub reason: &'static str,
    pub text: Option<String>,
}

impl Entry {
    pub fn command(&self) -> Option<&str> {
        match &self.kind {
            EntryKind::Command { command, .. } => Some(command),
            _ => None,
        }
    }

    /// A reply as the reports quote it: as one sentence where it was seen (in clear or
    /// decrypted); read from record lengths, as what it was read as, never as text seen.
    pub fn quote(&self) -> Option<String> {
        let EntryKind::Reply {
            code,
            enhanced,
            lines,
            ..
        } = &self.kind
        else {
            return None;
        };
        let sentence = || reply_sentence(*code, enhanced.as_deref(), lines);
        let Provenance::Inferred { bytes, alike } = self.provenance else {
            return Some(sentence());
        };
        Some(if lines.is_empty() {
            let what = if *code >= 400 {
                "a refusal whose text the length does not tell"
            } else {
                "an acceptance"
            };
            format!("read as {what}, from an encrypted turn of {bytes} bytes")
        } else {
            let or = if alike {
                " or a text of the same meaning"
            } else {
                ""
            };
            format!(
                "read as `{}`{or}, from an encrypted turn of {bytes} bytes",
                sentence()
            )
        })
    }

    pub fn reply_code(&self) -> Option<u16> {
        match &self.kind {
            EntryKind::Reply { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Two dialogues' entries in frame order, `a`'s first where frames are equal: a session's
/// own and those read inside its TLS.
#[must_use]
pub fn merged<'a>(a: &'a [Entry], b: &'a [Entry]) -> Vec<&'a Entry> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let take_a = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.frame <= y.frame,
            (Some(_), None) => true,
            _ => false,
        };
        if take_a {
            out.push(&a[i]);
            i += 1;
        } else {
            out.push(&b[j]);
            j += 1;
        }
    }
    out
}

/// A reply as one sentence: its code and enhanced code once, then the text of every line
/// (its `NNN-`/`NNN ` prefix and the repeated enhanced code removed) joined with one
/// space, so that a refusal spread over lines is quoted and read whole.
#[must_use]
pub fn reply_sentence(code: u16, enhanced: Option<&str>, lines: &[String]) -> String {
    let mut out = code.to_string();
    if let Some(e) = enhanced {
        out.push(' ');
        out.push_str(e);
    }
    let prefix = code.to_string();
    for line in lines {
        let text = line
            .strip_prefix(prefix.as_str())
            .and_then(|t| {
                t.strip_prefix('-')
                    .or_else(|| t.strip_prefix(' '))
                    .or(Some(t))
            })
            .unwrap_or(line);
        let text = enhanced
            .and_then(|e| text.strip_prefix(e))
            .filter(|t| t.is_empty() || t.starts_with(' '))
            .unwrap_or(text)
            .trim();
        if !text.is_empty() {
            out.push(' ');
            out.push_str(text);
        }
    }
    out
}

#[cfg(test)]
mod sentence_tests {
    use super::reply_sentence;

    #[test]
    fn a_refusal_over_three_lines_reads_as_one_sentence() {
        let lines: Vec<String> = [
            "530-5.7.0 Must issue a STARTTLS command first. For more information, go to",
            "530-5.7.0  https://support.google.com/a/answer/3221692 and review RFC 3207",
            "530 5.7.0 specifications. d2e1a72fcca58-7e1b2c set",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            reply_sentence(530, Some("5.7.0"), &lines),
            "530 5.7.0 Must issue a STARTTLS command first. For more information, go to https://support.google.com/a/answer/3221692 and review RFC 3207 specifications. d2e1a72fcca58-7e1b2c set"
        );
        let one = vec!["554 5.7.1 <a@b>: Relay access denied".to_string()];
        assert_eq!(reply_sentence(554, Some("5.7.1"), &one), one[0]);
        let bare = vec!["421 Service not available".to_string()];
        assert_eq!(reply_sentence(421, None, &bare), bare[0]);
        assert_eq!(reply_sentence(250, None, &["250".to_string()]), "250");
    }
}
