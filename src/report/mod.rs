//! Stage 7: what people read: text for the technician, Markdown for a ticket, JSON and
//! JSON Lines for tools.
//!
//! A [`ReportWriter`] takes each session as the analysis hands it on, renders its parts
//! at once into [`Spool`]s (memory up to a budget, then a temporary file) and assembles
//! the report when the capture is over; the `to_*` functions do the same for an analysis
//! held in memory.

mod annotate;
mod attempts;
mod csv;
mod facts;
mod group;
mod html;
mod json;
mod ladder;
mod markdown;
mod mermaid;
mod spool;
mod text;

use std::io::{self, Write};

pub use annotate::{write_annotated, AnnotateWith, Annotated, Annotations};
pub use csv::{to_csv, CSV_COLUMNS};
pub use html::{html_page_end, html_page_start, to_html};
pub use json::{session_json_line, to_json, to_json_line};
pub use markdown::to_markdown;
pub use spool::Spool;
pub use text::{
    display_filter, session_text, to_text, verdict_line, wrap, TextOptions, DEFAULT_WIDTH,
};

use crate::analysis::{Analysis, Capture, Session};
use crate::diagnosis::attempts::Attempts;
use crate::diagnosis::checklist::Check;
use crate::diagnosis::{Diagnoser, Diagnosis, Finding, SessionDiagnosis, Severity, Summary};
use crate::smtp::{enhanced_code, parse_reply_line};

/// What a run produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For a person at a terminal.
    Text(TextOptions),
    /// Pretty-printed JSON.
    Json,
    /// The same document on one line.
    Jsonl,
    /// For an escalation ticket (with the file's SHA-256 when read with [`crate::Options::digest`]).
    Markdown,
    /// One self-contained HTML page: the Markdown report's content and each conversation
    /// drawn as a ladder.
    Html,
    /// The same report as a `<section>`, for a page of several captures between
    /// [`html_page_start`] and [`html_page_end`].
    HtmlSection,
    /// One CSV row per session ([`CSV_COLUMNS`]), with the header row or without (for the
    /// rows of several captures under one header).
    Csv {
        /// Write the header row first.
        header: bool,
    },
}

/// One capture's report, written as its sessions come.
pub struct ReportWriter {
    kind: Kind,
    min_severity: Severity,
    /// Of the sessions and of the findings kept.
    summary: Summary,
    /// Whether any finding (kept or not) is an error: the exit status.
    errors: bool,
    /// The session with the worst outcome so far, for the batch summary.
    worst: Option<((bool, u8), SessionBrief)>,
}

enum Kind {
    Text(text::TextWriter),
    Json(json::JsonWriter),
    Markdown(markdown::MarkdownWriter),
    Html(html::HtmlWriter),
    Csv(csv::CsvWriter),
}

impl ReportWriter {
    /// Findings below `min_severity` are left out of the report (and of its verdict).
    pub fn new(format: Format, min_severity: Severity) -> Self {
        let kind = match format {
            Format::Text(opts) => Kind::Text(text::TextWriter::new(opts)),
            Format::Json => Kind::Json(json::JsonWriter::new(true)),
            Format::Jsonl => Kind::Json(json::JsonWriter::new(false)),
            Format::Markdown => Kind::Markdown(markdown::MarkdownWriter::default()),
            Format::Html => Kind::Html(html::HtmlWriter::new(true)),
            Format::HtmlSection => Kind::Html(html::HtmlWriter::new(false)),
            Format::Csv { header } => Kind::Csv(csv::CsvWriter::new(header)),
        };
        ReportWriter {
            kind,
            min_severity,
            summary: Summary::default(),
            errors: false,
            worst: None,
        }
    }

