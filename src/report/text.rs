use std::fmt::Write;

use std::io;

use super::attempts::Chains;
use super::group::{fix_without_path, Group, Groups};
use super::{Scrubbed, Spool};
use crate::analysis::{Analysis, Session};
use crate::base::Side;
use crate::diagnosis::attempts::{ordinal, AttemptMark};
use crate::diagnosis::checklist::{self, Check};
use crate::diagnosis::{
    Basis, Diagnosis, Finding, FindingId, Happened, Named, Outcome, SessionDiagnosis, Severity,
    Summary, Verdict, SHARP_SMTP, SUPPORTED,
};
use crate::dialogue::{clip, BodyKind, EntryKind, Provenance};
use crate::tcp::{CloseHow, Handshake};
use crate::tls::{DecryptionFact, DecryptionStatus};

/// How the text report is rendered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// Each conversation's full transcript, after the findings.
    pub transcript: bool,
    /// ANSI colours (for a terminal).
    pub color: bool,
    /// Columns to fit (0: [`DEFAULT_WIDTH`]): prose is wrapped at spaces with a hanging
    /// indent; an address, a host name or a reply code is never split.
    pub width: usize,
}

/// Characters of the deciding reply the text view's verdict quotes.
const VERDICT_REPLY: usize = 100;

/// The width when none is given (not a terminal, no `COLUMNS`).
pub const DEFAULT_WIDTH: usize = 100;
/// Narrower than this, lines are wrapped as if it were this wide.
const MIN_WIDTH: usize = 40;

impl TextOptions {
    fn columns(&self) -> usize {
        match self.width {
            0 => DEFAULT_WIDTH,
            w => w.max(MIN_WIDTH),
        }
    }
}

/// `text` wrapped to `width` at spaces only (a token longer than a line stays whole, an
/// address or host name is never split), `first` before the first line and `rest` before
/// the others; ends with a line break. The text view's prose is wrapped this way.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let options = textwrap::Options::new(width)
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(false)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        // Optimal fit may let a line run over to even out the others: never here.
        .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit);
    let mut out = String::new();
    for line in textwrap::wrap(text, options) {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str(first.trim_end());
        out.push('\n');
    }
    out
}

/// Spaces as wide as `s` (ANSI colour codes take no room).
fn blank(s: &str) -> String {
    " ".repeat(textwrap::core::display_width(s))
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const GREEN: &str = "\x1b[1;32m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn paint(on: bool, style: &str, text: &str) -> String {
    if on {
        format!("{style}{text}{RESET}")
    } else {
        text.to_string()
    }
}

/// A Wireshark display filter that isolates one conversation.
pub fn display_filter(s: &Session) -> String {
    let field = |ip: &std::net::IpAddr| if ip.is_ipv6() { "ipv6.addr" } else { "ip.addr" };
    format!(
        "{}=={} && {}=={} && tcp.port=={} && tcp.port=={} && frame.number>={} && frame.number<={}",
        field(&s.client.ip),
        s.client.ip,
        field(&s.server.ip),
        s.server.ip,
        s.client.port,
        s.server.port,
        s.tcp.first_frame,
        s.tcp.last_frame
    )
}

/// A capture's verdict, summary table, findings with their evidence and fix, each
/// conversation's Wireshark filter, and (on request) its transcript.
pub fn to_text(a: &Analysis, d: &Diagnosis, opts: &TextOptions) -> String {
    super::render_in_memory(super::Format::Text(*opts), a, d)
}

pub(super) struct TextWriter {
    opts: TextOptions,
    /// Each session's entry in the list of conversations.
    rows: Spool,
    /// The sessions' findings, grouped where several sessions have the same.
    groups: Groups,
    /// Findings beyond the groups' bound, by severity.
    findings: [Spool; 3],
    filters: Spool,
    transcripts: Spool,
    /// Each TLS session's handshake facts and, where the lengths told it, its exchange.
    inside: Spool,
    /// Each device's attempts to each server.
    chains: Chains,
}

