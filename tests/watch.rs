//! `smtpcap watch`: a verdict the moment a conversation is over, not when the input ends;
//! what it keeps with `--write` analyses the same; a clear message where capturing is not
//! allowed; and, as root, a live capture in a network namespace pair.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn smtpcap() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_smtpcap"));
    c.current_dir(common::root());
    c
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(common::root().join(path)).unwrap()
}

/// A refused login, then (much later, through the same pipe) a delivery to the MX: the
/// first verdict comes while the pipe is still open; `--write` keeps both.
#[test]
fn a_verdict_comes_the_moment_its_conversation_is_over_not_when_the_input_ends() {
    let first = read("samples/scenarios/lab-auth-failed.pcap");
    let second = read("samples/plain-mx-swaks.pcap");
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept.pcapng");
    let mut child = smtpcap()
        .args(["watch", "--color", "never", "--write"])
        .arg(&kept)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // The first capture whole (a pcap header and its records) ...
    stdin.write_all(&first).unwrap();
    stdin.flush().unwrap();
    let sent = Instant::now();
    let mut seen = String::new();
    while !seen.contains("VERDICT") {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "output ended: {seen}"
        );
        seen.push_str(&line);
    }
    let waited = sent.elapsed();
    assert!(seen.contains("rejected at AUTH"), "{seen}");
    assert!(
        waited < Duration::from_secs(2),
        "the verdict took {waited:?}"
    );
    // ... then the second's records after a while, and the end of the input.
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(&second[24..]).unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(
        rest.contains("-- session 2: ") && rest.contains("VERDICT: DELIVERED"),
        "{rest}"
    );
    assert!(rest.contains("ended: "), "{rest}");
    // What was kept analyses to both sessions, as they were watched.
    let out = smtpcap()
        .args(["analyze", "--format", "json"])
        .arg(&kept)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes: Vec<&str> = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["rejected", "delivered"]);
}

#[test]
fn jsonl_is_one_object_per_finished_session() {
    let mut child = smtpcap()
        .args(["watch", "--format", "jsonl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&read("samples/scenarios/pop-before-smtp.pcap"))
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    for l in &lines {
        assert_eq!(l["schema"], 1);
        assert_eq!(l["capture"], "-");
        assert!(l["session"]["outcome"].is_string());
        assert!(l["findings"].is_array());
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Without `CAP_NET_RAW` the message says what to do, and the exit status is 2.
#[test]
fn capturing_without_the_capability_says_how_to_allow_it() {
    let mut c = if is_root() {
        // As nobody, without any capability.
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_smtpcap"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_smtpcap"))
    };
    let out = match c.args(["watch", "-i", "lo"]).output() {
        Ok(o) => o,
        Err(e) => {
            common::skipped(&format!("setpriv cannot run: {e}"));
            return;
        }
    };
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("built without live capture") {
        common::skipped("built without the live feature");
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("CAP_NET_RAW") && err.contains("setcap"),
        "{err}"
    );
}

#[test]
fn an_interface_that_does_not_exist_is_named() {
    let out = smtpcap()
        .args(["watch", "-i", "no-such-if0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no interface named no-such-if0")
            || err.contains("CAP_NET_RAW")
            || err.contains("built without live capture"),
        "{err}"
    );
}