    /// Renders one session, its diagnosis and its findings.
    pub fn session(&mut self, s: &Session, sd: &SessionDiagnosis, findings: &[Finding]) {
        self.errors |= findings.iter().any(|f| f.severity == Severity::Error);
        let kept: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.severity <= self.min_severity)
            .collect();
        self.summary.add_session(sd);
        // An SMTP session before any POP3 one: the mail's fate is the row's subject.
        let rank = (sd.pop3, crate::diagnosis::attempts::rank(sd.outcome));
        let superseded = sd
            .attempt
            .as_ref()
            .is_some_and(|m| m.superseded_by.is_some());
        if !superseded && self.worst.as_ref().is_none_or(|(r, _)| rank < *r) {
            self.worst = Some((rank, SessionBrief::of(s, sd)));
        }
        for f in &kept {
            self.summary.add_finding(f);
        }
        match &mut self.kind {
            Kind::Text(w) => w.session(s, sd, &kept),
            Kind::Json(w) => w.session(s, sd, &kept),
            Kind::Markdown(w) => w.session(s, sd, &kept),
            Kind::Html(w) => w.session(s, sd, &kept),
            Kind::Csv(w) => w.session(s, sd, &kept),
        }
    }

    /// Writes the whole report, every known password scrubbed, and tells what the batch
    /// summary needs.
    ///
    /// # Errors
    /// Writing to `out` (or reading a spooled part back) failed.
    pub fn finish(
        self,
        a: &Analysis,
        capture_findings: &[Finding],
        out: &mut dyn Write,
    ) -> io::Result<CaptureVerdict> {
        let errors = self.errors
            || capture_findings
                .iter()
                .any(|f| f.severity == Severity::Error);
        let kept: Vec<&Finding> = capture_findings
            .iter()
            .filter(|f| f.severity <= self.min_severity)
            .collect();
        let mut first = Summary::default();
        for f in &kept {
            first.add_finding(f);
        }
        let summary = first.then(&self.summary);
        let mut out = Scrubbed::new(out, &a.secrets);
        match self.kind {
            Kind::Text(w) => w.finish(a, &summary, &kept, &mut out)?,
            Kind::Json(w) => w.finish(a, &kept, &mut out)?,
            Kind::Markdown(w) => w.finish(a, &summary, &kept, &mut out)?,
            Kind::Html(w) => w.finish(a, &summary, &kept, &mut out)?,
            Kind::Csv(w) => w.finish(a, &mut out)?,
        }
        let checklist = summary
            .checklist()
            .iter()
            .map(|i| match i.check {
                Check::Ok => format!("ok {}: {}", i.field, i.seen),
                Check::Change => format!("CHANGE {}: {} → set: {}", i.field, i.seen, i.set),
                Check::Unknown => format!("? {}: {}; set: {}", i.field, i.seen, i.set),
            })
            .collect();
        Ok(CaptureVerdict {
            verdict: summary.verdict(),
            main_finding: summary.main_finding(),
            errors,
            sessions: summary.sessions,
            worst: self.worst.map(|(_, b)| b),
            checklist,
            annotations: Annotations::default(),
        })
    }
}

/// Analyses, diagnoses and renders `capture` into `out`, each session as the capture
/// hands it on: memory does not grow with the number of sessions. Findings below
/// `min_severity` are left out. Returns what the capture showed as a whole and what the
/// report concluded.
///
/// # Errors
/// Writing to `out` failed.
pub fn render(
    capture: Capture,
    format: Format,
    min_severity: Severity,
    out: &mut dyn Write,
) -> io::Result<(Analysis, CaptureVerdict)> {
    render_noting(capture, format, min_severity, Annotations::default(), out)
}

/// As [`render`], also collecting the comments of an annotated copy
/// ([`CaptureVerdict::annotations`], for [`write_annotated`]).
///
/// # Errors
/// Writing to `out` failed.
pub fn render_annotated(
    capture: Capture,
    format: Format,
    min_severity: Severity,
    out: &mut dyn Write,
) -> io::Result<(Analysis, CaptureVerdict)> {
    render_noting(
        capture,
        format,
        min_severity,
        Annotations::collecting(),
        out,
    )
}

fn render_noting(
    mut capture: Capture,
    format: Format,
    min_severity: Severity,
    mut notes: Annotations,
    out: &mut dyn Write,
) -> io::Result<(Analysis, CaptureVerdict)> {
    let mut diagnoser = Diagnoser::default();
    let mut writer = ReportWriter::new(format, min_severity);
    let mut held = Held::default();
    let mut write = |s: Session, sd: SessionDiagnosis, findings: Vec<Finding>| {
        notes.findings(&findings);
        if let Some(d) = &sd.deciding_reply {
            notes.deciding(s.id, d);
        }
        let hello = s.tls.as_ref().and_then(|t| t.client_hello.as_ref());
        if let Some(random) = hello.and_then(|c| c.random) {
            notes.tls_session(random);
        }
        writer.session(&s, &sd, &findings);
    };
    for s in capture.by_ref() {
        let (sd, findings) = diagnoser.session(&s);
        held.push(s, sd, findings);
        for (s, sd, findings) in held.ready(&diagnoser.attempts) {
            write(s, sd, findings);
        }
    }
    for (s, sd, findings) in held.all() {
        write(s, sd, findings);
    }
    let a = capture.finish();
    let capture_findings = diagnoser.finish(&a);
    notes.findings(&capture_findings);
    let mut verdict = writer.finish(&a, &capture_findings, out)?;
    notes.section(
        std::iter::once(format!("VERDICT: {}", text::verdict_line(&verdict.verdict)))
            .chain(verdict.checklist.iter().cloned())
            .chain(std::iter::once(format!(
                "annotated by smtpcap {}",
                crate::VERSION
            ))),
    );
    notes.seal();
    verdict.annotations = notes;
    Ok((a, verdict))
}

