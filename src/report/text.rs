use std::fmt::Write;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

use super::scrub;
use crate::analysis::{Analysis, Session};
use crate::diagnosis::{Diagnosis, Outcome, SessionDiagnosis, Severity, SUPPORTED};
use crate::dialogue::{clip, BodyKind, EntryKind};
use crate::tcp::{CloseHow, Handshake, Side};

/// How the text report is rendered.
#[derive(Clone, Copy, Debug, Default)]
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
    let mut out = String::new();
    let _ = writeln!(out, "== {}", a.file);
    if let Some(format) = a.format {
        let gz = a.compression.map(|c| format!(", {c}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "   {format}{gz}, {} packets, link types {}",
            a.packets,
            if a.link_types.is_empty() {
                "-".to_string()
            } else {
                a.link_types.join(", ")
            }
        );
    }
    if let (Some(f), Some(l)) = (a.first_time, a.last_time) {
        let _ = writeln!(
            out,
            "   {} to {} UTC ({:.1} s)",
            f.utc_string(),
            l.utc_string(),
            l.since(f)
        );
    }
    if let Some(e) = &a.error {
        let what = if a.format.is_some() {
            "capture is damaged"
        } else {
            "cannot read capture"
        };
        let _ = writeln!(out, "   ERROR: {what}: at byte {}: {}", e.offset, e.message);
    }
    if a.sessions.is_empty() {
        let _ = writeln!(out, "   no SMTP or POP3 conversation found");
        return scrub(out, &a.secrets);
    }
    let v = verdict(d);
    let style = if v.contains("FAIL") {
        RED
    } else if v.contains("warning") {
        YELLOW
    } else {
        GREEN
    };
    let _ = writeln!(out, "\n{}", paint(opts.color, style, &v));
    out.push('\n');
    out.push_str(&summary_table(a, d));
    findings(&mut out, d, opts.color);
    let _ = writeln!(out, "\nWireshark display filters:");
    for s in &a.sessions {
        let _ = writeln!(out, "  session {}: {}", s.id, display_filter(s));
    }
    if opts.transcript {
        for s in &a.sessions {
            out.push('\n');
            transcript(&mut out, s);
        }
    }
    scrub(out, &a.secrets)
}

/// One line: what is wrong, or that nothing is.
pub fn verdict(d: &Diagnosis) -> String {
    let worst = d.findings.iter().find(|f| f.severity == Severity::Error);
    if let Some(f) = worst {
        let more = d
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
            - 1;
        let more = if more > 0 {
            format!(
                " (and {more} more error{})",
                if more > 1 { "s" } else { "" }
            )
        } else {
            String::new()
        };
        return format!("VERDICT: FAIL: {} [{}]{more}", f.title, f.id);
    }
    let delivered = d.sessions.iter().any(|s| s.outcome == Outcome::Delivered);
    let encrypted = d
        .sessions
        .iter()
        .any(|s| s.outcome == Outcome::EncryptedMessageTransferred);
    let base = if delivered {
        "VERDICT: OK: a message was accepted"
    } else if encrypted {
        "VERDICT: OK so far: a message-sized transfer went through TLS (its acceptance is encrypted)"
    } else if d.sessions.is_empty() {
        "VERDICT: nothing to judge: no SMTP conversation"
    } else if d.sessions.iter().any(|s| s.outcome == Outcome::Incomplete) {
        "VERDICT: the result cannot be seen: the capture does not hold it"
    } else if d.sessions.iter().all(|s| s.outcome == Outcome::TestOnly) {
        "VERDICT: only connection tests: no message was sent"
    } else {
        "VERDICT: no message was sent"
    };
    match d.findings.iter().find(|f| f.severity == Severity::Warning) {
        Some(w) => format!("{base}; warning: {} [{}]", w.title, w.id),
        None => base.to_string(),
    }
}

fn findings(out: &mut String, d: &Diagnosis, color: bool) {
    if d.findings.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nFindings:");
    for f in &d.findings {
        let session = f
            .session
            .map(|s| format!(" (session {s})"))
            .unwrap_or_default();
        let style = match f.severity {
            Severity::Error => RED,
            Severity::Warning => YELLOW,
            Severity::Info => BOLD,
        };
        let label = paint(color, style, &f.severity.name().to_uppercase());
        let _ = writeln!(out, "\n  {label} [{}] {}{session}", f.id, f.title);
        for e in &f.evidence {
            let _ = writeln!(out, "      frame {:>6}: {}", e.frame, clip(&e.text, 160));
        }
        let _ = writeln!(out, "    Why: {}", f.explanation);
        let _ = writeln!(out, "    Fix: {}", f.remediation);
    }
    if d.findings.iter().any(|f| Diagnosis::device_side(f.id)) {
        let _ = writeln!(
            out,
            "\n  Supported configuration (Sharp MX, Microsoft 365): {SUPPORTED}"
        );
    }
}

fn outcome_cell(sd: Option<&SessionDiagnosis>) -> String {
    sd.map_or_else(|| "-".into(), SessionDiagnosis::outcome_label)
}

fn summary_table(a: &Analysis, d: &Diagnosis) -> String {
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
            "last reply",
        ]);
    for (i, s) in a.sessions.iter().enumerate() {
        let sd = d.sessions.get(i);
        let server = match sd.and_then(|x| x.server_name.as_ref()) {
            Some(n) => format!("{}\n{n}", s.server),
            None => s.server.to_string(),
        };
        t.add_row(vec![
            s.id.to_string(),
            s.protocol.name().to_string(),
            s.client.to_string(),
            server,
            format!("{}–{}", s.tcp.first_frame, s.tcp.last_frame),
            handshake(s.tcp.handshake).to_string(),
            closed(s),
            outcome_cell(sd),
            last_reply(s),
        ]);
    }
    format!("{t}\n")
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
            side(c.by),
            match c.how {
                CloseHow::Fin => "FIN",
                CloseHow::Rst => "RST",
            },
            c.frame
        ),
        None => "open at end".into(),
    }
}

fn side(s: Side) -> &'static str {
    match s {
        Side::Client => "client",
        Side::Server => "server",
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

fn transcript(out: &mut String, s: &Session) {
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
        let head = format!("   {:>7}  {who}  ", e.frame);
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
