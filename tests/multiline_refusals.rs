//! A refusal reads the same whether the server sends it on one line or spreads it over
//! two or three (`530-5.7.0 Must issue …` / `530 5.7.0 … gsmtp`): the finding that cites
//! the deciding reply is an error quoting every line as one sentence, and the exit
//! status is 1.

mod common;

use std::io::Cursor;
use std::process::Command;

use common::craft::Capture;
use smtpcap::internals::analysis::analyze_bytes;
use smtpcap::internals::diagnosis::{diagnose, Severity};

#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Ehlo,
    Auth,
    Mail,
    Rcpt,
    Dot,
}

const POSTFIX: &str = "220 mail.example.test ESMTP Postfix (Debian/GNU)";
const EXIM: &str = "220 mail.example.test ESMTP Exim 4.96 Sat, 05 Dec 2026 10:00:00 +0000";
const SENDMAIL: &str =
    "220 mail.example.test ESMTP Sendmail 8.17.1.9/8.17.1.9/Debian-2; Sat, 5 Dec 2026 10:00:00 GMT";
const OPENSMTPD: &str = "220 mail.example.test ESMTP OpenSMTPD";
const EXCHANGE: &str =
    "220 EX01.contoso.local Microsoft ESMTP MAIL Service ready at Sat, 5 Dec 2026 10:00:00 +0000";
const EXO: &str = "220 AM0PR10CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready at Sat, 5 Dec 2026 10:00:00 +0000 [08DE1C7A3B5E2F10]";
const GMAIL: &str = "220 smtp.gmail.com ESMTP a1b2c3d4e5-6f7a8b9c0d.1 - gsmtp";

/// Each documented permanent refusal, the banner of its server and where it comes.
const CASES: &[(&str, Stage, &str)] = &[
    (POSTFIX, Stage::Rcpt, "554 5.7.1 <someone@example.org>: Relay access denied"),
    (POSTFIX, Stage::Mail, "530 5.7.0 Must issue a STARTTLS command first"),
    (POSTFIX, Stage::Auth, "535 5.7.8 Error: authentication failed: authentication failure"),
    (POSTFIX, Stage::Rcpt, "550 5.1.1 <x@domain.com>: Recipient address rejected: User unknown in local recipient table"),
    (POSTFIX, Stage::Dot, "552 5.3.4 Message size exceeds fixed limit"),
    (POSTFIX, Stage::Rcpt, "554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org"),
    (POSTFIX, Stage::Dot, "554 5.7.1 Message contains virus"),
    (EXIM, Stage::Rcpt, "550 relay not permitted"),
    (EXIM, Stage::Auth, "535 Incorrect authentication data"),
    (EXIM, Stage::Dot, "552 Message size exceeds maximum permitted"),
    (EXIM, Stage::Ehlo, "501 Syntactically invalid HELO argument(s)"),
    (SENDMAIL, Stage::Rcpt, "550 5.7.1 <someone@example.org>... Relaying denied. Proper authentication required."),
    (SENDMAIL, Stage::Mail, "530 5.7.0 Authentication required"),
    (SENDMAIL, Stage::Mail, "553 5.1.8 <scan@nowhere.invalid>... Domain of sender address scan@nowhere.invalid does not exist"),
    (OPENSMTPD, Stage::Mail, "530 5.5.1 Invalid command: Must issue an AUTH command first"),
    (OPENSMTPD, Stage::Rcpt, "550 Invalid recipient: <x@domain.com>"),
    (EXCHANGE, Stage::Mail, "530 5.7.1 Client was not authenticated"),
    (EXCHANGE, Stage::Rcpt, "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"),
    (EXCHANGE, Stage::Ehlo, "501 5.5.4 Invalid domain name"),
    (EXO, Stage::Mail, "530 5.7.57 Client not authenticated to send mail"),
    (EXO, Stage::Auth, "535 5.7.3 Authentication unsuccessful"),
    (EXO, Stage::Auth, "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."),
    (EXO, Stage::Auth, "550 5.7.30 Basic authentication is not supported for Client Submission."),
    (EXO, Stage::Dot, "554 5.2.252 SendAsDenied; office@domain.com not allowed to send as scanner@domain.com"),
    (EXO, Stage::Rcpt, "550 5.7.64 TenantAttribution; Relay Access Denied"),
    (GMAIL, Stage::Mail, "530 5.7.0 Must issue a STARTTLS command first. For more information, go to https://support.google.com/a/answer/3221692 and review RFC 3207 specifications. a1b2c3 - gsmtp"),
    (GMAIL, Stage::Auth, "534 5.7.9 Application-specific password required. Learn more at https://support.google.com/mail/?p=InvalidSecondFactor a1b2c3 - gsmtp"),
    (GMAIL, Stage::Auth, "535 5.7.8 Username and Password not accepted. Learn more at https://support.google.com/mail/?p=BadCredentials a1b2c3 - gsmtp"),
    (GMAIL, Stage::Rcpt, "550 5.7.0 Mail relay denied. a1b2c3 - gsmtp"),
    (GMAIL, Stage::Dot, "552 5.3.4 Your message exceeded Google's message size limits. a1b2c3 - gsmtp"),
];

