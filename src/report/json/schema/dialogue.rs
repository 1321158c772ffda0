//! A dialogue's entries, as the JSON report shows them.

use serde::Serialize;

use super::{is_false, is_zero, seconds, side, Seconds};
use crate::dialogue::{
    AuthData, Body, BodyKind, Entry, EntryKind, Gap, Provenance, TlsPart, Unparsed,
};
use crate::tcp::GapReason;

/// One step of a dialogue: where and who, then what (one of the forms below, by its keys).
#[derive(Serialize)]
pub(super) struct DialogueEntry<'a> {
    frame: u64,
    time: Seconds,
    from: &'static str,
    /// How the entry is known, written where it was not seen in clear: `decrypted` (inside
    /// TLS, with a key log) or `inferred` (inside TLS, from the record lengths).
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<&'static str>,
    /// Inferred: the plaintext bytes it was read from (a range for CBC suites).
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_max: Option<u64>,
    /// Inferred replies: the length fits other texts too, all of the same meaning.
    #[serde(skip_serializing_if = "is_false")]
    alike: bool,
    #[serde(flatten)]
    what: What<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum What<'a> {
    Command {
        command: &'a str,
        argument: &'a str,
        #[serde(skip_serializing_if = "is_false")]
        truncated: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        end_frame: Option<u64>,
        #[serde(skip_serializing_if = "is_zero")]
        repeated: u64,
    },
    Reply {
        code: u16,
        enhanced: Option<&'a str>,
        lines: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        end_frame: Option<u64>,
        answers: Option<AnswersTo<'a>>,
    },
    Status {
        status: &'a str,
        lines: &'a [String],
        answers: Option<AnswersTo<'a>>,
    },
    Auth {
        auth: Auth<'a>,
    },
    Body {
        body: MessageBody,
    },
    Tls {
        tls: TlsStart,
    },
    Gap {
        gap: Missing,
    },
    Unparsed {
        unparsed: NotParsed<'a>,
    },
}

impl<'a> DialogueEntry<'a> {
    pub(super) fn new(e: &'a Entry) -> Self {
        let what = match &e.kind {
            EntryKind::Command {
                command,
                argument,
                truncated,
                end_frame,
                repeated,
            } => What::Command {
                command,
                argument,
                truncated: *truncated,
                end_frame: *end_frame,
                repeated: *repeated,
            },
            EntryKind::Reply {
                code,
                enhanced,
                lines,
                end_frame,
                answers,
            } => What::Reply {
                code: *code,
                enhanced: enhanced.as_deref(),
                lines,
                end_frame: *end_frame,
                answers: answers.as_ref().map(AnswersTo::new),
            },
            EntryKind::Status {
                status,
                lines,
                answers,
            } => What::Status {
                status,
                lines,
                answers: answers.as_ref().map(AnswersTo::new),
            },
            EntryKind::Auth { auth } => What::Auth {
                auth: Auth::new(auth),
            },
            EntryKind::Body { body } => What::Body {
                body: MessageBody::new(body),
            },
            EntryKind::Tls { tls } => What::Tls {
                tls: TlsStart::new(tls),
            },
            EntryKind::Gap { gap } => What::Gap {
                gap: Missing::new(gap),
            },
            EntryKind::Unparsed { unparsed } => What::Unparsed {
                unparsed: NotParsed::new(unparsed),
            },
        };
        let (bytes, alike) = match e.provenance {
            Provenance::Inferred { bytes, alike } => (Some(bytes), alike),
            _ => (None, false),
        };
        DialogueEntry {
            frame: e.frame,
            time: seconds(e.time),
            from: side(e.from),
            provenance: (!e.provenance.in_clear()).then(|| e.provenance.name()),
            bytes: bytes.map(|b| b.lo),
            bytes_max: bytes.filter(|b| !b.is_exact()).map(|b| b.hi),
            alike,
            what,
        }
    }
}

#[derive(Serialize)]
struct AnswersTo<'a> {
    command: &'a str,
    frame: u64,
}

impl<'a> AnswersTo<'a> {
    fn new(a: &'a crate::dialogue::Answers) -> Self {
        AnswersTo {
            command: a.command.as_str(),
            frame: a.frame,
        }
    }
}

#[derive(Serialize)]
struct Auth<'a> {
    mechanism: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    redacted: bool,
    /// What the withheld part would give a reader.
    exposure: &'static str,
    #[serde(skip_serializing_if = "is_false")]
    cancelled: bool,
}

impl<'a> Auth<'a> {
    fn new(a: &'a AuthData) -> Self {
        Auth {
            mechanism: &a.mechanism,
            username: a.username.as_deref(),
            redacted: a.redacted,
            exposure: a.exposure.name(),
            cancelled: a.cancelled,
        }
    }
}

#[derive(Serialize)]
struct MessageBody {
    kind: &'static str,
    bytes: u64,
    lines: u64,
    end_frame: u64,
    complete: bool,
    #[serde(skip_serializing_if = "is_false")]
    gaps: bool,
    #[serde(skip_serializing_if = "is_false")]
    last: bool,
}

impl MessageBody {
    fn new(b: &Body) -> Self {
        MessageBody {
            kind: match b.kind {
                BodyKind::Data => "data",
                BodyKind::Bdat => "bdat",
            },
            bytes: b.bytes,
            lines: b.lines,
            end_frame: b.end_frame,
            complete: b.complete,
            gaps: b.gaps,
            last: b.last,
        }
    }
}

#[derive(Serialize)]
struct TlsStart {
    bytes: u64,
    end_frame: u64,
    looks_like_tls: bool,
}

impl TlsStart {
    fn new(t: &TlsPart) -> Self {
        TlsStart {
            bytes: t.bytes,
            end_frame: t.end_frame,
            looks_like_tls: t.looks_like_tls,
        }
    }
}

#[derive(Serialize)]
struct Missing {
    bytes: u64,
    reason: &'static str,
}

impl Missing {
    fn new(g: &Gap) -> Self {
        Missing {
            bytes: g.bytes,
            reason: match g.reason {
                GapReason::NotCaptured => "not-captured",
                GapReason::Snaplen => "snaplen",
            },
        }
    }
}

#[derive(Serialize)]
struct NotParsed<'a> {
    bytes: u64,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

impl<'a> NotParsed<'a> {
    fn new(u: &'a Unparsed) -> Self {
        NotParsed {
            bytes: u.bytes,
            reason: u.reason,
            text: u.text.as_deref(),
        }
    }
}
