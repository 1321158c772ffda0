//! The dialogue inside TLS read from record lengths (no keys) against the truth: the
//! recordings in samples/ decrypted by tshark with the key log beside each, the compact
//! traces of the client matrix with the truth found so when they were made (truth.tsv),
//! and the case each was recorded as. Where the inference decides it must be right;
//! where it cannot, it must keep the coarse `encrypted-…` outcome.

mod common;

use std::fmt::Write;
use std::path::Path;
use std::process::Command;

use smtpcap::internals::diagnosis::{diagnose, Basis};

/// The outcome as `outcome[/stage]`, read from tshark's decrypted stream
/// (`-z follow,tls,ascii`; its SMTP fields misread a pipelined group followed by the body):
/// each final reply answers the oldest command waiting; the message accepted, else the
/// first refusal (of anything but QUIT), else a test.
fn decrypted_truth(path: &Path) -> String {
    let keys = format!("{}.keys", path.display());
    let out = Command::new("tshark")
        .args(["-r", &path.to_string_lossy(), "-o"])
        .arg(format!("tls.keylog_file:{keys}"))
        .args(["-q", "-z", "follow,tls,ascii,0"])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8_lossy(&out.stdout);
    // Node 0 is whichever side tshark met first: the server when its port is a service's.
    let node0_server = text
        .lines()
        .find_map(|l| l.strip_prefix("Node 0: "))
        .and_then(|n| n.rsplit(':').next()?.parse::<u16>().ok())
        .is_some_and(|port| port < 1024);
    // Chunks: a length line (a tab before it: node 1's), its lines, a blank line.
    let mut lines: Vec<(bool, String)> = Vec::new();
    let mut server = None;
    // Split at LF alone: a line of the data keeps its CR, so only a separator is empty.
    for line in text.split('\n') {
        let bare = line.trim_start_matches('\t');
        if line.is_empty() {
            server = None;
        } else if server.is_none() && !bare.is_empty() && bare.bytes().all(|b| b.is_ascii_digit()) {
            server = Some(line.starts_with('\t') != node0_server);
        } else if let Some(from_server) = server {
            lines.push((from_server, line.trim_end_matches('\r').to_string()));
        }
    }
    let mut waiting = std::collections::VecDeque::<String>::new();
    let mut in_body = false;
    for (from_server, line) in lines {
        if !from_server {
            if in_body {
                if line == "." {
                    in_body = false;
                    waiting.push_back("BODY".into());
                }
                continue;
            }
            let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
            waiting.push_back(verb);
            continue;
        }
        // A final reply line: `ddd ` or `ddd` alone.
        let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if code == 0 || line.as_bytes().get(3) == Some(&b'-') {
            continue;
        }
        let command = waiting.pop_front().unwrap_or_default();
        if code == 354 {
            in_body = true;
            continue;
        }
        let stage = match command.as_str() {
            "BODY" | "DATA" => "data",
            "MAIL" => "mail",
            "RCPT" => "rcpt",
            "EHLO" | "HELO" | "QUIT" | "RSET" | "NOOP" => "other",
            // AUTH, and the lines of a login.
            _ => "auth",
        };
        if code >= 400 && command != "QUIT" {
            return format!("rejected/{stage}");
        }
        if command == "BODY" && code == 250 {
            return "delivered".into();
        }
    }
    "test-only".into()
}