impl TextWriter {
    pub(super) fn new(opts: TextOptions) -> Self {
        TextWriter {
            opts,
            rows: Spool::default(),
            groups: Groups::default(),
            findings: Default::default(),
            filters: Spool::default(),
            transcripts: Spool::default(),
            inside: Spool::default(),
            chains: Chains::default(),
        }
    }

    pub(super) fn session(&mut self, s: &Session, sd: &SessionDiagnosis, findings: &[&Finding]) {
        self.rows
            .push(session_entry(s, sd, self.opts.columns()).as_bytes());
        self.chains.add(s.id, sd);
        for f in findings {
            if let Some(f) = self.groups.add(f) {
                if let Some(spool) = self.findings.get_mut(f.severity.index()) {
                    spool.push(finding(f, &self.opts).as_bytes());
                }
            }
        }
        if let Some(t) = inside_tls(s, sd, self.opts.columns()) {
            self.inside.push(t.as_bytes());
        }
        // The filter on a line of its own, one token (no spaces), to be copied whole.
        self.filters.push(
            format!(
                "  session {}:\n    {}\n",
                s.id,
                display_filter(s).replace(" && ", "&&")
            )
            .as_bytes(),
        );
        if self.opts.transcript {
            let mut t = String::from("\n");
            transcript_fit(&mut t, s, sd, Some(self.opts.columns()));
            self.transcripts.push(t.as_bytes());
        }
    }

    pub(super) fn finish(
        self,
        a: &Analysis,
        summary: &Summary,
        capture_findings: &[&Finding],
        out: &mut Scrubbed,
    ) -> io::Result<()> {
        let width = self.opts.columns();
        let mut head = String::new();
        let _ = writeln!(head, "== {}", a.file);
        if let Some(format) = a.format {
            let gz = a.compression.map(|c| format!(", {c}")).unwrap_or_default();
            let links = if a.link_types.is_empty() {
                "-".to_string()
            } else {
                a.link_types.join(", ")
            };
            head.push_str(&wrap(
                &format!("{format}{gz}, {} packets, link types {links}", a.packets),
                width,
                "   ",
                "     ",
            ));
        }
        if let Some(span) = a.time_span() {
            head.push_str(&wrap(&span, width, "   ", "     "));
        }
        if let Some(e) = &a.error {
            let what = if a.format.is_some() {
                "capture is damaged"
            } else {
                "cannot read capture"
            };
            head.push_str(&wrap(
                &format!("ERROR: {what}: at byte {}: {}", e.offset, e.message),
                width,
                "   ",
                "     ",
            ));
        }
        for note in a.bounds_reached() {
            head.push_str(&wrap(&format!("note: {note}"), width, "   ", "     "));
        }
        if summary.sessions == 0 {
            let _ = writeln!(head, "   no SMTP or POP3 conversation found");
            if capture_findings.is_empty() {
                return out.put(&head);
            }
        }
        let verdict = summary.verdict();
        let style = verdict_style(&verdict);
        head.push('\n');
        let line = verdict_line_clipped(&verdict, VERDICT_REPLY);
        for line in wrap(&line, width, "VERDICT: ", "         ").lines() {
            let _ = writeln!(head, "{}", paint(self.opts.color, style, line));
        }
        head.push('\n');
        if summary.sessions > 0 {
            head.push_str(&checklist_text(summary, &self.opts));
            head.push('\n');
        }
        if self.chains.told() {
            head.push_str("Attempts (each device's, to each server, in the order they began):\n");
            for (chain, lines) in self.chains.prose() {
                head.push_str(&wrap(&chain, width, "  ", "    "));
                for l in lines {
                    head.push_str(&wrap(&l, width, "    ", "      "));
                }
            }
            head.push('\n');
        }
        out.put(&head)?;
        if !self.rows.is_empty() {
            out.put("Conversations:\n")?;
            out.spool(self.rows, &mut |_| String::new())?;
        }
        if summary.counts.iter().sum::<usize>() > 0 {
            out.put("\nFindings:\n")?;
            if summary.device_side() {
                out.put(&wrap(
                    &format!("(Settings are changed on the copier: {SHARP_SMTP})"),
                    width,
                    "  ",
                    "   ",
                ))?;
            }
        }
        for (severity, spool) in self.findings.into_iter().enumerate() {
            for f in capture_findings
                .iter()
                .filter(|f| f.severity.index() == severity)
            {
                out.put(&finding(f, &self.opts))?;
            }
            for g in self.groups.of_severity(severity) {
                out.put(&group_text(g, &self.opts))?;
            }
            out.spool(spool, &mut |_| String::new())?;
        }
        if summary.device_side() {
            out.put("\n")?;
            out.put(&wrap(
                &format!("Supported configuration (Sharp MX, Microsoft 365): {SUPPORTED}"),
                width,
                "  ",
                "  ",
            ))?;
        }
        if !self.inside.is_empty() {
            out.put("\nInside TLS:\n")?;
            out.spool(self.inside, &mut |_| String::new())?;
        }
        out.put("\nWireshark display filters:\n")?;
        out.spool(self.filters, &mut |_| String::new())?;
        out.spool(self.transcripts, &mut |_| String::new())
    }
}

