//! For every capture in samples/ and ../shared/captures/public/, each conversation's
//! commands and reply codes equal those of tshark's SMTP dissector, except where tshark
//! (4.0, as Debian ships it) is wrong; there the correct answer is asserted instead.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use smtpcap::internals::analysis::{Analysis, Protocol};
use smtpcap::internals::dialogue::EntryKind;

/// (frame, "C:VERB" or "S:CODE") → count.
type Tokens = BTreeMap<(u64, String), usize>;

/// A place where tshark is wrong. `ours`: the token smtpcap must report there (tshark
/// misses it); `theirs`: the token tshark reports that is not there.
struct TsharkMistake {
    capture: &'static str,
    frame: u64,
    ours: Option<&'static str>,
    theirs: Option<&'static str>,
    why: &'static str,
}

const fn ours(
    capture: &'static str,
    frame: u64,
    token: &'static str,
    why: &'static str,
) -> TsharkMistake {
    TsharkMistake {
        capture,
        frame,
        ours: Some(token),
        theirs: None,
        why,
    }
}

const AFTER_DOT: &str = "a command after the end-of-data dot in the same segment";
const DATA_REFUSED: &str =
    "DATA was refused (503), so what follows are commands, not a message body";
const NO_CRLF: &str = "the last line of the stream has no CRLF";
const AUTH_ANSWER: &str = "the line after a 334 challenge is the AUTH answer, not a command";
const AUTH_NO_PROMPT: &str = "the lines after AUTH LOGIN are its user name and password, though the server never prompted (it had stopped making sense): tshark reads them as commands";
const BAD_BDAT: &str = "BDAT with invalid syntax carries no chunk; the next line is a command";
const AFTER_GAP: &str = "after the 1000 missing bytes smtpcap resynchronises; tshark stops";
const CUT_BODY: &str =
    "the body's end was cut by the snapshot length; the server's 250 ends it, so this is a command";
const BDAT_SEGMENT: &str =
    "MAIL/RCPT/BDAT sharing a segment with the chunk: tshark 4.0 does not decode them";

const MISTAKES: &[TsharkMistake] = &[
    ours(
        "chrissanders-packets/mail_sender_server_2.pcapng",
        34,
        "C:QUIT",
        AFTER_DOT,
    ),
    ours(
        "suricata-verify/smtp-data-rejected/10.7.29.101_49898-178.63.41.150_25.pcap",
        11,
        "C:RSET",
        DATA_REFUSED,
    ),
    ours(
        "suricata-verify/smtp-data-rejected/10.7.29.101_49898-178.63.41.150_25.pcap",
        14,
        "C:MAIL",
        DATA_REFUSED,
    ),
    ours(
        "suricata-verify/smtp-data-rejected/10.7.29.101_49898-178.63.41.150_25.pcap",
        14,
        "C:RCPT",
        DATA_REFUSED,
    ),
    ours(
        "suricata-verify/smtp-data-rejected/10.7.29.101_49898-178.63.41.150_25.pcap",
        14,
        "C:DATA",
        DATA_REFUSED,
    ),
    ours(
        "suricata-verify/smtp-errors/smtperr.pcap",
        124,
        "C:QUIT",
        NO_CRLF,
    ),
    TsharkMistake {
        capture: "suricata-verify/smtp-long-command/input.pcap",
        frame: 19,
        ours: None,
        theirs: Some("C:QUIT"),
        why: AUTH_ANSWER,
    },
    TsharkMistake {
        capture: "samples/garbage-server-python.pcap",
        frame: 18,
        ours: None,
        theirs: Some("C:B2ZM"),
        why: AUTH_NO_PROMPT,
    },
    TsharkMistake {
        capture: "samples/garbage-server-python.pcap",
        frame: 20,
        ours: None,
        theirs: Some("C:U2NH"),
        why: AUTH_NO_PROMPT,
    },
    ours("zeek/smtp-bdat-cmd-invalid.pcapng", 20, "C:QUIT", BAD_BDAT),
    ours("zeek/smtp-bdat-cmd-invalid.pcapng", 42, "C:QUIT", BAD_BDAT),
    ours("zeek/smtp-bdat-gap.pcap", 26, "C:DATA", AFTER_GAP),
    ours("zeek/smtp-bdat-gap.pcap", 34, "C:QUIT", AFTER_GAP),
    ours(
        "zeek/smtp-bdat-pipeline-8bitmime.pcap",
        9,
        "C:MAIL",
        BDAT_SEGMENT,
    ),
    ours(
        "zeek/smtp-bdat-pipeline-8bitmime.pcap",
        9,
        "C:RCPT",
        BDAT_SEGMENT,
    ),
    ours(
        "zeek/smtp-bdat-pipeline-8bitmime.pcap",
        9,
        "C:BDAT",
        BDAT_SEGMENT,
    ),
    ours(
        "zeek/smtp-bdat-pipeline-8bitmime.pcap",
        17,
        "C:MAIL",
        BDAT_SEGMENT,
    ),
    ours(
        "zeek/smtp-bdat-pipeline-8bitmime.pcap",
        17,
        "C:RCPT",
        BDAT_SEGMENT,
    ),
    ours(
        "zeek/smtp-bdat-pipeline-8bitmime.pcap",
        17,
        "C:BDAT",
        BDAT_SEGMENT,
    ),
    ours("samples/bdat-python.pcap", 9, "C:MAIL", BDAT_SEGMENT),
    ours("samples/bdat-python.pcap", 9, "C:RCPT", BDAT_SEGMENT),
    ours("samples/bdat-python.pcap", 9, "C:BDAT", BDAT_SEGMENT),
    ours("samples/bdat-python.pcap", 11, "C:BDAT", BDAT_SEGMENT),
    ours("samples/bdat-python.pcap", 13, "C:BDAT", BDAT_SEGMENT),
    ours("samples/scenarios/snaplen-80.pcap", 21, "C:QUIT", CUT_BODY),
];

