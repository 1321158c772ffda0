//! The story across attempts, on recordings of real software (samples/retries/: Postfix,
//! Dovecot, swaks, curl, smtplib): which failure a later delivery superseded, which stands,
//! and that every output and the exit status agree.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn smtpcap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smtpcap"))
}

/// The JSON report, the text report and the exit status of one sample.
fn run(name: &str) -> (Value, String, i32) {
    let path = common::root().join("samples/retries").join(name);
    let json = smtpcap()
        .args(["analyze", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let text = smtpcap()
        .args(["analyze", "--color", "never"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(json.status.code(), text.status.code(), "{name}");
    let doc = serde_json::from_slice(&json.stdout).unwrap();
    (
        doc,
        String::from_utf8_lossy(&text.stdout).into_owned(),
        json.status.code().unwrap_or(-1),
    )
}

fn session(doc: &Value, id: u64) -> &Value {
    doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()
}

/// The findings of a session, as (id, severity, `superseded_by`).
fn findings_of(doc: &Value, id: u64) -> Vec<(String, String, Option<u64>)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["session"] == id)
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["superseded_by"].as_u64(),
            )
        })
        .collect()
}

fn verdict(text: &str) -> String {
    let start = text.find("VERDICT: ").expect("a verdict");
    let rest = &text[start..];
    let end = rest.find("\n\n").unwrap_or(rest.len());
    rest[..end].split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_refusal_then_a_delivery_with_the_name_fixed_is_superseded() {
    let (doc, text, status) = run("helo-refused-then-delivered.pcap");
    assert_eq!(
        status, 0,
        "a superseded refusal does not set the exit status"
    );
    assert_eq!(session(&doc, 1)["attempt"]["superseded_by"], 2);
    assert_eq!(session(&doc, 2)["attempt"]["number"], 2);
    assert_eq!(
        session(&doc, 2)["attempt"]["supersedes"],
        serde_json::json!([1])
    );
    let f = findings_of(&doc, 1);
    assert!(
        f.contains(&("invalid-helo".into(), "warning".into(), Some(2))),
        "{f:?}"
    );
    assert!(f.iter().all(|(_, sev, _)| sev != "error"), "{f:?}");
    let v = verdict(&text);
    assert!(
        v.starts_with("VERDICT: DELIVERED on the 2nd attempt: a message was accepted; the 1st was refused at RCPT: 504 5.5.2 <MX-4070N>"),
        "{v}"
    );
    // The verdict names a warning that stands, not the superseded refusal.
    assert!(!v.contains("[invalid-helo]"), "{v}");
    let chain = &doc["attempts"][0];
    assert_eq!(chain["server"], "relay.contoso.local");
    assert_eq!(chain["attempts"][0]["superseded_by"], 2);
    assert_eq!(chain["attempts"][1]["outcome"], "delivered");
}

#[test]
fn the_settings_that_changed_between_attempts_are_named() {
    let (doc, text, status) = run("starttls-required-then-587-tls.pcap");
    assert_eq!(status, 0);
    let changed = &session(&doc, 2)["attempt"]["changed"];
    let fields: Vec<(&str, &str, &str)> = changed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap(),
                c["from"].as_str().unwrap(),
                c["to"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(fields.contains(&("Port Number", "25", "587")), "{fields:?}");
    assert!(
        fields.contains(&(
            "Enable SSL / SSL/TLS level",
            "off (no STARTTLS)",
            "on (STARTTLS)"
        )),
        "{fields:?}"
    );
    assert_eq!(session(&doc, 1)["attempt"]["superseded_by"], 2);
    // The delivery is read from the record lengths, and says so.
    assert_eq!(session(&doc, 2)["outcome_basis"], "inferred");
    let v = verdict(&text);
    assert!(v.contains("on the 2nd attempt"), "{v}");
    assert!(v.contains("changed since: Port Number 25 → 587"), "{v}");
}

#[test]
fn an_ipv6_refusal_and_its_ipv4_twin_are_one_attempt_of_one_device() {
    let (doc, text, status) = run("ipv6-refused-then-ipv4.pcap");
    assert_eq!(
        status, 0,
        "the refused IPv6 connections are not the story's end"
    );
    let chains = doc["attempts"].as_array().unwrap();
    assert_eq!(chains.len(), 1, "{chains:?}");
    let chain = &chains[0];
    assert_eq!(chain["server"], "relay.contoso.local");
    // One device: its two addresses share the link-layer address.
    assert_eq!(chain["device"], "2001:db8::10 (also 192.0.2.10)");
    let attempts: Vec<(u64, Vec<u64>, &str)> = chain["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let sessions = a["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_u64().unwrap())
                .collect();
            (
                a["number"].as_u64().unwrap(),
                sessions,
                a["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [(1, vec![1, 2], "delivered"), (2, vec![3, 4], "delivered")]
    );
    for (refused, by) in [(1, 2), (3, 4)] {
        assert_eq!(session(&doc, refused)["outcome"], "no-connection");
        assert_eq!(session(&doc, refused)["attempt"]["superseded_by"], by);
        assert!(
            findings_of(&doc, refused).contains(&(
                "connection-refused".into(),
                "warning".into(),
                Some(by)
            )),
            "{:?}",
            findings_of(&doc, refused)
        );
    }
    let v = verdict(&text);
    assert!(
        v.starts_with("VERDICT: DELIVERED: a message was accepted"),
        "{v}"
    );
    assert!(
        !v.contains("attempt"),
        "no retry story when no attempt failed: {v}"
    );
    // The checklist shows the server as it works, not the refused address.
    assert!(
        text.contains("seen: relay.contoso.local (192.0.2.25)"),
        "{text}"
    );
}

#[test]
fn loopback_ipv6_and_ipv4_are_one_server_and_one_attempt() {
    let (doc, text, status) = run("loopback-ipv6-refused-then-ipv4.pcap");
    assert_eq!(
        status, 0,
        "[::1]:25 refused, 127.0.0.1:25 delivered: no error stands"
    );
    let chains = doc["attempts"].as_array().unwrap();
    assert_eq!(chains.len(), 1, "{chains:?}");
    assert_eq!(
        chains[0]["attempts"][0]["sessions"],
        serde_json::json!([1, 2])
    );
    assert_eq!(session(&doc, 1)["server"]["ip"], "::1");
    assert_eq!(session(&doc, 1)["attempt"]["superseded_by"], 2);
    let v = verdict(&text);
    assert!(
        v.starts_with("VERDICT: DELIVERED: a message was accepted"),
        "{v}"
    );
}

#[test]
fn two_different_jobs_both_count() {
    let (doc, text, status) = run("two-jobs-one-refused.pcap");
    assert_eq!(status, 1, "the refused job is still refused");
    assert_eq!(session(&doc, 1)["attempt"]["superseded_by"], Value::Null);
    assert_eq!(session(&doc, 2)["outcome"], "delivered");
    assert!(session(&doc, 2)["attempt"].get("supersedes").is_none());
    assert!(findings_of(&doc, 1).contains(&("relay-denied".into(), "error".into(), None)));
    let v = verdict(&text);
    assert!(
        v.starts_with("VERDICT: FAIL: rejected at RCPT: 554 5.7.1"),
        "{v}"
    );
    assert!(
        v.ends_with("another message (another job) was delivered"),
        "{v}"
    );
}

#[test]
fn a_connection_test_never_supersedes_a_failed_send() {
    let (doc, text, status) = run("refused-then-connection-test.pcap");
    assert_eq!(status, 1);
    assert_eq!(session(&doc, 2)["outcome"], "test-only");
    assert_eq!(session(&doc, 1)["attempt"]["superseded_by"], Value::Null);
    let v = verdict(&text);
    assert!(v.starts_with("VERDICT: FAIL: rejected at RCPT"), "{v}");
}

#[test]
fn pop_before_smtp_that_made_the_server_accept_is_said_so() {
    let (doc, text, status) = run("pop-before-smtp-postfix-dovecot.pcap");
    // The POP3 password crossed in clear: that stays an error whatever was delivered.
    assert_eq!(status, 1);
    assert_eq!(session(&doc, 1)["attempt"]["superseded_by"], 3);
    assert!(session(&doc, 3)["attempt"]["after_pop3_frame"]
        .as_u64()
        .is_some());
    let pop = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "pop-before-smtp")
        .unwrap();
    let evidence: Vec<&str> = pop["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(
        evidence
            .iter()
            .any(|e| e.ends_with("POP before SMTP is what authorised it")),
        "{evidence:?}"
    );
    // Not Exchange Online: Microsoft's words stay out.
    assert!(!pop["explanation"]
        .as_str()
        .unwrap()
        .contains("Exchange Online"));
    let v = verdict(&text);
    assert!(
        v.starts_with("VERDICT: DELIVERED on the 2nd attempt: a message was accepted, after a POP3 login (this server accepts POP before SMTP); the 1st was refused at RCPT: 554 5.7.1"),
        "{v}"
    );
}

#[test]
fn every_format_tells_the_same_attempts() {
    let path = common::root().join("samples/retries/helo-refused-then-delivered.pcap");
    let out = |format: &str| {
        let o = smtpcap()
            .args(["analyze", "--format", format])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{format}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let md = out("markdown");
    assert!(md.contains("## Attempts"), "{md}");
    assert!(
        md.contains("1. 1st attempt, session 1: rejected at rcpt: 504 5.5.2"),
        "{md}"
    );
    assert!(md.contains("(superseded by session 2's delivery)"), "{md}");
    let html = out("html");
    assert!(
        html.contains("<h2>Attempts</h2>"),
        "a sequence at the top of the page"
    );
    assert!(html.find("<h2>Attempts</h2>") < html.find("<h2>Findings</h2>"));
    let csv = out("csv");
    let mut rows = csv.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let cells: Vec<Vec<&str>> = rows.map(|r| r.split(',').collect()).collect();
    assert_eq!(cells[0][col("attempt")], "1");
    assert_eq!(cells[0][col("superseded_by")], "2");
    assert_eq!(cells[1][col("attempt")], "2");
    assert_eq!(cells[1][col("superseded_by")], "");
    // The batch summary tells the last attempt's outcome.
    let dir = common::root().join("samples/retries");
    let o = smtpcap()
        .args(["analyze", "--color", "never"])
        .arg(&dir)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&o.stdout);
    assert!(
        summary.contains("relay.contoso.local: delivered after 2 attempts"),
        "{summary}"
    );
    assert_eq!(o.status.code(), Some(1), "two of the six still fail");
}

#[test]
fn watch_says_a_later_delivery_supersedes_the_failure() {
    let path = common::root().join("samples/retries/helo-refused-then-delivered.pcap");
    let input = std::fs::File::open(&path).unwrap();
    let o = smtpcap()
        .args(["watch", "--color", "never", "-"])
        .stdin(input)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("attempt: 2nd to relay.contoso.local, supersedes session 1"),
        "{out}"
    );
    assert_eq!(o.status.code(), Some(0), "{out}");
    let last = out.rfind("VERDICT: ").unwrap();
    assert!(
        out[last..].starts_with("VERDICT: DELIVERED on the 2nd attempt"),
        "{out}"
    );
}

#[test]
fn in_memory_and_streamed_reports_agree_on_the_story() {
    for name in std::fs::read_dir(common::root().join("samples/retries")).unwrap() {
        let p = name.unwrap().path();
        let rel = p.strip_prefix(common::root()).unwrap().to_path_buf();
        let a = common::analyze(Path::new(&rel));
        let in_memory = common::render_all(&a).swap_remove(1);
        let streamed = smtpcap()
            .args(["analyze", "--format", "json"])
            .arg(&rel)
            .output()
            .unwrap();
        let mut x: Value = serde_json::from_str(&in_memory).unwrap();
        let mut y: Value = serde_json::from_slice(&streamed.stdout).unwrap();
        for v in [&mut x, &mut y] {
            v.as_object_mut().unwrap().remove("file");
        }
        assert_eq!(x["attempts"], y["attempts"], "{}", rel.display());
        assert_eq!(x["findings"], y["findings"], "{}", rel.display());
        assert_eq!(x["sessions"], y["sessions"], "{}", rel.display());
    }
}

// Crafted captures for the rules' edges (every client frame carries one link-layer
// address, as the server side of a router sees them).

use common::craft::{Addr, Capture};
use smtpcap::internals::analysis::analyze_bytes;
use smtpcap::internals::diagnosis::diagnose;

const SERVER: Addr = ([192, 0, 2, 25], 25);

fn smtp(sender: &str, rcpt: &str, rcpt_reply: &str) -> Vec<String> {
    let mut t: Vec<String> = vec![
        "S: 220 relay.example.test ESMTP Postfix".into(),
        "C: EHLO mx-4070n.example.test".into(),
        "S: 250 relay.example.test".into(),
        format!("C: MAIL FROM:<{sender}>"),
        "S: 250 2.1.0 Ok".into(),
        format!("C: RCPT TO:<{rcpt}>"),
        format!("S: {rcpt_reply}"),
    ];
    if rcpt_reply.starts_with('2') {
        t.extend(
            common::craft::ENVELOPE_AND_MESSAGE[4..]
                .iter()
                .map(|s| (*s).to_string()),
        );
    } else {
        t.extend(["C: QUIT".into(), "S: 221 2.0.0 Bye".into()]);
    }
    t
}

fn add(cap: &mut Capture, client: Addr, turns: &[String]) {
    let turns: Vec<&str> = turns.iter().map(String::as_str).collect();
    cap.tcp(client, SERVER, &turns);
}

const REFUSED: &str = "554 5.7.1 <office@example.test>: Relay access denied";
const OK: &str = "250 2.1.5 Ok";

/// The sessions' `superseded_by`, from the in-memory diagnosis; and the streamed JSON
/// report's sessions, which must agree.
fn superseded(cap: &Capture) -> Vec<Option<usize>> {
    let a = analyze_bytes("crafted", std::io::Cursor::new(cap.pcap()));
    let d = diagnose(&a);
    let got: Vec<Option<usize>> = d
        .sessions
        .iter()
        .map(|s| s.attempt.as_ref().and_then(|m| m.superseded_by))
        .collect();
    let dir = std::env::temp_dir().join(format!("smtpcap-attempts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.pcap", got.len()));
    std::fs::write(&file, cap.pcap()).unwrap();
    let o = smtpcap()
        .args(["analyze", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let streamed: Vec<Option<usize>> = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["attempt"]["superseded_by"].as_u64().map(|n| n as usize))
        .collect();
    assert_eq!(got, streamed, "in memory and streamed");
    got
}

/// The `superseded_by` of two sessions, `first` from `a`, then `second` from `b`.
fn two(a: Addr, first: &[String], b: Addr, second: &[String]) -> Vec<Option<usize>> {
    let mut cap = Capture::new();
    add(&mut cap, a, first);
    add(&mut cap, b, second);
    superseded(&cap)
}

const HOST: Addr = ([198, 51, 100, 7], 40000);
const HOST_AGAIN: Addr = ([198, 51, 100, 7], 40001);
const SCANNER: &str = "scanner@example.test";
const OFFICE: &str = "office@example.test";

#[test]
fn two_hosts_behind_one_router_are_two_devices() {
    // One link-layer address, two IPv4 hosts: a router's, so no one device.
    let other: Addr = ([198, 51, 100, 8], 40001);
    let got = two(
        HOST,
        &smtp(SCANNER, OFFICE, REFUSED),
        other,
        &smtp(SCANNER, OFFICE, OK),
    );
    assert_eq!(got, [None, None]);
}

#[test]
fn one_host_retrying_the_same_message_is_one_job() {
    let got = two(
        HOST,
        &smtp(SCANNER, OFFICE, REFUSED),
        HOST_AGAIN,
        &smtp(SCANNER, OFFICE, OK),
    );
    assert_eq!(got, [Some(2), None]);
}

#[test]
fn a_refusal_before_any_recipient_is_compared_by_its_sender() {
    let refused_at_mail = |sender: &str| {
        vec![
            "S: 220 relay.example.test ESMTP Postfix".to_string(),
            "C: EHLO mx-4070n.example.test".into(),
            "S: 250 relay.example.test".into(),
            format!("C: MAIL FROM:<{sender}>"),
            "S: 530 5.7.0 Must issue a STARTTLS command first".into(),
            "C: QUIT".into(),
            "S: 221 2.0.0 Bye".into(),
        ]
    };
    let delivered = smtp(SCANNER, OFFICE, OK);
    let same = two(HOST, &refused_at_mail(SCANNER), HOST_AGAIN, &delivered);
    assert_eq!(same, [Some(2), None], "same sender: the same message");
    let other = two(
        HOST,
        &refused_at_mail("fax@example.test"),
        HOST_AGAIN,
        &delivered,
    );
    assert_eq!(other, [None, None], "another sender: another job");
}

#[test]
fn a_delivery_past_the_window_supersedes_nothing_in_either_path() {
    let window = smtpcap::internals::diagnosis::attempts::WINDOW_SESSIONS as u16;
    // The refusal, `between` other devices' deliveries, then the same message delivered.
    let story = |between: u16| {
        let mut cap = Capture::new();
        add(&mut cap, HOST, &smtp(SCANNER, OFFICE, REFUSED));
        for i in 0..between {
            let other: Addr = ([198, 51, 100, 100], 41000 + i);
            add(&mut cap, other, &smtp("other@example.test", OFFICE, OK));
        }
        add(&mut cap, HOST_AGAIN, &smtp(SCANNER, OFFICE, OK));
        superseded(&cap).first().copied().flatten()
    };
    assert_eq!(story(window), None, "past the window the refusal stands");
    assert_eq!(
        story(window - 2),
        Some(window as usize),
        "within it, superseded"
    );
}