/// The colour of a verdict: red for a failure, yellow for a cause or warning, else green.
fn verdict_style(v: &Verdict) -> &'static str {
    if v.is_failure() {
        RED
    } else if v.cause.is_some() || v.warning.is_some() {
        YELLOW
    } else {
        GREEN
    }
}

/// One finished session as `smtpcap watch` prints it the moment its conversation is
/// over: who talked to whom, its verdict in the words of the capture's, its findings and
/// (with `opts.transcript`) its transcript.
pub fn session_text(
    s: &Session,
    sd: &SessionDiagnosis,
    findings: &[Finding],
    opts: &TextOptions,
) -> String {
    let width = opts.columns();
    let mut summary = Summary::default();
    for f in findings {
        summary.add_finding(f);
    }
    summary.add_session(sd);
    let verdict = summary.verdict();
    let style = verdict_style(&verdict);
    let server = sd
        .server_name
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let mut out = wrap(
        &format!(
            "-- session {}: {} → {}{server}, frames {}–{}, {}",
            s.id,
            s.client,
            s.server,
            s.tcp.first_frame,
            s.tcp.last_frame,
            s.end_time.utc_string()
        ),
        width,
        "",
        "   ",
    );
    let line = verdict_line_clipped(&verdict, VERDICT_REPLY);
    for l in wrap(&line, width, "   VERDICT: ", "            ").lines() {
        let _ = writeln!(out, "{}", paint(opts.color, style, l));
    }
    if let Some(line) = sd.attempt.as_ref().and_then(attempt_line) {
        out.push_str(&wrap(&line, width, "   ", "     "));
    }
    for f in findings {
        out.push_str(&finding(f, opts));
    }
    if opts.transcript {
        out.push('\n');
        transcript_fit(&mut out, s, sd, Some(width));
    }
    out
}

/// The verdict as one line (without the `VERDICT: ` the text view puts before it):
/// what happened first, then the cause or the first warning.
pub fn verdict_line(v: &Verdict) -> String {
    verdict_line_clipped(v, usize::MAX)
}