/// Tokens of smtpcap's SMTP sessions, each at the frame Wireshark shows it (the last
/// frame of a line split over segments). Also returns the frame ranges smtpcap treats as
/// TLS because a 220 answered STARTTLS, though the bytes are not TLS records (a
/// decrypted capture): tshark parses those as SMTP, smtpcap by design does not.
fn ours_tokens(a: &Analysis) -> (Tokens, Vec<(u64, u64)>, Vec<u16>) {
    let mut t = Tokens::new();
    let mut not_tls = Vec::new();
    let mut ports = Vec::new();
    for s in a.sessions.iter().filter(|s| s.protocol == Protocol::Smtp) {
        ports.push(s.server.port);
        for e in &s.dialogue {
            let (token, end) = match &e.kind {
                EntryKind::Command {
                    command,
                    end_frame,
                    repeated,
                    ..
                } => {
                    // A folded repeat stands for one more token per copy.
                    let key = (end_frame.unwrap_or(e.frame), format!("C:{command}"));
                    *t.entry(key).or_default() += *repeated as usize;
                    (format!("C:{command}"), *end_frame)
                }
                EntryKind::Reply {
                    code, end_frame, ..
                } => (format!("S:{code}"), *end_frame),
                EntryKind::Tls { tls } if !tls.looks_like_tls => {
                    not_tls.push((e.frame, s.tcp.last_frame));
                    continue;
                }
                _ => continue,
            };
            *t.entry((end.unwrap_or(e.frame), token)).or_default() += 1;
        }
    }
    (t, not_tls, ports)
}

fn tshark_tokens(path: &Path, ports: &[u16]) -> Tokens {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(path);
    for p in ports {
        // tshark decodes SMTP on 25 and 587 by itself; tunnels (SOCKS) hand over by themselves.
        if *p == 2525 || *p == 465 {
            cmd.args(["-d", &format!("tcp.port=={p},smtp")]);
        }
    }
    cmd.args([
        "-Y",
        "smtp",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "smtp.req.command",
        "-e",
        "smtp.response.code",
    ]);
    cmd.args(["-E", "occurrence=a", "-E", "aggregator=|"]);
    let out = cmd.output().expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut t = Tokens::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut f = line.split('\t');
        let frame: u64 = f.next().and_then(|x| x.parse().ok()).expect("frame number");
        for (prefix, field) in [("C:", f.next()), ("S:", f.next())] {
            for v in field.unwrap_or("").split('|').filter(|v| !v.is_empty()) {
                *t.entry((frame, format!("{prefix}{}", v.to_uppercase())))
                    .or_default() += 1;
            }
        }
    }
    t
}