/// The outcome each recording was made for, by its folder and name: Exchange Online
/// refuses an unauthenticated sender at MAIL, Postfix (`reject_sender_login_mismatch`) at
/// RCPT. The client matrix names the server first (`postfix-…`, `exo-…`).
fn recorded_as(dir: &str, name: &str) -> &'static str {
    let dir = dir.rsplit('/').next().unwrap_or(dir);
    let (dir, name) = match name.split_once('-') {
        // Postfix and Exim refuse a sender without a login at RCPT.
        Some(("postfix" | "exim", rest)) if dir == "clients" => ("postfix-sasl", rest),
        Some(("exo", rest)) if dir == "clients" => ("inside-tls", rest),
        _ => (dir, name),
    };
    // A client that announces the size (`SIZE=`, as Python and curl do where SIZE is
    // offered) is refused at MAIL; one that does not, after the message.
    let announces_size = name.ends_with("-python.pcap") || name.ends_with("-curl.pcap");
    match (dir, name.split("-tls").next().unwrap_or("")) {
        (_, "delivered" | "two-messages" | "rset") => "delivered",
        (_, "too-large") if announces_size => "rejected/mail",
        (_, "auth-failed" | "auth-disabled" | "security-defaults" | "basic-retired") => {
            "rejected/auth"
        }
        (_, "send-as-denied" | "send-as-data" | "too-large") => "rejected/data",
        (_, "relay-denied") | ("postfix-sasl", "not-authenticated" | "sender-refused") => {
            "rejected/rcpt"
        }
        (_, "send-as-mail" | "restricted-sender" | "not-authenticated") => "rejected/mail",
        (_, "test-only" | "quit-after-ehlo") => "test-only",
        (_, other) => panic!("no case for {other}"),
    }
}

/// The truth of each compact trace in `folder` (`truth.tsv`: name, truth, how it was
/// known), written when the traces were made from the whole recordings.
fn traces_truth(folder: &Path) -> std::collections::HashMap<String, (String, String)> {
    let Ok(text) = std::fs::read_to_string(folder.join("truth.tsv")) else {
        return std::collections::HashMap::default();
    };
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split('\t');
            let name = f.next()?.to_string();
            Some((name, (f.next()?.to_string(), f.next()?.to_string())))
        })
        .collect()
}