/// The verdict with its quoted reply cut to `reply_chars` (the first screen of the text
/// view; the whole reply is in the findings).
fn verdict_line_clipped(v: &Verdict, reply_chars: usize) -> String {
    let and_more = |n: &Named, what: &str| match n.more {
        0 => String::new(),
        m => format!(" (and {m} more {what}{})", if m > 1 { "s" } else { "" }),
    };
    let cause = v
        .cause
        .map(|c| format!("{} [{}]{}", c.title, c.id, and_more(&c, "error")));
    let happened: &str = match &v.happened {
        Happened::Rejected { stage, reply } => {
            let reply = reply
                .as_deref()
                .map(|r| format!(": {}", clip(r, reply_chars)))
                .unwrap_or_default();
            let cause = cause.map(|c| format!(" — {c}")).unwrap_or_default();
            let other = if v.also_delivered {
                "; another message (another job) was delivered"
            } else {
                ""
            };
            return format!(
                "FAIL: rejected at {}{reply}{cause}{other}",
                stage.name().to_uppercase()
            );
        }
        Happened::Delivered => "DELIVERED: a message was accepted",
        Happened::DeliveredInferred => {
            "DELIVERED (inferred from the encrypted record lengths): the server's answer to the message has the length of an acceptance, not of a refusal"
        }
        Happened::SentInsideTls => {
            "SENT INSIDE TLS: a message-sized transfer went through TLS (its acceptance is encrypted)"
        }
        Happened::TlsFailed => "FAIL: the TLS handshake did not complete",
        Happened::NoConnection => "FAIL: no connection to the server",
        Happened::NoConversation if cause.is_some() => "no SMTP conversation",
        Happened::NoConversation => "nothing to judge: no SMTP conversation",
        Happened::CannotSee => "the result cannot be seen: the capture does not hold it",
        Happened::OnlyTests => "NOT SENT: only connection tests, which prove nothing about delivery",
        Happened::NotSent => "NOT SENT: no message was sent",
    };
    let happened = with_story(happened, v.story.as_ref(), reply_chars);
    let happened = happened.as_str();
    let went_through = matches!(
        v.happened,
        Happened::Delivered | Happened::DeliveredInferred | Happened::SentInsideTls
    );
    match (cause, v.warning) {
        (Some(c), _) if went_through => format!("{happened}, but: {c}"),
        // Nothing was attempted, and this is why (a name that did not resolve).
        (Some(c), _) if v.happened == Happened::NoConversation => {
            format!("FAIL: {happened}; {c}")
        }
        (Some(c), _) if happened.starts_with("FAIL") => format!("{happened}; {c}"),
        (Some(c), _) => format!("{happened}; error: {c}"),
        (None, Some(w))
            if matches!(
                v.happened,
                Happened::Delivered | Happened::DeliveredInferred
            ) && v.warning_is_about_capture() =>
        {
            format!("{happened}; note: {} [{}]", w.title, w.id)
        }
        // Supported and working, with a date ahead: not "unsupported".
        (None, Some(w)) if w.id == FindingId::BasicAuthDeadline && w.more == 0 => {
            format!(
                "{happened}; before it stops: {} [{}] (warning)",
                w.title, w.id
            )
        }
        (None, Some(w))
            if matches!(
                v.happened,
                Happened::Delivered | Happened::DeliveredInferred
            ) =>
        {
            let others = match w.more {
                0 => String::new(),
                1 => ", and 1 more warning".to_string(),
                m => format!(", and {m} more warnings"),
            };
            format!(
                "{happened}, but not the supported configuration: {} [{}] (warning{others})",
                w.title, w.id
            )
        }
        (None, Some(w)) => format!("{happened}; warning: {} [{}]", w.title, w.id),
        (None, None) => happened.to_string(),
    }
}