/// `reply` spread over `n` lines, each with the code (and the enhanced code, where the
/// reply has one), as servers send them.
fn spread(reply: &str, n: usize) -> Vec<String> {
    let code = &reply[..3];
    let rest = &reply[4..];
    let enhanced = rest
        .split_whitespace()
        .next()
        .filter(|w| w.split('.').count() == 3 && w.chars().all(|c| c.is_ascii_digit() || c == '.'));
    let text = enhanced.map_or(rest, |e| rest[e.len()..].trim_start());
    let words: Vec<&str> = text.split(' ').collect();
    let per = words.len().div_ceil(n);
    let chunks: Vec<String> = words.chunks(per.max(1)).map(|c| c.join(" ")).collect();
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let sep = if i == last { ' ' } else { '-' };
            match enhanced {
                Some(e) => format!("S: {code}{sep}{e} {chunk}"),
                None => format!("S: {code}{sep}{chunk}"),
            }
        })
        .collect()
}

/// A session that meets `refusal` at `stage` and then quits. No STARTTLS is offered
/// and the login is CRAM-MD5 (a warning), so that only the refusal can be an error.
fn session(banner: &str, stage: Stage, refusal: &[String]) -> Vec<String> {
    let mut t = vec![
        format!("S: {banner}"),
        "C: EHLO mx-4070n.example.test".into(),
    ];
    let refused = |t: &mut Vec<String>| {
        t.extend(refusal.iter().cloned());
        t.push("C: QUIT".into());
        t.push("S: 221 2.0.0 Bye".into());
    };
    if stage == Stage::Ehlo {
        refused(&mut t);
        return t;
    }
    t.extend(
        [
            "S: 250-mail.example.test",
            "S: 250-AUTH CRAM-MD5",
            "S: 250 8BITMIME",
        ]
        .map(String::from),
    );
    t.extend(
        [
            "C: AUTH CRAM-MD5",
            "S: 334 PDE4OTYuNjk3MTcwOTUyQG1haWwuZXhhbXBsZS50ZXN0Pg==",
            "C: c2Nhbm5lciAzYzZlMGI4YTljMTUyMjRhODIyOGI5YTk4Y2ExNTMxZA==",
        ]
        .map(String::from),
    );
    if stage == Stage::Auth {
        refused(&mut t);
        return t;
    }
    t.push("S: 235 2.7.0 Authentication successful".into());
    t.push("C: MAIL FROM:<scanner@domain.com>".into());
    if stage == Stage::Mail {
        refused(&mut t);
        return t;
    }
    t.push("S: 250 2.1.0 Ok".into());
    t.push("C: RCPT TO:<office@domain.com>".into());
    if stage == Stage::Rcpt {
        refused(&mut t);
        return t;
    }
    t.extend(
        [
            "S: 250 2.1.5 Ok",
            "C: DATA",
            "S: 354 End data with <CR><LF>.<CR><LF>",
            "C: Subject: scan",
            "C: ",
            "C: body",
            "C: .",
        ]
        .map(String::from),
    );
    refused(&mut t);
    t
}

struct Seen {
    /// The deciding finding's id, severity and quote of the deciding reply.
    deciding: Option<(String, Severity, String)>,
    findings: Vec<(String, Severity)>,
    status: i32,
}

fn run(turns: &[String], dir: &std::path::Path) -> Seen {
    let turns: Vec<&str> = turns.iter().map(String::as_str).collect();
    let pcap = Capture::new()
        .tcp(([192, 168, 1, 50], 40000), ([192, 168, 1, 10], 587), &turns)
        .pcap();
    let a = analyze_bytes("crafted", Cursor::new(pcap.clone()));
    let d = diagnose(&a);
    let decided = d.sessions[0].deciding_reply.clone();
    let all: Vec<_> = d
        .session_findings
        .iter()
        .flatten()
        .chain(&d.capture_findings)
        .collect();
    let deciding = decided.as_ref().and_then(|r| {
        all.iter().find_map(|f| {
            let e = f.evidence.iter().find(|e| e.frame == r.frame)?;
            Some((f.id.as_str().to_string(), f.severity, e.text.clone()))
        })
    });
    let findings = all
        .iter()
        .map(|f| (f.id.as_str().to_string(), f.severity))
        .collect();
    let file = dir.join("case.pcap");
    std::fs::write(&file, pcap).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_smtpcap"))
        .args(["analyze", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap()
        .status
        .code()
        .unwrap_or(-1);
    Seen {
        deciding,
        findings,
        status,
    }
}

#[test]
fn a_refusal_over_one_two_or_three_lines_decides_alike() {
    let dir = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();
    for &(banner, stage, reply) in CASES {
        let mut first: Option<Vec<(String, Severity)>> = None;
        for n in 1..=3 {
            let seen = run(&session(banner, stage, &spread(reply, n)), dir.path());
            match &seen.deciding {
                Some((_, Severity::Error, quote)) if quote == reply => {}
                other => wrong.push(format!("{reply} on {n} lines: deciding finding {other:?}")),
            }
            if seen.status != 1 {
                wrong.push(format!("{reply} on {n} lines: exit status {}", seen.status));
            }
            match &first {
                None => first = Some(seen.findings),
                Some(f) if *f != seen.findings => wrong.push(format!(
                    "{reply} on {n} lines: findings {:?}, on one line {f:?}",
                    seen.findings
                )),
                Some(_) => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
