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
    eprintln!("the verdict came {waited:?} after the conversation's last frame was written");
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

/// Runs `cmd` inside network namespace `ns`.
fn in_ns(ns: &str, cmd: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]).args(cmd);
    c
}

/// Namespaces and a veth pair that are removed however the test ends.
struct Netns(Vec<String>);

impl Drop for Netns {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A server and a client namespace joined by a veth pair (removed when dropped).
struct Pair {
    server: String,
    client: String,
    server_if: String,
    _guard: Netns,
}

impl Pair {
    fn new() -> Pair {
        let id = std::process::id() % 100_000;
        let (srv, cli) = (format!("scw-s{id}"), format!("scw-c{id}"));
        let (vs, vc) = (format!("scws{id}"), format!("scwc{id}"));
        for ns in [&srv, &cli] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
            sh(&["ip", "netns", "add", ns]);
        }
        let guard = Netns(vec![srv.clone(), cli.clone()]);
        sh(&[
            "ip", "link", "add", &vc, "type", "veth", "peer", "name", &vs,
        ]);
        sh(&["ip", "link", "set", &vc, "netns", &cli]);
        sh(&["ip", "link", "set", &vs, "netns", &srv]);
        for (ns, dev, addr) in [(&srv, &vs, "192.0.2.25/24"), (&cli, &vc, "192.0.2.10/24")] {
            sh(&["ip", "-n", ns, "addr", "add", addr, "dev", dev]);
            sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        Pair {
            server: srv,
            client: cli,
            server_if: vs,
            _guard: guard,
        }
    }
}

/// The Exchange Online look-alike on 192.0.2.25:587 in namespace `ns`, with a fresh
/// certificate in `dir`; returns once it listens.
fn look_alike(ns: &str, dir: &std::path::Path) -> std::process::Child {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let st = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args(["-subj", "/CN=outlook.com", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let server = in_ns(ns, &["python3"])
        .arg(common::root().join("scripts/exo_sim.py"))
        .args(["--listen", "192.0.2.25:587", "--user", "office@domain.com"])
        .args(["--password", "Scan2Mail!2026", "--cert"])
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let listening = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        in_ns(ns, &["ss", "-ltn"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("192.0.2.25:587"))
    });
    assert!(listening, "the look-alike server did not start");
    server
}

fn sh(cmd: &[&str]) {
    let st = Command::new(cmd[0]).args(&cmd[1..]).status().unwrap();
    assert!(st.success(), "{cmd:?}");
}

/// As root: a namespace pair joined by a veth pair, the Exchange Online look-alike in one,
/// `smtpcap watch -i` on its interface, a real client (Python smtplib) with a wrong
/// password in the other. The session's verdict comes within 2 s of the client's end, and
/// the pcapng `--write` kept analyses to the same outcome and deciding reply.
#[test]
fn a_live_capture_in_a_namespace_pair_gives_each_verdict_at_once() {
    let runs = |cmd: &str, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !is_root() || !runs("ip", "-V") || !runs("openssl", "version") || !runs("python3", "-V") {
        common::skipped(
            "not root, or ip / openssl missing: the live capture test needs namespaces",
        );
        return;
    }
    let net = Pair::new();
    let (srv, cli, vs) = (&net.server, &net.client, &net.server_if);
    let dir = tempfile::tempdir().unwrap();
    let root = common::root();
    let mut server = look_alike(srv, dir.path());
    let kept = dir.path().join("live.pcapng");
    let mut watch = in_ns(
        srv,
        &[env!("CARGO_BIN_EXE_smtpcap"), "watch", "--format", "jsonl"],
    )
    .args(["-i", vs, "--write"])
    .arg(&kept)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let client = in_ns(cli, &["python3"])
        .arg(root.join("scripts/clients/smtplib_client.py"))
        .args([
            "192.0.2.25",
            "--port",
            "587",
            "--starttls",
            "--user",
            "office@domain.com",
        ])
        .args([
            "--password",
            "wrong-password",
            "--sender",
            "office@domain.com",
        ])
        .output()
        .unwrap();
    let ended = Instant::now();
    let mut lines = BufReader::new(watch.stdout.take().unwrap());
    let mut line = String::new();
    assert!(
        lines.read_line(&mut line).unwrap() > 0,
        "no verdict: {client:?}"
    );
    let waited = ended.elapsed();
    eprintln!("the verdict came {waited:?} after the client's end");
    let live: serde_json::Value = serde_json::from_str(&line).unwrap();
    // Ctrl-C ends the capture: the summary and the kernel's count go to standard error.
    sh(&["kill", "-INT", &watch.id().to_string()]);
    let out = watch.wait_with_output().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        waited < Duration::from_secs(2),
        "the verdict took {waited:?}"
    );
    let session = &live["session"];
    assert_eq!(session["outcome"], "rejected", "{line}");
    assert_eq!(session["stage"], "auth", "{line}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stopped: ") && err.contains("the kernel dropped"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    // What was kept tells the same.
    let again = smtpcap()
        .args(["analyze", "--format", "json"])
        .arg(&kept)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    let kept_session = &doc["sessions"][0];
    for field in [
        "outcome",
        "stage",
        "outcome_basis",
        "deciding_reply",
        "server_name",
    ] {
        assert_eq!(kept_session[field], session[field], "{field}");
    }
}