/// The verdict's first words with the story of the attempts before it:
/// `DELIVERED on the 2nd attempt: a message was accepted, after a POP3 login (…); the
/// 1st was rejected at DATA: 503 …; changed since: Port Number 25 → 587`.
fn with_story(happened: &str, story: Option<&AttemptMark>, reply_chars: usize) -> String {
    let Some(m) = story else {
        return happened.to_string();
    };
    let (head, rest) = happened.split_once(": ").unwrap_or((happened, ""));
    let after_failures = m.supersedes.iter().any(|o| o.number < m.number);
    let mut out = if after_failures {
        format!("{head} on the {} attempt", ordinal(m.number))
    } else {
        head.to_string()
    };
    if !rest.is_empty() {
        out.push_str(": ");
        out.push_str(rest);
    }
    if m.after_pop3.is_some() {
        out.push_str(", after a POP3 login (this server accepts POP before SMTP)");
    }
    for old in &m.supersedes {
        let what = match (old.outcome, old.stage) {
            (Outcome::NoConnection, _) => "got no connection".to_string(),
            (Outcome::TlsFailed, _) => "failed in the TLS handshake".to_string(),
            (Outcome::Rejected, Some(st)) => format!("was refused at {}", st.name().to_uppercase()),
            (o, _) => o.name().to_string(),
        };
        let reply = old
            .reply
            .as_ref()
            .map(|r| format!(": {}", clip(&r.text, reply_chars)))
            .unwrap_or_default();
        if old.number == m.number {
            let _ = write!(
                out,
                "; the server's other address (session {}) {what} first",
                old.session
            );
        } else {
            let _ = write!(out, "; the {} {what}{reply}", ordinal(old.number));
        }
    }
    if !m.changed.is_empty() {
        let changed: Vec<String> = m
            .changed
            .iter()
            .map(|c| format!("{} {} → {}", c.field, c.from, c.to))
            .collect();
        let _ = write!(out, "; changed since: {}", changed.join(", "));
    }
    out
}

/// The settings checklist: each field of the copier's SMTP page, what the capture showed
/// and what to set.
fn checklist_text(summary: &Summary, opts: &TextOptions) -> String {
    let width = opts.columns();
    let mut out = wrap(
        "Settings (Network Settings → Services Settings → SMTP on the copier):",
        width,
        "",
        "  ",
    );
    // What was seen and what to set wrap under their column; a field that is right
    // needs no value to set.
    let field_width = 26;
    for item in summary.checklist() {
        let (mark, style) = match item.check {
            Check::Ok => ("ok    ", GREEN),
            Check::Change => ("CHANGE", RED),
            Check::Unknown => ("?     ", YELLOW),
        };
        let first = format!(
            "  {} {:<field_width$} ",
            paint(opts.color, style, mark),
            item.field
        );
        let text = match item.check {
            Check::Ok => format!("seen: {}", item.seen),
            Check::Change => format!("seen: {} → set: {}", item.seen, item.set),
            Check::Unknown => format!("seen: {}; set: {}", item.seen, item.set),
        };
        out.push_str(&wrap(&text, width, &first, &blank(&first)));
    }
    out.push_str(&wrap(checklist::THEN, width, "  ", "  "));
    out
}

fn finding(f: &Finding, opts: &TextOptions) -> String {
    let group = Group {
        finding: f.clone(),
        evidence: vec![(f.session, f.evidence.clone())],
        sessions: f.session.into_iter().collect(),
        count: 1,
    };
    group_text(&group, opts)
}

/// A finding of one or more sessions: the evidence of the first few, each under its
/// session when there are several.
fn group_text(g: &Group, opts: &TextOptions) -> String {
    let (color, width) = (opts.color, opts.columns());
    let f = &g.finding;
    let mut out = String::new();
    let sessions = g
        .sessions_label()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default();
    let style = match f.severity {
        Severity::Error => RED,
        Severity::Warning => YELLOW,
        Severity::Info => BOLD,
    };
    let label = paint(color, style, &f.severity.name().to_uppercase());
    out.push('\n');
    out.push_str(&wrap(
        &format!("[{}] {}{sessions}", f.id, f.title),
        width,
        &format!("  {label} "),
        "    ",
    ));
    for (prefix, e) in g.evidence_lines() {
        let first = format!("      {prefix}frame {:>6}: ", e.frame);
        out.push_str(&wrap(&clip(&e.text, 240), width, &first, &blank(&first)));
    }
    if g.not_shown() > 0 {
        let _ = writeln!(
            out,
            "      (and {} more sessions like these)",
            g.not_shown()
        );
    }
    out.push_str(&wrap(f.explanation, width, "    Why: ", "         "));
    out.push_str(&wrap(
        fix_without_path(&f.remediation),
        width,
        "    Fix: ",
        "         ",
    ));
    out
}

