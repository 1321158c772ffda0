//! A conversation as a ladder diagram: the client and server columns, one arrow per
//! command, reply, login step and message, the band where TLS starts, what the capture
//! lacks, and the reply that decided the outcome tied to its finding. The HTML report
//! draws it as SVG, the Markdown report as a Mermaid sequence diagram, the terminal as
//! arrows.

use std::fmt::Write;

use crate::analysis::Session;
use crate::base::{Len, Side, Timestamp};
use crate::diagnosis::{Basis, Finding, SessionDiagnosis};
use crate::dialogue::{clip, reply_sentence, BodyKind, Entry, EntryKind, Provenance};
use crate::tcp::GapReason;

/// Arrows drawn per session; the rest are counted (with the display filter to see them).
pub const MAX_ARROWS: usize = 200;
/// Sessions drawn per report.
pub const MAX_LADDERS: usize = 200;
/// Bytes a report for people (HTML, Markdown) spends on its per-session parts (table rows,
/// findings, ladders, transcripts): past it, sessions are counted, not shown, so that a
/// report stays under 5 MB whatever the capture (the JSON and CSV reports hold them all).
pub const REPORT_BUDGET: usize = 4 << 20;
/// Transcript lines a session's part of such a report shows.
pub const TRANSCRIPT_LINES: usize = 300;

/// What is left of [`REPORT_BUDGET`].
#[derive(Debug)]
pub struct Budget {
    left: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            left: REPORT_BUDGET,
        }
    }
}

impl Budget {
    /// Pushes `piece` onto `spool` if its bytes are left; false if it was left out.
    pub fn keep(&mut self, spool: &mut super::Spool, piece: &str) -> bool {
        match self.left.checked_sub(piece.len()) {
            Some(rest) => {
                self.left = rest;
                spool.push(piece.as_bytes());
                true
            }
            None => false,
        }
    }
}

/// The first [`TRANSCRIPT_LINES`] lines of a transcript, and a line that says how many
/// more there are.
pub fn cut_transcript(t: &str) -> String {
    let total = t.lines().count();
    if total <= TRANSCRIPT_LINES {
        return t.to_string();
    }
    let mut out: String = t
        .lines()
        .take(TRANSCRIPT_LINES)
        .flat_map(|l| [l, "\n"])
        .collect();
    let _ = writeln!(
        out,
        "… {} more lines: `smtpcap analyze --transcript` shows them all",
        total - TRANSCRIPT_LINES
    );
    out
}

/// Characters of a label drawn (the whole text is in the transcript).
const LABEL: usize = 72;

/// What an arrow stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrowKind {
    Command,
    /// A reply, by its first digit: 2 and 3 positive, 4 transient, 5 permanent.
    Reply(u16),
    /// A login step (user name shown, password withheld).
    Auth,
    /// A message body, by its size.
    Body,
    /// From here on, this side speaks TLS.
    TlsStart,
    /// Bytes the capture does not hold.
    Missing,
    /// Bytes not parsed.
    NotParsed,
    /// Inside TLS, read from the record lengths (no keys).
    Inferred,
}

/// One arrow of a ladder.
#[derive(Clone, Debug)]
pub struct Arrow {
    pub frame: u64,
    pub time: Timestamp,
    pub from: Side,
    pub kind: ArrowKind,
    pub label: String,
    /// The same command and reply came this many times in a row (folded into one).
    pub count: u64,
    /// Read from inside TLS (decrypted, or inferred).
    pub inside_tls: bool,
    /// The reply that decided the outcome.
    pub deciding: bool,
    /// The finding this arrow is evidence of.
    pub finding: Option<&'static str>,
}

/// A session's ladder.
#[derive(Clone, Debug)]
pub struct Ladder {
    pub id: usize,
    pub client: String,
    pub server: String,
    /// The server's name and role, when known.
    pub server_name: Option<String>,
    pub role: &'static str,
    pub arrows: Vec<Arrow>,
    /// Arrows past the bound, not drawn.
    pub not_drawn: usize,
    pub start: Timestamp,
}

