//! What the record lengths read inside TLS joins the dialogue as entries whose provenance
//! is `inferred`, and goes through the one path every dialogue takes: the outcome, the
//! findings, the checklist, the ladder and every report format. An inferred answer is
//! never quoted as if seen, and an inferred login never counts as credentials in clear.

mod common;

use std::process::Command;

fn run(args: &[&str], capture: &str) -> String {
    let path = common::root().join(capture);
    let out = Command::new(env!("CARGO_BIN_EXE_smtpcap"))
        .args(args)
        .arg(&path)
        .output()
        .expect("smtpcap runs");
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Every place `text` occurs in `out` comes right after the words "read as" and a
/// backtick: the text is what an answer was read as, never a quote of what was seen.
fn only_as_read(out: &str, text: &str) -> usize {
    let mut n = 0;
    for (at, _) in out.match_indices(text) {
        let before = &out[..at];
        assert!(
            before.ends_with("read as `"),
            "quoted as if seen: …{}…",
            &out[at.saturating_sub(60)..(at + text.len()).min(out.len())]
        );
        n += 1;
    }
    n
}

#[test]
fn an_inferred_refusal_takes_the_one_path_in_every_format() {
    let capture = "samples/inside-tls/auth-failed-tls12-python.pcap";
    let json: serde_json::Value =
        serde_json::from_str(&run(&["analyze", "--format", "json"], capture)).unwrap();
    let s = &json["sessions"][0];
    assert_eq!(s["outcome"], "rejected");
    assert_eq!(s["stage"], "auth");
    assert_eq!(s["outcome_basis"], "inferred");
    let dialogue = s["dialogue"].as_array().unwrap();
    let inferred: Vec<&serde_json::Value> = dialogue
        .iter()
        .filter(|e| e["provenance"] == "inferred")
        .collect();
    assert!(inferred.len() >= 6, "{inferred:?}");
    // Each carries the bytes it was read from; a command never its argument.
    for e in &inferred {
        assert!(e["bytes"].as_u64().is_some(), "{e}");
        if let Some(arg) = e["argument"].as_str() {
            assert!(arg.is_empty() || e["command"] == "AUTH", "{e}");
        }
    }
    let deciding = s["deciding_reply"]["frame"].as_u64().unwrap();
    let reply = inferred
        .iter()
        .find(|e| e["frame"].as_u64() == Some(deciding) && e["code"].is_u64())
        .expect("the deciding answer is an inferred entry");
    assert_eq!(reply["code"], 535);
    assert_eq!(reply["enhanced"], "5.7.3");
    let findings = json["findings"].as_array().unwrap();
    let auth_failed = findings
        .iter()
        .find(|f| f["id"] == "auth-failed")
        .expect("the refusal's finding, from the rules every reply goes through");
    assert!(auth_failed["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["frame"].as_u64() == Some(deciding)));
    // The password line was read, encrypted: no credentials crossed in clear.
    assert!(findings.iter().all(|f| f["id"] != "cleartext-credentials"));

    let text = "535 5.7.3 Authentication unsuccessful <trailer>";
    let html_text = "535 5.7.3 Authentication unsuccessful &lt;trailer&gt;";
    for (format, needle) in [
        ("text", text),
        ("markdown", text),
        ("csv", text),
        ("html", html_text),
    ] {
        let mut args = vec!["analyze", "--format", format];
        if format == "text" {
            args.push("--transcript");
        }
        let out = run(&args, capture);
        assert!(
            only_as_read(&out, needle) > 0,
            "{format}: the deciding answer is not shown"
        );
        assert!(!out.contains("cleartext-credentials"), "{format}");
    }
    // The transcript marks inferred entries apart from those seen.
    let transcript = run(&["analyze", "--transcript"], capture);
    assert!(transcript.contains("S~ read as `535 5.7.3"), "{transcript}");
    assert!(transcript.contains("C~ AUTH LOGIN"), "{transcript}");
}

#[test]
fn an_inferred_login_shows_in_the_checklist_as_read_not_seen() {
    let out = run(
        &["analyze", "--color", "never"],
        "samples/postfix-sasl/delivered-tls12-python.pcap",
    );
    let auth = out
        .lines()
        .find(|l| l.contains("SMTP Authentication"))
        .expect("the checklist's row");
    assert!(auth.contains("read from the encrypted"), "{auth}");
    assert!(out.contains("DELIVERED"), "{out}");
}