/// A conversation in the list: who talked to whom, the outcome, then the server's name,
/// how TCP went and the deciding (or last) reply, each on its own wrapped line.
fn session_entry(s: &Session, sd: &SessionDiagnosis, width: usize) -> String {
    let first = format!("  {:>3}  ", s.id);
    let rest = blank(&first);
    let mut out = wrap(
        &format!(
            "{} {} → {}  frames {}–{}  {}",
            s.protocol.name(),
            s.client,
            s.server,
            s.tcp.first_frame,
            s.tcp.last_frame,
            sd.outcome_label()
        ),
        width,
        &first,
        &rest,
    );
    let server = match &sd.server_name {
        Some(n) => format!("server: {n}, {}", sd.server_identity.label()),
        None => format!("server: {}", sd.server_identity.label()),
    };
    out.push_str(&wrap(&server, width, &rest, &format!("{rest}  ")));
    out.push_str(&wrap(
        &format!("TCP: handshake {}, {}", handshake_seen(s), closed(s)),
        width,
        &rest,
        &format!("{rest}  "),
    ));
    let reply = match &sd.deciding_reply {
        Some(d) => format!("deciding reply: {} (frame {})", clip(&d.text, 240), d.frame),
        None => format!("last reply: {}", last_reply(s)),
    };
    out.push_str(&wrap(&reply, width, &rest, &format!("{rest}  ")));
    if let Some(line) = sd.attempt.as_ref().and_then(attempt_line) {
        out.push_str(&wrap(&line, width, &rest, &format!("{rest}  ")));
    }
    out
}

/// `attempt: 2nd to relay.contoso.local, supersedes session 1` (nothing for a lone first
/// attempt).
pub(super) fn attempt_line(m: &AttemptMark) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(by) = m.superseded_by {
        parts.push(format!("superseded by session {by}'s delivery"));
    }
    if !m.supersedes.is_empty() {
        let ids: Vec<String> = m.supersedes.iter().map(|x| x.session.to_string()).collect();
        parts.push(format!("supersedes session {}", ids.join(", ")));
    }
    if !m.with.is_empty() {
        let ids: Vec<String> = m.with.iter().map(ToString::to_string).collect();
        parts.push(format!(
            "one attempt with session {} (another address)",
            ids.join(", ")
        ));
    }
    if m.number == 1 && parts.is_empty() {
        return None;
    }
    let mut line = format!("attempt: {} to {}", ordinal(m.number), m.server);
    for p in parts {
        line.push_str(", ");
        line.push_str(&p);
    }
    Some(line)
}

fn handshake(h: Handshake) -> &'static str {
    match h {
        Handshake::Complete => "complete",
        Handshake::SynUnanswered => "SYN unanswered",
        Handshake::Refused => "refused (RST)",
        Handshake::NotSeen => "not captured",
    }
}

/// The handshake as the capture shows it; a conversation the capture joined late says so.
fn handshake_seen(s: &Session) -> &'static str {
    if s.tcp.handshake == Handshake::NotSeen && s.tcp.mid_stream {
        "not captured (started mid-conversation)"
    } else {
        handshake(s.tcp.handshake)
    }
}

/// Data flowed in the conversation (either way).
fn carried_data(s: &Session) -> bool {
    s.tcp.client_stream.bytes + s.tcp.server_stream.bytes > 0
        || s.tcp.client_stream.segments + s.tcp.server_stream.segments > 0
}

fn closed(s: &Session) -> String {
    match s.tcp.close {
        Some(c) => format!(
            "closed by {} {} (frame {})",
            c.by.name(),
            match c.how {
                CloseHow::Fin => "FIN",
                CloseHow::Rst => "RST",
            },
            c.frame
        ),
        None if s.tcp.handshake != Handshake::Complete && !carried_data(s) => "never opened".into(),
        None => "open at the end of the capture".into(),
    }
}