impl Ladder {
    /// The ladder of `s`, with its diagnosis and findings.
    pub fn of(s: &Session, sd: &SessionDiagnosis, findings: &[&Finding]) -> Ladder {
        let deciding = sd.deciding_reply.as_ref().map(|d| d.frame);
        let finding_at = |frame: u64| {
            findings
                .iter()
                .find(|f| f.evidence.iter().any(|e| e.frame == frame))
                .map(|f| f.id.as_str())
        };
        let mut arrows: Vec<Arrow> = Vec::new();
        let mut tls_started = false;
        for e in sd.dialogue(s) {
            if matches!(e.kind, EntryKind::Tls { .. }) {
                // Both sides' switches to TLS are one band.
                if tls_started {
                    continue;
                }
                tls_started = true;
            }
            let (kind, label) = match e.provenance {
                Provenance::Inferred { bytes, .. } => {
                    (ArrowKind::Inferred, inferred_label(e, bytes))
                }
                _ => entry_arrow(&e.kind, sd.basis),
            };
            let answer = matches!(kind, ArrowKind::Reply(_))
                || (kind == ArrowKind::Inferred && e.from == Side::Server);
            arrows.push(Arrow {
                frame: e.frame,
                time: e.time,
                from: e.from,
                kind,
                label: clip(&label, LABEL),
                count: 1,
                inside_tls: !e.provenance.in_clear(),
                deciding: deciding == Some(e.frame) && answer,
                finding: if answer { finding_at(e.frame) } else { None },
            });
        }
        let mut arrows = fold(arrows);
        let not_drawn = arrows.len().saturating_sub(MAX_ARROWS);
        if not_drawn > 0 {
            // Keep the deciding reply drawn, in place of the last one kept.
            let deciding_at = arrows.iter().position(|a| a.deciding);
            arrows.truncate(MAX_ARROWS);
            if deciding_at.is_some_and(|i| i >= MAX_ARROWS) {
                if let Some(last) = arrows.last_mut() {
                    last.label = format!("… then the deciding reply: {}", last.label);
                }
            }
        }
        Ladder {
            id: s.id,
            client: s.client.to_string(),
            server: s.server.to_string(),
            server_name: sd.server_name.clone(),
            role: sd.server_role.name(),
            arrows,
            not_drawn,
            start: s.start_time,
        }
    }
}

/// What an entry read from the record lengths was read as, and from how many bytes.
pub(super) fn inferred_label(e: &Entry, bytes: Len) -> String {
    match &e.kind {
        EntryKind::Reply { .. } => e.quote().unwrap_or_default(),
        EntryKind::Command {
            command, argument, ..
        } => format!(
            "{} ({bytes} bytes)",
            format!("{command} {argument}").trim_end()
        ),
        EntryKind::Auth { auth } => format!("[{}] ({bytes} bytes)", auth.describe()),
        EntryKind::Body { .. } => format!("the message ({bytes} bytes)"),
        _ => format!("{bytes} bytes"),
    }
}