fn compare(name: &str, path: &Path) -> Vec<String> {
    let a = common::analyze(path);
    let (mut mine, not_tls, ports) = ours_tokens(&a);
    let mut theirs = tshark_tokens(path, &ports);
    theirs.retain(|(frame, _), _| {
        !not_tls
            .iter()
            .any(|(from, to)| frame >= from && frame <= to)
    });
    let mut problems = Vec::new();
    for m in MISTAKES.iter().filter(|m| m.capture == name) {
        if let Some(tok) = m.ours {
            let key = (m.frame, tok.to_string());
            match mine.get_mut(&key) {
                Some(n) if *n > 0 => *n -= 1,
                _ => problems.push(format!(
                    "{name}: smtpcap must report {tok} at frame {}: {}",
                    m.frame, m.why
                )),
            }
        }
        if let Some(tok) = m.theirs {
            let key = (m.frame, tok.to_string());
            if mine.contains_key(&key) {
                problems.push(format!(
                    "{name}: smtpcap must not report {tok} at frame {}: {}",
                    m.frame, m.why
                ));
            }
            if let Some(n) = theirs.get_mut(&key) {
                *n = n.saturating_sub(1);
            }
        }
    }
    // tshark 4.0 shows a verb longer than four letters cut to four (STARTTLS as STAR).
    let cut: Vec<(u64, String)> = theirs
        .keys()
        .filter(|(_, t)| t.starts_with("C:") && t.len() == 6)
        .cloned()
        .collect();
    for (frame, short) in cut {
        if let Some(full) = mine
            .keys()
            .find(|(f, t)| *f == frame && t.len() > 6 && t.starts_with(&short))
            .cloned()
        {
            theirs.remove(&(frame, short));
            *theirs.entry(full).or_default() += 1;
        }
    }
    mine.retain(|_, n| *n > 0);
    theirs.retain(|_, n| *n > 0);
    for (k, n) in &mine {
        if theirs.get(k) != Some(n) {
            problems.push(format!(
                "{name}: frame {} {} ×{n} by smtpcap, ×{} by tshark",
                k.0,
                k.1,
                theirs.get(k).unwrap_or(&0)
            ));
        }
    }
    for (k, n) in &theirs {
        if !mine.contains_key(k) {
            problems.push(format!("{name}: frame {} {} ×{n} by tshark only", k.0, k.1));
        }
    }
    problems
}

#[test]
fn commands_and_reply_codes_equal_tshark_apart_from_its_known_mistakes() {
    if !common::which("tshark") {
        common::skipped("tshark is not installed (.ci/run installs it)");
        return;
    }
    let mut captures: Vec<(String, std::path::PathBuf)> = common::samples()
        .into_iter()
        .map(|p| (p.display().to_string(), p))
        .collect();
    if let Some(dir) = common::public_dir() {
        for p in common::public_captures() {
            let name = p.strip_prefix(&dir).unwrap().display().to_string();
            captures.push((name, p));
        }
    }
    let mut problems = Vec::new();
    for (name, path) in &captures {
        problems.extend(compare(name, path));
    }
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!("compared {} captures with tshark", captures.len());
}

#[test]
fn quoted_evidence_is_in_the_frame_wireshark_shows() {
    if !common::which("tshark") {
        common::skipped("tshark is not installed (.ci/run installs it)");
        return;
    }
    let mut checked = 0;
    for path in common::samples() {
        let a = common::analyze(&path);
        let d = smtpcap::internals::diagnosis::diagnose(&a);
        for f in d.findings() {
            for e in &f.evidence {
                let t = e.text.as_bytes();
                let is_reply = t.len() > 4
                    && (b'2'..=b'5').contains(&t[0])
                    && t[1..3].iter().all(u8::is_ascii_digit)
                    && t[3] == b' ';
                if !is_reply {
                    continue;
                }
                let out = Command::new("tshark")
                    .args(["-n", "-r"])
                    .arg(common::root().join(&path))
                    .args([
                        "-Y",
                        &format!("frame.number=={}", e.frame),
                        "-T",
                        "fields",
                        "-e",
                        "tcp.payload",
                    ])
                    .output()
                    .expect("tshark runs");
                let hex = String::from_utf8_lossy(&out.stdout).replace([':', '\n'], "");
                let payload: Vec<u8> = (0..hex.len() / 2)
                    .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                    .collect();
                let quoted = e.text.trim_end_matches('…');
                let head = &quoted.as_bytes()[..quoted.len().min(40)];
                assert!(
                    payload.windows(head.len()).any(|w| w == head),
                    "{}: {} evidence {:?} is not in frame {} as Wireshark reads it",
                    path.display(),
                    f.id,
                    e.text,
                    e.frame
                );
                checked += 1;
            }
        }
    }
    // Every quoted reply of every sample (16 when this was written).
    assert!(checked >= 16, "only {checked} quoted replies checked");
    eprintln!("{checked} quoted replies found in their frames by tshark");
}