fn last_reply(s: &Session) -> String {
    s.dialogue
        .iter()
        .rev()
        .find_map(|e| match &e.kind {
            EntryKind::Reply { lines, .. } | EntryKind::Status { lines, .. } => {
                let l = lines.last().cloned().unwrap_or_default();
                Some(format!("{} (frame {})", clip(&l, 240), e.frame))
            }
            _ => None,
        })
        .unwrap_or_else(|| "-".into())
}

/// A TLS session's handshake (what proves server, port and TLS right) and the exchange
/// inside as the record lengths told it.
fn inside_tls(s: &Session, sd: &SessionDiagnosis, width: usize) -> Option<String> {
    let tls = s.tls.as_ref()?;
    let hello = tls.server_hello.as_ref()?;
    let mut head = format!("session {}: {}, {}", s.id, hello.version, hello.cipher);
    if let Some(sni) = tls.client_hello.as_ref().and_then(|c| c.sni.as_deref()) {
        let _ = write!(head, ", SNI {sni}");
    }
    if let Some(cert) = &tls.certificate {
        let names = if cert.names.is_empty() {
            cert.subject.clone()
        } else {
            cert.names.join(", ")
        };
        let _ = write!(
            head,
            ", certificate for {names} (valid until {})",
            cert.not_after
        );
    }
    let mut out = wrap(&head, width, "  ", "    ");
    if let Some(d) = &tls.decryption {
        out.push_str(&wrap(&decryption(d), width, "    ", "      "));
    }
    match &sd.inside_tls {
        Some(i) => {
            out.push_str(&wrap(
                "read from the encrypted record lengths (no keys): each turn's plaintext bytes",
                width,
                "    ",
                "    ",
            ));
            for st in &i.steps {
                let first = format!(
                    "    frame {:>6}  {}  {:>6} bytes  ",
                    st.frame,
                    if st.side == Side::Client { "C→" } else { "←S" },
                    st.bytes
                );
                out.push_str(&wrap(&st.meaning, width, &first, &blank(&first)));
            }
            if let Some(d) = &i.declined {
                let why = format!(
                    "not read further (frame {}, {}): {}",
                    d.frame,
                    d.reason.name(),
                    d.detail
                );
                out.push_str(&wrap(&why, width, "    ", "      "));
            }
        }
        None if sd.basis == Basis::Decrypted => {}
        None if tls.established => out.push_str(&wrap(
            "the record lengths do not tell what happened inside (the outcome stays unknown rather than guessed)",
            width,
            "    ",
            "    ",
        )),
        None => {}
    }
    Some(out)
}

/// What became of decrypting the session with the key log, when one was given.
fn decryption(d: &DecryptionFact) -> String {
    match d.status {
        DecryptionStatus::Decrypted => format!(
            "decrypted with the key log: {} records, {} bytes of the dialogue, read as if in clear text (the transcript marks them *)",
            d.records, d.plaintext_bytes
        ),
        DecryptionStatus::NothingOpened => {
            "the key log has this session's secrets, but no encrypted record came to decrypt".into()
        }
        DecryptionStatus::NoKeys => {
            "not decrypted: the key log has no secrets for this session (its client random)".into()
        }
        DecryptionStatus::Unusable(why) => format!("not decrypted: {why}"),
        DecryptionStatus::Failed { side, frame } => format!(
            "not decrypted: the {} record in frame {frame} does not decrypt with the secrets logged ({} records did before it): a key log from another session or program, or a damaged record; judged as encrypted",
            if side == Side::Client { "client's" } else { "server's" },
            d.records
        ),
    }
}

/// A session's transcript, each line whole (for the HTML and Markdown reports).
pub(super) fn transcript(out: &mut String, s: &Session, sd: &SessionDiagnosis) {
    transcript_fit(out, s, sd, None);
}