/// Sessions waiting behind a failure a later delivery may still supersede (its findings
/// then become warnings before they are written). Bounded by the attempts' window
/// ([`crate::diagnosis::attempts::WINDOW_SESSIONS`] sessions and
/// [`crate::diagnosis::attempts::WINDOW_ENTRIES`] dialogue entries): past it the failure
/// is settled, and written as it is.
#[derive(Default)]
struct Held {
    queue: std::collections::VecDeque<Diagnosed>,
}

/// A session with its diagnosis and findings, ready to be written.
type Diagnosed = (Session, SessionDiagnosis, Vec<Finding>);

impl Held {
    fn push(&mut self, s: Session, sd: SessionDiagnosis, findings: Vec<Finding>) {
        // The sessions of its attempt, and the failures it supersedes, are still here
        // (they were open).
        if let Some(m) = &sd.attempt {
            for (y, x, f) in &mut self.queue {
                crate::diagnosis::attempts::update_earlier(x, f, y.id, s.id, m);
            }
        }
        self.queue.push_back((s, sd, findings));
    }

    /// The sessions that can be written now, in order: those before the first failure
    /// a later delivery may still supersede.
    fn ready(&mut self, attempts: &Attempts) -> Vec<Diagnosed> {
        let mut out = Vec::new();
        while let Some((s, _, _)) = self.queue.front() {
            if attempts.open(s.id) {
                break;
            }
            out.extend(self.queue.pop_front());
        }
        out
    }

    fn all(&mut self) -> Vec<Diagnosed> {
        self.queue.drain(..).collect()
    }
}

/// Renders the report of a capture that could not be opened ([`Analysis::unreadable`]).
///
/// # Errors
/// Writing to `out` failed.
pub fn render_unreadable(
    a: &Analysis,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<CaptureVerdict> {
    let capture_findings = Diagnoser::default().finish(a);
    ReportWriter::new(format, Severity::Info).finish(a, &capture_findings, out)
}

/// What a finished report tells the batch summary and the exit status.
#[derive(Clone, Debug)]
pub struct CaptureVerdict {
    /// The capture's verdict.
    pub verdict: crate::diagnosis::Verdict,
    /// The finding the verdict names.
    pub main_finding: Option<crate::diagnosis::FindingId>,
    /// An error finding was made (whatever `--min-severity` kept).
    pub errors: bool,
    /// Sessions reported.
    pub sessions: usize,
    /// The session with the worst outcome (a refusal before a failed handshake before an
    /// unanswered connection … before a delivery), for a summary row.
    pub worst: Option<SessionBrief>,
    /// The settings checklist, one line per field (`CHANGE Port Number: 25 → set: 587`).
    pub checklist: Vec<String>,
    /// The comments an annotated copy of the capture carries ([`write_annotated`]).
    pub annotations: Annotations,
}

/// A session as one row of a batch summary shows it.
#[derive(Clone, Debug)]
pub struct SessionBrief {
    /// The device (the client's address).
    pub device: String,
    /// The server's name when known, else its address and port.
    pub server: String,
    /// `rejected at auth`, `delivered`, … (`(inferred)` or `(decrypted)` when read inside
    /// TLS).
    pub outcome: String,
    /// The deciding reply's code and enhanced code (`535 5.7.139`).
    pub code: Option<String>,
}

impl SessionBrief {
    fn of(s: &Session, sd: &SessionDiagnosis) -> Self {
        let code = sd
            .deciding_reply
            .as_ref()
            .and_then(|d| deciding_codes(&d.text))
            .map(|(code, enhanced)| match enhanced {
                Some(e) => format!("{code} {e}"),
                None => code.to_string(),
            });
        SessionBrief {
            device: s.client.ip.to_string(),
            server: sd
                .server_name
                .clone()
                .unwrap_or_else(|| s.server.to_string()),
            outcome: match &sd.attempt {
                // A delivery that superseded earlier failures: the story in three words.
                Some(m) if m.supersedes.iter().any(|x| x.number < m.number) => {
                    format!("{} after {} attempts", outcome_text(sd), m.number)
                }
                _ => outcome_text(sd),
            },
            code,
        }
    }
}

/// The outcome as the summaries show it: `rejected at auth`, `delivered (inferred)`,
/// `rejected at data (decrypted)`.
fn outcome_text(sd: &SessionDiagnosis) -> String {
    match sd.basis {
        crate::diagnosis::Basis::Observed => sd.outcome_label(),
        crate::diagnosis::Basis::Inferred => format!("{} (inferred)", sd.outcome_label()),
        crate::diagnosis::Basis::Decrypted => format!("{} (decrypted)", sd.outcome_label()),
    }
}

/// The reply code and enhanced status code a deciding reply starts with (an inferred one
/// is quoted in backticks), read by the SMTP parser's own functions.
fn deciding_codes(text: &str) -> Option<(u16, Option<String>)> {
    let line = parse_reply_line(text.trim_start_matches('`').as_bytes())?;
    Some((line.code, enhanced_code(line.text)))
}

/// The file's size and SHA-256 as the escalation reports show them (computed while it
/// was read; said so when the capture came from standard input).
fn size_and_sha(a: &Analysis) -> (String, String) {
    match &a.digest {
        Some(d) => (format!("{} bytes", d.size), d.sha256.clone()),
        None if a.file == "-" => (
            "(read from standard input)".into(),
            "(read from standard input)".into(),
        ),
        None => ("?".into(), "?".into()),
    }
}

/// The last step before the output: every piece goes through [`scrub`].
struct Scrubbed<'a> {
    out: &'a mut dyn Write,
    secrets: &'a [String],
    /// Searchers for each secret and its JSON-escaped form: most pieces hold none, and
    /// are written as they are.
    finders: Vec<memchr::memmem::Finder<'static>>,
}

