//! The dialogue inside TLS read from record lengths (no keys) against the truth: the
//! recordings in samples/inside-tls/ decrypted by tshark with the server's key log beside
//! each, and the case each was recorded as. Where the inference decides it must be right;
//! where it cannot, it must keep the coarse `encrypted-…` outcome.

mod common;

use std::path::Path;
use std::process::Command;

use smtpcap::internals::diagnosis::{diagnose, Basis};

/// The outcome as `outcome[/stage]`, read from tshark's decryption: the first refusal
/// after STARTTLS and the command it answers, else an accepted message, else a test.
fn decrypted_truth(path: &Path) -> String {
    let keys = format!("{}.keys", path.display());
    let out = Command::new("tshark")
        .args(["-r", &path.to_string_lossy(), "-o"])
        .arg(format!("tls.keylog_file:{keys}"))
        .args([
            "-Y",
            "smtp",
            "-T",
            "fields",
            "-e",
            "tls.record.content_type",
            "-e",
            "smtp.req.command",
            "-e",
            "smtp.response.code",
        ])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut after_tls = false;
    let mut last_command = String::new();
    let mut after_data = false;
    for line in text.lines() {
        let mut fields = line.split('\t');
        let (tls, command, code) = (
            fields.next().unwrap_or(""),
            fields.next().unwrap_or(""),
            fields.next().unwrap_or(""),
        );
        // Inside TLS: decrypted from a record (after STARTTLS, or implicit TLS).
        after_tls |= !tls.is_empty();
        let command = command.to_ascii_uppercase();
        if !command.is_empty() {
            last_command = command;
            continue;
        }
        let code: u16 = code.split(',').next().unwrap_or("").parse().unwrap_or(0);
        if !after_tls || code == 0 {
            continue;
        }
        if code == 354 {
            after_data = true;
            continue;
        }
        let stage = if after_data {
            "data"
        } else if last_command.starts_with("AUTH") || last_command.is_empty() {
            "auth"
        } else if last_command.starts_with("MAIL") {
            "mail"
        } else if last_command.starts_with("RCPT") {
            "rcpt"
        } else {
            "other"
        };
        if code >= 400 && last_command != "QUIT" {
            return format!("rejected/{stage}");
        }
        if after_data && code == 250 {
            return "delivered".into();
        }
    }
    "test-only".into()
}

/// The outcome each recording was made for, by its folder and name: Exchange Online
/// refuses an unauthenticated sender at MAIL, Postfix (`reject_sender_login_mismatch`) at
/// RCPT.
fn recorded_as(dir: &str, name: &str) -> &'static str {
    match (dir, name.split("-tls").next().unwrap_or("")) {
        (_, "delivered") => "delivered",
        (_, "auth-failed" | "auth-disabled" | "security-defaults") => "rejected/auth",
        (_, "send-as-denied") => "rejected/data",
        ("postfix-sasl", "not-authenticated" | "sender-refused") => "rejected/rcpt",
        (_, "not-authenticated") => "rejected/mail",
        (_, "test-only") => "test-only",
        (_, other) => panic!("no case for {other}"),
    }
}

/// Right, declined and wrong inferences over the recordings in `samples/DIR`.
fn accuracy(dir: &str) -> (usize, usize, Vec<String>) {
    let folder = common::root().join("samples").join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            Path::new(n)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("pcap"))
        })
        .collect();
    names.sort();
    let tshark = common::which("tshark");
    if !tshark {
        common::skipped("tshark not installed: checked against the recorded cases only");
    }
    let (mut right, mut declined, mut wrong) = (0, 0, Vec::new());
    for name in &names {
        let path = folder.join(name);
        let a = common::analyze(&path);
        let d = diagnose(&a);
        let sd = &d.sessions[0];
        let got = match sd.stage {
            Some(st) => format!("{}/{}", sd.outcome.name(), st.name()),
            None => sd.outcome.name().to_string(),
        };
        let truth = recorded_as(dir, name);
        if tshark {
            assert_eq!(decrypted_truth(&path), truth, "{name}: tshark's decryption");
        }
        if sd.basis != Basis::Inferred {
            declined += 1;
        } else if got == truth {
            right += 1;
        } else {
            wrong.push(format!("{dir}/{name}: inferred {got}, truly {truth}"));
        }
    }
    (right, declined, wrong)
}

#[test]
fn inferred_outcomes_equal_the_decrypted_truth() {
    // docs/inside-tls.md gives these figures.
    for (dir, expected) in [
        // Exchange Online look-alike: 7 cases x TLS 1.2/1.3 x Python/swaks.
        ("inside-tls", (28, 0)),
        // One delivery per suite: AEAD and CBC ones read, two CBC recordings from curl
        // declined (a 16-byte window fits a prompt and an acceptance).
        ("keylog", (6, 2)),
        // A real Postfix with Dovecot SASL, against Postfix's documented texts.
        ("postfix-sasl", (10, 9)),
    ] {
        let (right, declined, wrong) = accuracy(dir);
        assert!(wrong.is_empty(), "wrong inferences:\n{}", wrong.join("\n"));
        assert_eq!((right, declined), expected, "{dir}: right, declined");
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
                Basis::Inferred => assert!(i.declined.is_none() && i.outcome.is_some()),
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