/// The recordings in `folder`: whole captures (`.pcap`) or compact traces (`.pcap.gz`,
/// `scripts/compact-traces.sh`), by name without `.gz`.
fn recordings(folder: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut out: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let name = file.strip_suffix(".gz").unwrap_or(&file).to_string();
            let pcap = Path::new(&name)
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("pcap"));
            pcap.then(|| (name, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// The truth of a recording: tshark's decryption with its key log where there is one,
/// else the case it was recorded as (swaks writes no key log).
fn truth_of(dir: &str, name: &str, path: &Path) -> (String, &'static str) {
    let keys = Path::new(&format!("{}.keys", path.display())).exists();
    if keys && common::which("tshark") {
        (decrypted_truth(path), "tshark-decryption")
    } else {
        (recorded_as(dir, name).to_string(), "recorded-case")
    }
}

/// Writes `truth.tsv` for the compact traces made from the whole recordings in
/// `SMTPCAP_TRACES_FROM` into `SMTPCAP_TRACES_TO` (scripts/compact-traces.sh runs it).
#[test]
#[ignore = "run by scripts/compact-traces.sh"]
fn write_traces_truth() {
    let (Ok(from), Ok(to)) = (
        std::env::var("SMTPCAP_TRACES_FROM"),
        std::env::var("SMTPCAP_TRACES_TO"),
    ) else {
        panic!("set SMTPCAP_TRACES_FROM and SMTPCAP_TRACES_TO");
    };
    // The traces made before keep their lines; these recordings' are (re)written.
    let mut all: std::collections::BTreeMap<String, (String, String)> =
        traces_truth(Path::new(&to)).into_iter().collect();
    for (name, path) in recordings(Path::new(&from)) {
        let (truth, how) = truth_of("tests/recordings/clients", &name, &path);
        all.insert(name, (truth, how.to_string()));
    }
    let mut out = String::from(
        "# name\ttruth (outcome[/stage])\thow it was known: tshark's decryption of the whole recording with its key log, or the case it was recorded as\n",
    );
    for (name, (truth, how)) in &all {
        let _ = writeln!(out, "{name}\t{truth}\t{how}");
    }
    std::fs::write(Path::new(&to).join("truth.tsv"), out).unwrap();
}

/// Right, declined and wrong inferences over the recordings in `DIR` (under the package
/// root), and each recording's name with whether it was read right.
fn accuracy(dir: &str) -> (usize, usize, Vec<String>, Vec<(String, bool)>) {
    let folder = common::root().join(dir);
    let traces = traces_truth(&folder);
    let tshark = common::which("tshark");
    if !tshark {
        common::skipped("tshark not installed: checked against the recorded cases only");
    }
    let (mut right, mut declined, mut wrong) = (0, 0, Vec::new());
    let mut each = Vec::new();
    for (name, path) in recordings(&folder) {
        let name = &name;
        let a = common::analyze(&path);
        let d = diagnose(&a);
        let sd = &d.sessions[0];
        let got = match sd.stage {
            Some(st) => format!("{}/{}", sd.outcome.name(), st.name()),
            None => sd.outcome.name().to_string(),
        };
        let truth = recorded_as(dir, name);
        // The truth, from tshark's decryption where a key log exists (swaks writes none);
        // a compact trace keeps the truth found when it was made.
        if let Some((t, how)) = traces.get(name.as_str()) {
            assert_eq!(t, truth, "{name}: truth.tsv ({how})");
        } else {
            assert!(
                path.extension().is_some_and(|e| e == "pcap"),
                "{name}: a compact trace without its line in truth.tsv"
            );
            let (t, how) = truth_of(dir, name, &path);
            assert_eq!(t, truth, "{name}: {how}");
        }
        if let (Basis::Inferred, Some(i)) = (sd.basis, &sd.inside_tls) {
            // The one path's outcome is the reading's own.
            assert_eq!(i.outcome, Some(sd.outcome), "{name}");
            assert_eq!(i.stage, sd.stage, "{name}");
        }
        // Entries of a reading that stopped short never decide the outcome on their own.
        if sd.basis == Basis::Observed {
            assert!(
                !matches!(sd.outcome.name(), "delivered" | "rejected" | "test-only"),
                "{name}: {} from a partial reading",
                sd.outcome.name()
            );
        }
        if sd.basis != Basis::Inferred {
            declined += 1;
        } else if got == truth {
            right += 1;
        } else {
            wrong.push(format!("{dir}/{name}: inferred {got}, truly {truth}"));
        }
        each.push((name.clone(), sd.basis == Basis::Inferred && got == truth));
    }
    (right, declined, wrong, each)
}

/// The client matrix's accuracy as Markdown tables (case, then client, by server and TLS
/// version; right/recordings), from names `SERVER-CASE-tlsNN-CLIENT.pcap`.
fn matrix_tables(each: &[(String, bool)]) -> String {
    let servers = [
        ("exo", "look-alike"),
        ("postfix", "Postfix"),
        ("exim", "Exim"),
    ];
    let cols: Vec<(&str, &str, &str)> = servers
        .iter()
        .flat_map(|(s, n)| [(*s, *n, "12"), (*s, *n, "13")])
        .collect();
    let parts = |name: &str| -> Option<(String, String, String, String)> {
        let (head, tail) = name.strip_suffix(".pcap")?.split_once("-tls")?;
        let (server, case) = head.split_once('-')?;
        let (tls, client) = tail.split_once('-')?;
        Some((server.into(), case.into(), tls.into(), client.into()))
    };
    let mut out = String::new();
    for (title, by_case) in [("case", true), ("client", false)] {
        let mut cells: std::collections::BTreeMap<(String, String, String), (u32, u32)> =
            std::collections::BTreeMap::new();
        for (name, ok) in each {
            let Some((server, case, tls, client)) = parts(name) else {
                continue;
            };
            let row = if by_case { case } else { client };
            let c = cells.entry((row, server, tls)).or_default();
            c.0 += u32::from(*ok);
            c.1 += 1;
        }
        let rows: std::collections::BTreeSet<&String> = cells.keys().map(|k| &k.0).collect();
        let _ = write!(out, "| {title} |");
        for (_, n, t) in &cols {
            let _ = write!(out, " {n} TLS 1.{} |", &t[1..]);
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(cols.len()));
        out.push('\n');
        for row in rows {
            let _ = write!(out, "| {row} |");
            for (s, _, t) in &cols {
                match cells.get(&(row.clone(), (*s).to_string(), (*t).to_string())) {
                    Some((ok, all)) => {
                        let _ = write!(out, " {ok}/{all} |");
                    }
                    None => out.push_str(" – |"),
                }
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

#[test]
fn inferred_outcomes_equal_the_decrypted_truth() {
    // docs/inside-tls.md gives these figures.
    for (dir, expected) in [
        // Exchange Online look-alike: 7 cases x TLS 1.2/1.3 x Python/swaks.
        ("samples/inside-tls", (28, 0)),
        // One delivery per suite: AEAD and CBC ones (a block-wide range per record) read.
        ("samples/keylog", (8, 0)),
        // A real Postfix with Dovecot SASL, against Postfix's documented texts.
        ("samples/postfix-sasl", (18, 1)),
        // The client matrix (scripts/record-samples.sh --clients): msmtp, swaks with and
        // without --pipeline, curl and Python against Postfix + Dovecot, Exim 4.96 (both
        // Debian's) and the look-alike (both acceptance forms, drawn host names, message
        // sizes and Message-IDs), TLS 1.2 and 1.3, delivered, wrong password, no login,
        // connection test, a message over the SIZE limit (refused at MAIL where SIZE= is
        // declared, else after the message), a connection test that quits after EHLO, RSET
        // between two messages; and against the look-alike SMTP AUTH disabled, Basic
        // refused (5.7.30), Send As refused at MAIL and after the message, a restricted
        // sender, relay refused, two messages in one connection; and a copier-like client
        // (AUTH LOGIN without an initial response, one command at a time) and its blind
        // variant (sends on without reading the answers) against all three, delivered,
        // wrong password, no login, connection test; and (-vary) the EHLO name drawn and on
        // TLS 1.2 a CBC suite; and two clients added after the reading was built, Nodemailer
        // (Node.js) and s-nail (mailx), against all three, delivered, wrong password, no
        // login, with and without -vary. Compact traces (truth.tsv).
        ("tests/recordings/clients", (345, 30)),
    ] {
        let (right, declined, wrong, each) = accuracy(dir);
        assert!(wrong.is_empty(), "wrong inferences:\n{}", wrong.join("\n"));
        assert_eq!((right, declined), expected, "{dir}: right, declined");
        // SMTPCAP_ACCURACY_TABLE=FILE writes the client matrix's tables for
        // docs/inside-tls.md.
        if let (Ok(file), true) = (
            std::env::var("SMTPCAP_ACCURACY_TABLE"),
            dir.ends_with("clients"),
        ) {
            std::fs::write(file, matrix_tables(&each)).unwrap();
        }
    }
}

#[test]
fn every_encrypted_session_says_what_was_read_or_why_not() {
    // Every session whose TLS was established and not decrypted carries its reading; a
    // reading that stopped short of the outcome names where and why, and an outcome read
    // is never left with a decline.
    let mut all: Vec<_> = common::samples();
    all.extend(common::public_captures());
    for path in all {
        let a = common::analyze(&path);
        let d = diagnose(&a);
        for (s, sd) in a.sessions.iter().zip(&d.sessions) {
            let established = s.tls.as_ref().is_some_and(|t| t.established);
            let encrypted = matches!(
                sd.outcome.name(),
                "encrypted-message-transferred" | "encrypted-no-message"
            );
            if !established || sd.basis == Basis::Decrypted {
                continue;
            }
            let Some(i) = &sd.inside_tls else {
                assert!(
                    !encrypted,
                    "{}: session {} has no reading",
                    path.display(),
                    s.id
                );
                continue;
            };
            match sd.basis {
                // The outcome comes from the entries read, through the path every
                // dialogue takes; it is the reading's own.
                Basis::Inferred => {
                    assert!(i.declined.is_none() && i.outcome == Some(sd.outcome));
                    assert_eq!(i.stage, sd.stage, "{}: session {}", path.display(), s.id);
                }
                _ if encrypted => {
                    let why = i.declined.as_ref().unwrap_or_else(|| {
                        panic!(
                            "{}: session {} declined without a reason",
                            path.display(),
                            s.id
                        )
                    });
                    assert!(
                        !why.detail.is_empty() && why.frame > 0,
                        "{}: {why:?}",
                        path.display()
                    );
                }
                _ => {}
            }
        }
    }
}