impl<'a> Scrubbed<'a> {
    fn new(out: &'a mut dyn Write, secrets: &'a [String]) -> Self {
        let mut finders = Vec::new();
        for s in secrets.iter().filter(|s| s.len() >= MIN_SCRUB_LEN) {
            finders.push(memchr::memmem::Finder::new(s.as_bytes()).into_owned());
            let escaped = escaped(s);
            if escaped != *s {
                finders.push(memchr::memmem::Finder::new(escaped.as_bytes()).into_owned());
            }
        }
        Scrubbed {
            out,
            secrets,
            finders,
        }
    }

    fn put(&mut self, piece: &str) -> io::Result<()> {
        self.put_bytes(piece.as_bytes())
    }

    fn put_bytes(&mut self, piece: &[u8]) -> io::Result<()> {
        if self.finders.iter().any(|f| f.find(piece).is_some()) {
            let clean = scrub(String::from_utf8_lossy(piece).into_owned(), self.secrets);
            return self.out.write_all(clean.as_bytes());
        }
        self.out.write_all(piece)
    }

    /// Copies a spool's pieces, each after what `before` gives for it (a number, a
    /// separator).
    fn spool(&mut self, spool: Spool, before: &mut dyn FnMut(usize) -> String) -> io::Result<()> {
        let mut i = 0;
        spool.drain(&mut |piece| {
            let head = before(i);
            i += 1;
            self.put(&head)?;
            self.put_bytes(piece)
        })
    }
}

/// A secret as it appears inside a JSON string.
fn escaped(secret: &str) -> String {
    serde_json::to_string(secret)
        .ok()
        .and_then(|e| e.get(1..e.len() - 1).map(str::to_string))
        .unwrap_or_else(|| secret.to_string())
}

/// Renders an analysis held in memory with its diagnosis.
fn render_in_memory(format: Format, a: &Analysis, d: &Diagnosis) -> String {
    let mut w = ReportWriter::new(format, Severity::Info);
    for ((s, sd), findings) in a.sessions.iter().zip(&d.sessions).zip(&d.session_findings) {
        w.session(s, sd, findings);
    }
    let mut out = Vec::new();
    if let Err(e) = w.finish(a, &d.capture_findings, &mut out) {
        return format!("smtpcap: cannot write the report: {e}\n");
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Shortest secret scrubbed from rendered text; shorter ones would match ordinary words.
/// The structured output never holds a secret; this is the second line of defence.
const MIN_SCRUB_LEN: usize = 4;

/// Replaces every occurrence of a known secret in rendered output.
pub fn scrub(mut out: String, secrets: &[String]) -> String {
    let mut secrets: Vec<&String> = secrets
        .iter()
        .filter(|s| s.len() >= MIN_SCRUB_LEN)
        .collect();
    // Longest first, so a secret that contains another is removed whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "[withheld]");
        }
        // JSON escapes some characters; scrub the escaped form as well.
        let escaped = escaped(s);
        if escaped != *s && out.contains(&escaped) {
            out = out.replace(&escaped, "[withheld]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_plain_and_json_escaped_forms() {
        let secrets = vec!["pa\"ss1".to_string(), "abc".to_string()];
        assert_eq!(scrub("x pa\"ss1 y".into(), &secrets), "x [withheld] y");
        assert_eq!(
            scrub(r#"{"a":"pa\"ss1"}"#.into(), &secrets),
            r#"{"a":"[withheld]"}"#
        );
        assert_eq!(scrub("abc".into(), &secrets), "abc");
    }
}
