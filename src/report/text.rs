use std::fmt::Write;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

use std::io;

use super::group::{fix_without_path, Group, Groups};
use super::{Scrubbed, Spool};
use crate::analysis::{Analysis, Session};
use crate::base::Side;
use crate::diagnosis::checklist::{self, Check};
use crate::diagnosis::{
    Basis, Diagnosis, Finding, Happened, Named, SessionDiagnosis, Severity, Summary, Verdict,
    SHARP_SMTP, SUPPORTED,
};
use crate::dialogue::{clip, BodyKind, EntryKind};
use crate::tcp::{CloseHow, Handshake};
use crate::tls::{DecryptionFact, DecryptionStatus};

/// How the text report is rendered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// Each conversation's full transcript, after the findings.
    pub transcript: bool,
    /// ANSI colours (for a terminal).
    pub color: bool,
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

/// Sessions per summary table: a capture with more gets several tables, so that the
/// rows never wait in memory all together.
const TABLE_ROWS: usize = 1000;

pub(super) struct TextWriter {
    opts: TextOptions,
    rows: Vec<Vec<String>>,
    tables: Spool,
    /// The sessions' findings, grouped where several sessions have the same.
    groups: Groups,
    /// Findings beyond the groups' bound, by severity.
    findings: [Spool; 3],
    filters: Spool,
    transcripts: Spool,
    /// Each TLS session's handshake facts and, where the lengths told it, its exchange.
    inside: Spool,
}

impl TextWriter {
    pub(super) fn new(opts: TextOptions) -> Self {
        TextWriter {
            opts,
            rows: Vec::new(),
            tables: Spool::default(),
            groups: Groups::default(),
            findings: Default::default(),
            filters: Spool::default(),
            transcripts: Spool::default(),
            inside: Spool::default(),
        }
    }

    pub(super) fn session(&mut self, s: &Session, sd: &SessionDiagnosis, findings: &[&Finding]) {
        self.rows.push(table_row(s, sd));
        if self.rows.len() >= TABLE_ROWS {
            let rows = std::mem::take(&mut self.rows);
            self.tables.push(table(rows).as_bytes());
        }
        for f in findings {
            if let Some(f) = self.groups.add(f) {
                if let Some(spool) = self.findings.get_mut(f.severity.index()) {
                    spool.push(finding(f, self.opts.color).as_bytes());
                }
            }
        }
        if let Some(t) = inside_tls(s, sd) {
            self.inside.push(t.as_bytes());
        }
        self.filters
            .push(format!("  session {}: {}\n", s.id, display_filter(s)).as_bytes());
        if self.opts.transcript {
            let mut t = String::from("\n");
            transcript(&mut t, s);
            self.transcripts.push(t.as_bytes());
        }
    }