/// What an entry is drawn as, and its label.
fn entry_arrow(kind: &EntryKind, basis: Basis) -> (ArrowKind, String) {
    match kind {
        EntryKind::Command {
            command,
            argument,
            repeated,
            ..
        } => {
            let text = format!("{command} {argument}").trim_end().to_string();
            let text = if *repeated > 0 {
                format!("{text} (×{} in this frame)", repeated + 1)
            } else {
                text
            };
            (ArrowKind::Command, text)
        }
        // A refusal is read whole, whatever its lines; other replies by their first.
        EntryKind::Reply {
            code,
            enhanced,
            lines,
            ..
        } if *code >= 400 => (
            ArrowKind::Reply(*code),
            reply_sentence(*code, enhanced.as_deref(), lines),
        ),
        EntryKind::Reply { code, lines, .. } => {
            let first = lines.first().map_or(String::new(), Clone::clone);
            let more = match lines.len() {
                0 | 1 => String::new(),
                n => format!(" (+{} lines)", n - 1),
            };
            (ArrowKind::Reply(*code), format!("{first}{more}"))
        }
        EntryKind::Status { status, lines, .. } => {
            let first = lines.first().map_or(status.clone(), Clone::clone);
            let code = if status == "-ERR" { 500 } else { 200 };
            (ArrowKind::Reply(code), first)
        }
        EntryKind::Auth { auth } => (ArrowKind::Auth, auth.describe()),
        EntryKind::Body { body } => {
            let kind = match body.kind {
                BodyKind::Data => "message",
                BodyKind::Bdat => "BDAT chunk",
            };
            let end = if body.complete { "" } else { ", end not seen" };
            let gaps = if body.gaps { ", part missing" } else { "" };
            (
                ArrowKind::Body,
                format!("[{kind}: {} bytes{end}{gaps}]", body.bytes),
            )
        }
        EntryKind::Tls { tls } => {
            let what = match (tls.looks_like_tls, basis) {
                (false, _) => "after the switch to TLS: bytes that are not TLS records",
                (true, Basis::Decrypted) => "TLS from here on (decrypted with the key log)",
                (true, Basis::Inferred) => {
                    "TLS from here on (read from the record lengths: inferred)"
                }
                (true, Basis::Observed) => "TLS from here on (encrypted)",
            };
            (ArrowKind::TlsStart, what.to_string())
        }
        EntryKind::Gap { gap } => {
            let why = match gap.reason {
                GapReason::Snaplen => " (snapshot length)",
                GapReason::NotCaptured => "",
            };
            (
                ArrowKind::Missing,
                format!("[{} bytes missing from the capture{why}]", gap.bytes),
            )
        }
        EntryKind::Unparsed { unparsed } => (
            ArrowKind::NotParsed,
            format!("[{} bytes not parsed: {}]", unparsed.bytes, unparsed.reason),
        ),
    }
}

/// Runs of the same command and reply, one after the other, become one pair with a count.
fn fold(arrows: Vec<Arrow>) -> Vec<Arrow> {
    let mut out: Vec<Arrow> = Vec::with_capacity(arrows.len());
    let same = |a: &Arrow, b: &Arrow| {
        a.kind == b.kind && a.label == b.label && a.from == b.from && !a.deciding && !b.deciding
    };
    let mut i = 0;
    while i < arrows.len() {
        let n = out.len();
        let pair = (arrows.get(i), arrows.get(i + 1));
        if let (Some(c), Some(r)) = pair {
            if n >= 2
                && c.kind == ArrowKind::Command
                && same(&out[n - 2], c)
                && same(&out[n - 1], r)
            {
                out[n - 2].count += 1;
                out[n - 1].count += 1;
                i += 2;
                continue;
            }
        }
        out.push(arrows[i].clone());
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrow(from: Side, kind: ArrowKind, label: &str) -> Arrow {
        Arrow {
            frame: 1,
            time: Timestamp::default(),
            from,
            kind,
            label: label.into(),
            count: 1,
            inside_tls: false,
            deciding: false,
            finding: None,
        }
    }

    #[test]
    fn a_run_of_the_same_command_and_reply_folds_into_one_pair() {
        let mut v = vec![arrow(Side::Client, ArrowKind::Command, "EHLO x")];
        for _ in 0..5 {
            v.push(arrow(Side::Client, ArrowKind::Command, "NOOP"));
            v.push(arrow(Side::Server, ArrowKind::Reply(250), "250 OK"));
        }
        v.push(arrow(Side::Client, ArrowKind::Command, "QUIT"));
        let f = fold(v);
        let counts: Vec<(String, u64)> = f.iter().map(|a| (a.label.clone(), a.count)).collect();
        assert_eq!(
            counts,
            [
                ("EHLO x".to_string(), 1),
                ("NOOP".to_string(), 5),
                ("250 OK".to_string(), 5),
                ("QUIT".to_string(), 1)
            ]
        );
    }
}
