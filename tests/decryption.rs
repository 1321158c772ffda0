//! Decrypting the dialogue inside TLS with a key log (`--keylog`, pcapng secrets blocks):
//! against tshark's decryption of the same recordings, with wrong and missing keys, and
//! without a password in any output.

mod common;

use std::fmt::Write;
use std::path::Path;
use std::process::Command;

use smtpcap::internals::diagnosis::{diagnose, Basis, FindingId};
use smtpcap::internals::dialogue::{EntryKind, Provenance};
use smtpcap::internals::tls::DecryptionStatus;
use smtpcap::KeyLog;

const PASSWORD: &str = "Scan2Mail!2026";

/// Commands and reply codes after STARTTLS as `frame C VERB` / `frame S code`, from tshark
/// decrypting with `keys` (none: the secrets the pcapng file carries).
fn tshark_inside(path: &Path, keys: Option<&Path>) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-r", &path.to_string_lossy()]);
    if let Some(k) = keys {
        cmd.arg("-o")
            .arg(format!("tls.keylog_file:{}", k.display()));
    }
    let out = cmd
        .args(["-Y", "smtp", "-T", "fields", "-E", "separator=|"])
        .args(["-e", "frame.number", "-e", "tls.record.content_type"])
        .args(["-e", "smtp.req.command", "-e", "smtp.response.code"])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut seen = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let (frame, tls, command, code) = (f[0], f[1], f[2], f[3]);
        if tls.is_empty() {
            // Not inside TLS (the dialogue before STARTTLS).
            continue;
        }
        // One frame may carry several records (pipelining): tshark lists each field's
        // values in order, comma-separated.
        for c in command.split(',').filter(|c| !c.is_empty()) {
            seen.push(format!("{frame} C {}", c.to_ascii_uppercase()));
        }
        // A multi-line reply lists its code once per line.
        let mut last = "";
        for c in code.split(',').filter(|c| !c.is_empty()) {
            if c != last {
                seen.push(format!("{frame} S {c}"));
            }
            last = c;
        }
    }
    seen
}

/// The same from smtpcap's dialogue: the entries it read inside TLS.
fn smtpcap_inside(a: &smtpcap::internals::analysis::Analysis) -> Vec<String> {
    let mut seen = Vec::new();
    for s in &a.sessions {
        for e in s
            .dialogue
            .iter()
            .filter(|e| e.provenance == Provenance::Decrypted)
        {
            match &e.kind {
                EntryKind::Command { command, .. } => {
                    seen.push(format!("{} C {command}", e.frame));
                }
                EntryKind::Reply {
                    code, end_frame, ..
                } => {
                    seen.push(format!("{} S {code}", end_frame.unwrap_or(e.frame)));
                }
                _ => {}
            }
        }
    }
    seen
}

#[test]
fn decrypted_commands_and_replies_equal_tsharks_decryption() {
    let keyed = common::keyed_samples();
    assert!(keyed.len() >= 54, "{} samples with a key log", keyed.len());
    let tshark = common::which("tshark");
    if !tshark {
        common::skipped("tshark not installed: decryption checked for its outcome only");
    }
    let mut entries = 0;
    for path in &keyed {
        let a = common::analyze_with(path, common::keylog_of(path).unwrap());
        let d = diagnose(&a);
        for (s, sd) in a.sessions.iter().zip(&d.sessions) {
            let dec = s.tls.as_ref().and_then(|t| t.decryption.as_ref());
            assert_eq!(
                dec.map(|d| d.status),
                Some(DecryptionStatus::Decrypted),
                "{}: session {}",
                path.display(),
                s.id
            );
            assert_eq!(sd.basis, Basis::Decrypted, "{}", path.display());
        }
        let ours = smtpcap_inside(&a);
        entries += ours.len();
        if tshark {
            let keys = common::root().join(format!("{}.keys", path.display()));
            let theirs = tshark_inside(&common::root().join(path), Some(&keys));
            assert_eq!(ours, theirs, "{}", path.display());
        }
    }
    // docs/inside-tls.md gives this figure (546).
    assert!(entries > 500, "{entries} commands and replies compared");
}