    pub(super) fn finish(
        mut self,
        a: &Analysis,
        summary: &Summary,
        capture_findings: &[&Finding],
        out: &mut Scrubbed,
    ) -> io::Result<()> {
        let mut head = String::new();
        let _ = writeln!(head, "== {}", a.file);
        if let Some(format) = a.format {
            let gz = a.compression.map(|c| format!(", {c}")).unwrap_or_default();
            let _ = writeln!(
                head,
                "   {format}{gz}, {} packets, link types {}",
                a.packets,
                if a.link_types.is_empty() {
                    "-".to_string()
                } else {
                    a.link_types.join(", ")
                }
            );
        }
        if let Some(span) = a.time_span() {
            let _ = writeln!(head, "   {span}");
        }
        if let Some(e) = &a.error {
            let what = if a.format.is_some() {
                "capture is damaged"
            } else {
                "cannot read capture"
            };
            let _ = writeln!(
                head,
                "   ERROR: {what}: at byte {}: {}",
                e.offset, e.message
            );
        }
        for note in a.bounds_reached() {
            let _ = writeln!(head, "   note: {note}");
        }
        if summary.sessions == 0 {
            let _ = writeln!(head, "   no SMTP or POP3 conversation found");
            if capture_findings.is_empty() {
                return out.put(&head);
            }
        }
        let verdict = summary.verdict();
        let v = format!("VERDICT: {}", verdict_line(&verdict));
        let style = if verdict.is_failure() {
            RED
        } else if verdict.cause.is_some() || verdict.warning.is_some() {
            YELLOW
        } else {
            GREEN
        };
        let _ = writeln!(head, "\n{}", paint(self.opts.color, style, &v));
        head.push('\n');
        if summary.sessions > 0 {
            head.push_str(&checklist_text(summary, self.opts.color));
            head.push('\n');
        }
        out.put(&head)?;
        out.spool(self.tables, &mut |_| String::new())?;
        if !self.rows.is_empty() {
            out.put(&table(std::mem::take(&mut self.rows)))?;
        }
        if summary.counts.iter().sum::<usize>() > 0 {
            out.put("\nFindings:\n")?;
            if summary.device_side() {
                out.put(&format!(
                    "  (Settings are changed on the copier: {SHARP_SMTP})\n"
                ))?;
            }
        }
        for (severity, spool) in self.findings.into_iter().enumerate() {
            for f in capture_findings
                .iter()
                .filter(|f| f.severity.index() == severity)
            {
                out.put(&finding(f, self.opts.color))?;
            }
            for g in self.groups.of_severity(severity) {
                out.put(&group_text(g, self.opts.color))?;
            }
            out.spool(spool, &mut |_| String::new())?;
        }
        if summary.device_side() {
            out.put(&format!(
                "\n  Supported configuration (Sharp MX, Microsoft 365): {SUPPORTED}\n"
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

/// The verdict as one line (without the `VERDICT: ` the text view puts before it):
/// what happened first, then the cause or the first warning.
pub fn verdict_line(v: &Verdict) -> String {
    let and_more = |n: &Named, what: &str| match n.more {
        0 => String::new(),
        m => format!(" (and {m} more {what}{})", if m > 1 { "s" } else { "" }),
    };
    let cause = v
        .cause
        .map(|c| format!("{} [{}]{}", c.title, c.id, and_more(&c, "error")));
    let happened = match &v.happened {
        Happened::Rejected { stage, reply } => {
            let reply = reply
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            let cause = cause.map(|c| format!(" — {c}")).unwrap_or_default();
            return format!(
                "FAIL: rejected at {}{reply}{cause}",
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

/// The settings checklist: each field of the copier's SMTP page, what the capture showed
/// and what to set.
fn checklist_text(summary: &Summary, color: bool) -> String {
    let mut out =
        String::from("Settings (Network Settings → Services Settings → SMTP on the copier):\n");
    for item in summary.checklist() {
        let (mark, style) = match item.check {
            Check::Ok => ("ok    ", GREEN),
            Check::Change => ("CHANGE", RED),
            Check::Unknown => ("?     ", YELLOW),
        };
        let _ = writeln!(
            out,
            "  {} {:<26} seen: {}; set: {}",
            paint(color, style, mark),
            item.field,
            item.seen,
            item.set
        );
    }
    let _ = writeln!(out, "  {}", checklist::THEN);
    out
}

fn finding(f: &Finding, color: bool) -> String {
    let group = Group {
        finding: f.clone(),
        evidence: vec![(f.session, f.evidence.clone())],
        sessions: f.session.into_iter().collect(),
        count: 1,
    };
    group_text(&group, color)
}

/// A finding of one or more sessions: the evidence of the first few, each under its
/// session when there are several.
fn group_text(g: &Group, color: bool) -> String {
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
    let _ = writeln!(out, "\n  {label} [{}] {}{sessions}", f.id, f.title);
    for (prefix, e) in g.evidence_lines() {
        let _ = writeln!(
            out,
            "      {prefix}frame {:>6}: {}",
            e.frame,
            clip(&e.text, 160)
        );
    }
    if g.not_shown() > 0 {
        let _ = writeln!(
            out,
            "      (and {} more sessions like these)",
            g.not_shown()
        );
    }
    let _ = writeln!(out, "    Why: {}", f.explanation);
    let _ = writeln!(out, "    Fix: {}", fix_without_path(&f.remediation));
    out
}

fn table(rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec![
            "#",
            "proto",
            "client",
            "server",
            "frames",
            "handshake",
            "closed",
            "outcome",
            "deciding or last reply",
        ]);
    for r in rows {
        t.add_row(r);
    }
    format!("{t}\n")
}

fn table_row(s: &Session, sd: &SessionDiagnosis) -> Vec<String> {
    let server = match &sd.server_name {
        Some(n) => format!("{}\n{n}\n{}", s.server, sd.server_identity.label()),
        None => format!("{}\n{}", s.server, sd.server_identity.label()),
    };
    vec![
        s.id.to_string(),
        s.protocol.name().to_string(),
        s.client.to_string(),
        server,
        format!("{}–{}", s.tcp.first_frame, s.tcp.last_frame),
        handshake(s.tcp.handshake).to_string(),
        closed(s),
        sd.outcome_label(),
        match &sd.deciding_reply {
            Some(d) => format!("{} (frame {})", clip(&d.text, 60), d.frame),
            None => last_reply(s),
        },
    ]
}

fn handshake(h: Handshake) -> &'static str {
    match h {
        Handshake::Complete => "complete",
        Handshake::SynUnanswered => "SYN unanswered",
        Handshake::Refused => "refused (RST)",
        Handshake::NotSeen => "not captured",
    }
}

fn closed(s: &Session) -> String {
    match s.tcp.close {
        Some(c) => format!(
            "{} {} (frame {})",
            c.by.name(),
            match c.how {
                CloseHow::Fin => "FIN",
                CloseHow::Rst => "RST",
            },
            c.frame
        ),
        None => "open at end".into(),
    }
}

fn last_reply(s: &Session) -> String {
    s.dialogue
        .iter()
        .rev()
        .find_map(|e| match &e.kind {
            EntryKind::Reply { lines, .. } | EntryKind::Status { lines, .. } => {
                let l = lines.last().cloned().unwrap_or_default();
                Some(format!("{} (frame {})", clip(&l, 60), e.frame))
            }
            _ => None,
        })
        .unwrap_or_else(|| "-".into())
}

/// A TLS session's handshake (what proves server, port and TLS right) and the exchange
/// inside as the record lengths told it.
fn inside_tls(s: &Session, sd: &SessionDiagnosis) -> Option<String> {
    let tls = s.tls.as_ref()?;
    let hello = tls.server_hello.as_ref()?;
    let mut out = format!("  session {}: {}, {}", s.id, hello.version, hello.cipher);
    if let Some(sni) = tls.client_hello.as_ref().and_then(|c| c.sni.as_deref()) {
        let _ = write!(out, ", SNI {sni}");
    }
    if let Some(cert) = &tls.certificate {
        let names = if cert.names.is_empty() {
            cert.subject.clone()
        } else {
            cert.names.join(", ")
        };
        let _ = write!(
            out,
            ", certificate for {names} (valid until {})",
            cert.not_after
        );
    }
    out.push('\n');
    if let Some(d) = &tls.decryption {
        out.push_str(&decryption(d));
    }
    match &sd.inside_tls {
        Some(i) => {
            out.push_str("    read from the encrypted record lengths (no keys): each turn's plaintext bytes\n");
            for st in &i.steps {
                let _ = writeln!(
                    out,
                    "    frame {:>6}  {}  {:>6} bytes  {}",
                    st.frame,
                    if st.side == Side::Client { "C→" } else { "←S" },
                    st.bytes,
                    st.meaning
                );
            }
        }
        None if sd.basis == Basis::Decrypted => {}
        None if tls.established => out.push_str(
            "    the record lengths do not tell what happened inside (the outcome stays unknown rather than guessed)\n",
        ),
        None => {}
    }
    Some(out)
}

/// What became of decrypting the session with the key log, when one was given.
fn decryption(d: &DecryptionFact) -> String {
    match d.status {
        DecryptionStatus::Decrypted => format!(
            "    decrypted with the key log: {} records, {} bytes of the dialogue, read as if in clear text (the transcript marks them *)\n",
            d.records, d.plaintext_bytes
        ),
        DecryptionStatus::NothingOpened => {
            "    the key log has this session's secrets, but no encrypted record came to decrypt\n".into()
        }
        DecryptionStatus::NoKeys => {
            "    not decrypted: the key log has no secrets for this session (its client random)\n".into()
        }
        DecryptionStatus::Unusable(why) => format!("    not decrypted: {why}\n"),
        DecryptionStatus::Failed { side, frame } => format!(
            "    not decrypted: the {} record in frame {frame} does not decrypt with the secrets logged ({} records did before it): a key log from another session or program, or a damaged record; judged as encrypted\n",
            if side == Side::Client { "client's" } else { "server's" },
            d.records
        ),
    }
}

pub(super) fn transcript(out: &mut String, s: &Session) {
    let _ = writeln!(
        out,
        "-- session {}: {} → {} ({}), frames {}–{}, {}",
        s.id,
        s.client,
        s.server,
        s.protocol.name(),
        s.tcp.first_frame,
        s.tcp.last_frame,
        s.start_time.utc_string()
    );
    if s.tcp.mid_stream {
        let _ = writeln!(out, "   (the capture starts after this conversation began)");
    }
    if !s.tcp.syn_frames.is_empty() && s.tcp.handshake != Handshake::Complete {
        let frames: Vec<String> = s.tcp.syn_frames.iter().map(u64::to_string).collect();
        let _ = writeln!(
            out,
            "   SYN in frames {}: {}",
            frames.join(", "),
            handshake(s.tcp.handshake)
        );
    }
    for e in &s.dialogue {
        let who = match e.from {
            Side::Client => "C",
            Side::Server => "S",
        };
        let head = format!("   {:>7}  {who}{} ", e.frame, if e.tls { '*' } else { ' ' });
        let pad = " ".repeat(head.chars().count());
        let body: Vec<String> = match &e.kind {
            EntryKind::Command { command, argument, truncated, repeated, .. } => {
                let cut = if *truncated { " [line cut short]" } else { "" };
                let cut = if *repeated > 0 { format!("{cut} [×{} in this frame]", repeated + 1) } else { cut.to_string() };
                vec![format!("{command} {argument}{cut}").trim_end().to_string()]
            }
            EntryKind::Reply { lines, .. } | EntryKind::Status { lines, .. } => lines.clone(),
            EntryKind::Auth { auth } => {
                let mut parts = vec![format!("[AUTH {}", auth.mechanism)];
                if let Some(u) = &auth.username {
                    parts.push(format!("user {u}"));
                }
                if auth.redacted {
                    parts.push("password withheld".into());
                }
                if auth.cancelled {
                    parts.push("cancelled".into());
                }
                vec![format!("{}]", parts.join(", "))]
            }
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
        };
        for (i, line) in body.iter().enumerate() {
            let _ = writeln!(out, "{}{}", if i == 0 { &head } else { &pad }, line);
        }
    }
}