/// A session's transcript; with `width`, lines wrapped under their text, the frame and
/// side columns kept.
fn transcript_fit(out: &mut String, s: &Session, sd: &SessionDiagnosis, width: Option<usize>) {
    let mut put = |line: String, rest: &str| {
        if let Some(w) = width {
            out.push_str(&wrap(&line, w, "", rest));
        } else {
            out.push_str(&line);
            out.push('\n');
        }
    };
    put(
        format!(
            "-- session {}: {} → {} ({}), frames {}–{}, {}",
            s.id,
            s.client,
            s.server,
            s.protocol.name(),
            s.tcp.first_frame,
            s.tcp.last_frame,
            s.start_time.utc_string()
        ),
        "   ",
    );
    if s.tcp.mid_stream {
        put(
            "   (the capture starts after this conversation began)".into(),
            "   ",
        );
    }
    if !s.tcp.syn_frames.is_empty() && s.tcp.handshake != Handshake::Complete {
        let frames: Vec<String> = s.tcp.syn_frames.iter().map(u64::to_string).collect();
        put(
            format!(
                "   SYN in frames {}: {}",
                frames.join(", "),
                handshake(s.tcp.handshake)
            ),
            "     ",
        );
    }
    for e in sd.dialogue(s) {
        let who = match e.from {
            Side::Client => "C",
            Side::Server => "S",
        };
        let mark = match e.provenance {
            Provenance::Clear => ' ',
            Provenance::Decrypted => '*',
            Provenance::Inferred { .. } => '~',
        };
        let head = format!("   {:>7}  {who}{mark} ", e.frame);
        let pad = " ".repeat(head.chars().count());
        let body: Vec<String> = match (&e.kind, e.provenance) {
            (_, Provenance::Inferred { bytes, .. }) => vec![super::ladder::inferred_label(e, bytes)],
            (kind, _) => match kind {
            EntryKind::Command { command, argument, truncated, repeated, .. } => {
                let cut = if *truncated { " [line cut short]" } else { "" };
                let cut = if *repeated > 0 { format!("{cut} [×{} in this frame]", repeated + 1) } else { cut.to_string() };
                vec![format!("{command} {argument}{cut}").trim_end().to_string()]
            }
            EntryKind::Reply { lines, .. } | EntryKind::Status { lines, .. } => lines.clone(),
            EntryKind::Auth { auth } => vec![format!("[{}]", auth.describe())],
            EntryKind::Body { body } => {
                let kind = match body.kind {
                    BodyKind::Data => "message",
                    BodyKind::Bdat if body.last => "BDAT chunk (last)",
                    BodyKind::Bdat => "BDAT chunk",
                };
                let state = if body.complete { "" } else { ", end not in capture" };
                let gaps = if body.gaps { ", part missing from capture" } else { "" };
                vec![format!(
                    "[{kind}: {} bytes, {} lines, frames {}–{}{state}{gaps}]",
                    body.bytes, body.lines, e.frame, body.end_frame
                )]
            }
            EntryKind::Tls { tls } if tls.looks_like_tls => {
                vec![format!("[TLS from here on: {} bytes, frames {}–{}]", tls.bytes, e.frame, tls.end_frame)]
            }
            EntryKind::Tls { tls } => vec![format!(
                "[after the switch to TLS: {} bytes that are not TLS records (a decrypted capture, or a peer that went on in plain text), frames {}–{}]",
                tls.bytes, e.frame, tls.end_frame
            )],
            EntryKind::Gap { gap } => vec![format!(
                "[{} bytes missing from the capture{}]",
                gap.bytes,
                match gap.reason {
                    crate::tcp::GapReason::Snaplen => " (cut by the snapshot length)",
                    crate::tcp::GapReason::NotCaptured => "",
                }
            )],
            EntryKind::Unparsed { unparsed } => {
                let text = unparsed.text.as_ref().map(|t| format!(": {t}")).unwrap_or_default();
                vec![format!("[{} bytes not parsed, {}{text}]", unparsed.bytes, unparsed.reason)]
            }
            },
        };
        for (i, line) in body.iter().enumerate() {
            let first = if i == 0 { &head } else { &pad };
            match width {
                Some(w) => out.push_str(&wrap(line, w, first, &pad)),
                None => {
                    let _ = writeln!(out, "{first}{line}");
                }
            }
        }
    }
}