#[test]
fn a_pcapng_secrets_block_decrypts_without_a_key_log() {
    let path = Path::new("samples/keylog/delivered-tls13-chacha20-curl-dsb.pcapng");
    let a = common::analyze(path);
    let d = diagnose(&a);
    assert_eq!(d.sessions[0].basis, Basis::Decrypted);
    assert_eq!(d.sessions[0].outcome.name(), "delivered");
    if common::which("tshark") {
        assert_eq!(
            smtpcap_inside(&a),
            tshark_inside(&common::root().join(path), None)
        );
    }
}

/// A key log for other sessions, and one whose secrets were damaged: each said plainly,
/// and the session judged as without keys (the inference from record lengths applies).
#[test]
fn wrong_or_missing_keys_are_said_and_the_inference_still_applies() {
    for name in [
        "samples/inside-tls/auth-failed-tls13-python.pcap",
        "samples/inside-tls/send-as-denied-tls12-swaks.pcap",
    ] {
        let path = Path::new(name);
        let plain = diagnose(&common::analyze(path));
        let other = common::keylog_of(Path::new("samples/inside-tls/delivered-tls12-python.pcap"));
        let text = std::fs::read_to_string(common::root().join(format!("{name}.keys"))).unwrap();
        // Same client randoms, each secret's first hex digit changed.
        let mut damaged = String::new();
        for l in text.lines() {
            let (head, secret) = l.rsplit_once(' ').unwrap();
            let first = if secret.starts_with('0') { '1' } else { '0' };
            let _ = writeln!(damaged, "{head} {first}{}", &secret[1..]);
        }
        let mut damaged_log = KeyLog::default();
        assert!(damaged_log.add(damaged.as_bytes()).secrets > 0);
        for (keys, status) in [(other.unwrap(), "no-keys"), (damaged_log, "failed")] {
            let a = common::analyze_with(path, keys);
            let d = diagnose(&a);
            let dec = a.sessions[0]
                .tls
                .as_ref()
                .unwrap()
                .decryption
                .clone()
                .unwrap();
            let got = match dec.status {
                DecryptionStatus::NoKeys => "no-keys",
                DecryptionStatus::Failed { .. } => "failed",
                other => panic!("{name}: {other:?}"),
            };
            assert_eq!(got, status, "{name}");
            assert_eq!(d.sessions[0].basis, Basis::Inferred, "{name}: {status}");
            assert_eq!(d.sessions[0].outcome, plain.sessions[0].outcome, "{name}");
            assert_eq!(d.sessions[0].stage, plain.sessions[0].stage, "{name}");
            let text = common::render_all(&a).remove(0);
            let said = match status {
                "no-keys" => "the key log has no secrets for this session",
                _ => "does not decrypt with the secrets logged",
            };
            assert!(text.contains(said), "{name}: {status} not said");
        }
    }
}

#[test]
fn no_output_of_a_decrypted_session_holds_its_password() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let forms = [
        PASSWORD.to_string(),
        b64.encode(PASSWORD),
        b64.encode(format!("\0office@domain.com\0{PASSWORD}")),
    ];
    for path in common::keyed_samples() {
        let a = common::analyze_with(&path, common::keylog_of(&path).unwrap());
        let with_password = a.sessions.iter().any(|s| {
            s.dialogue.iter().any(|e| {
                e.provenance == Provenance::Decrypted
                    && matches!(&e.kind, EntryKind::Auth { auth } if auth.redacted)
            })
        });
        let outputs = common::render_all(&a);
        for out in &outputs {
            for f in &forms {
                assert!(
                    !out.contains(f.as_str()),
                    "{}: {f:?} in output",
                    path.display()
                );
            }
        }
        if with_password {
            // The transcript says where the password was.
            assert!(
                outputs[0].contains("password withheld"),
                "{}",
                path.display()
            );
        }
        // A login inside TLS did not cross in clear.
        let d = diagnose(&a);
        assert!(
            !d.findings()
                .iter()
                .any(|f| f.id == FindingId::CleartextCredentials),
            "{}",
            path.display()
        );
    }
}
