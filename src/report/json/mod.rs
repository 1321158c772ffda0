//! The JSON report (schema 1): the capture's fields, its sessions and its findings, the
//! sessions and their findings written as they come.

mod schema;

use std::io;

use serde::Serialize;

use super::attempts::Chains;
use super::{Scrubbed, Spool};
use crate::analysis::{Analysis, Session};
use crate::diagnosis::{Diagnosis, Finding, SessionDiagnosis};
use schema::{CaptureHead, FindingView, SessionView};

/// The analysis and its diagnosis as one pretty-printed JSON document (docs/json-format.md).
pub fn to_json(a: &Analysis, d: &Diagnosis) -> String {
    super::render_in_memory(super::Format::Json, a, d)
}

/// The same document on one line (JSON Lines).
pub fn to_json_line(a: &Analysis, d: &Diagnosis) -> String {
    super::render_in_memory(super::Format::Jsonl, a, d)
}

/// Writes the document `{capture fields, "sessions": [...], "findings": [...]}` with the
/// sessions serialised as they come; the capture's own fields are known at the end.
pub(super) struct JsonWriter {
    pretty: bool,
    sessions: Spool,
    /// The sessions' findings, by severity.
    findings: [Spool; 3],
    /// Each device's attempts to each server.
    attempts: Chains,
}

/// One array element of the document, indented for its place in pretty output.
fn element<T: Serialize>(pretty: bool, value: &T) -> String {
    let out = if pretty {
        serde_json::to_string_pretty(value).map(|s| s.replace('\n', ELEMENT_INDENT))
    } else {
        serde_json::to_string(value)
    };
    out.unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"))
}

/// Indentation of an array element inside the document, in pretty output.
const ELEMENT_INDENT: &str = "\n    ";

impl JsonWriter {
    pub(super) fn new(pretty: bool) -> Self {
        JsonWriter {
            pretty,
            sessions: Spool::default(),
            findings: Default::default(),
            attempts: Chains::default(),
        }
    }

    pub(super) fn session(&mut self, s: &Session, sd: &SessionDiagnosis, findings: &[&Finding]) {
        let piece = element(self.pretty, &SessionView::new(s, sd));
        self.sessions.push(piece.as_bytes());
        self.attempts.add(s.id, sd);
        for f in findings {
            let piece = element(self.pretty, &FindingView::new(f));
            if let Some(spool) = self.findings.get_mut(f.severity.index()) {
                spool.push(piece.as_bytes());
            }
        }
    }

    pub(super) fn finish(
        self,
        a: &Analysis,
        capture_findings: &[&Finding],
        out: &mut Scrubbed,
    ) -> io::Result<()> {
        let head = CaptureHead::new(a);
        let head = if self.pretty {
            serde_json::to_string_pretty(&head)
        } else {
            serde_json::to_string(&head)
        }
        .map_err(io::Error::other)?;
        // The capture's fields, without the closing brace; the arrays follow.
        let head = head.trim_end();
        let head = head.strip_suffix('}').unwrap_or(head).trim_end();
        let (sep, open, close) = if self.pretty {
            (",\n    ", "[\n    ", "\n  ]")
        } else {
            (",", "[", "]")
        };
        let key = |name: &str| {
            if self.pretty {
                format!(",\n  \"{name}\": ")
            } else {
                format!(",\"{name}\":")
            }
        };
        out.put(head)?;
        out.put(&key("sessions"))?;
        let array = |empty: bool| if empty { "[]" } else { open };
        out.put(array(self.sessions.is_empty()))?;
        let any_sessions = !self.sessions.is_empty();
        out.spool(self.sessions, &mut |i| {
            if i == 0 { "" } else { sep }.to_string()
        })?;
        if any_sessions {
            out.put(close)?;
        }
        out.put(&key("attempts"))?;
        out.put(array(self.attempts.list.is_empty()))?;
        for (i, chain) in self.attempts.list.iter().enumerate() {
            out.put(if i == 0 { "" } else { sep })?;
            out.put(&element(self.pretty, chain))?;
        }
        if !self.attempts.list.is_empty() {
            out.put(close)?;
        }
        out.put(&key("findings"))?;
        let any_findings =
            !capture_findings.is_empty() || self.findings.iter().any(|s| !s.is_empty());
        out.put(array(!any_findings))?;
        let mut first = true;
        for (severity, spool) in self.findings.into_iter().enumerate() {
            for f in capture_findings
                .iter()
                .filter(|f| f.severity.index() == severity)
            {
                let piece = element(self.pretty, &FindingView::new(f));
                out.put(if first { "" } else { sep })?;
                out.put(&piece)?;
                first = false;
            }
            out.spool(spool, &mut |_| {
                let head = if first { "" } else { sep };
                first = false;
                head.to_string()
            })?;
        }
        if any_findings {
            out.put(close)?;
        }
        out.put(if self.pretty { "\n}" } else { "}" })
    }
}

/// One finished session as a line of `smtpcap watch --format jsonl`: the capture's name,
/// the session object of the JSON report and its findings (docs/json-format.md).
pub fn session_json_line(
    capture: &str,
    s: &Session,
    sd: &SessionDiagnosis,
    findings: &[Finding],
) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        schema: u32,
        capture: &'a str,
        session: SessionView<'a>,
        findings: Vec<FindingView<'a>>,
    }
    let line = Line {
        schema: 1,
        capture,
        session: SessionView::new(s, sd),
        findings: findings.iter().map(FindingView::new).collect(),
    };
    serde_json::to_string(&line)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"))
}
