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

/// The group a test copy of dumpcap belongs to, as Debian's `wireshark` group (by number:
/// no group needs adding to the machine).
const CAPTURE_GROUP: &str = "64999";
/// The unprivileged user the tests run smtpcap as.
const NOBODY: &str = "65534";

/// `cmd` run as nobody, without any capability, in the groups given.
fn as_nobody(groups: &str, cmd: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.args([&format!("--reuid={NOBODY}"), &format!("--regid={NOBODY}")]);
    if groups.is_empty() {
        c.arg("--clear-groups");
    } else {
        c.arg(format!("--groups={groups}"));
    }
    c.arg("--inh-caps=-all").args(cmd);
    c
}

/// A folder nobody may read, with a copy of smtpcap and (as `mode` and `caps` say) of
/// Wireshark's dumpcap, root-owned in [`CAPTURE_GROUP`] as Debian installs it.
fn tools(dumpcap: Option<(&str, bool)>) -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    sh(&["chmod", "0755", dir.path().to_str()?, bin.to_str()?]);
    sh(&["chown", NOBODY, out.to_str()?]);
    std::fs::copy(env!("CARGO_BIN_EXE_smtpcap"), bin.join("smtpcap")).unwrap();
    if let Some((mode, caps)) = dumpcap {
        let found = std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join("dumpcap"))
            .find(|p| p.is_file())?;
        let copy = bin.join("dumpcap");
        std::fs::copy(found, &copy).unwrap();
        let copy = copy.to_str()?;
        sh(&["chown", &format!("root:{CAPTURE_GROUP}"), copy]);
        sh(&["chmod", mode, copy]);
        if caps
            && !Command::new("setcap")
                .args(["cap_net_raw,cap_net_admin=eip", copy])
                .status()
                .is_ok_and(|s| s.success())
        {
            return None;
        }
    }
    Some(dir)
}

/// Neither smtpcap nor dumpcap may capture: the message names the ways out for how
/// dumpcap fared (missing, not allowed to this user, without rights of its own), and the
/// exit status is 2.
#[test]
fn capturing_without_rights_names_the_ways_out() {
    if !is_root() || !runs("setpriv", "--version") || Command::new("setcap").output().is_err() {
        common::skipped("not root, or setpriv / setcap missing");
        return;
    }
    let cases = [
        (
            None,
            vec![
                "no dumpcap",
                "apt install wireshark-common",
                "wireshark group",
            ],
        ),
        (
            Some(("0750", true)),
            vec!["you may not run", "wireshark group"],
        ),
        (
            Some(("0755", false)),
            vec![
                "may not either",
                "dpkg-reconfigure wireshark-common",
                "wireshark group",
            ],
        ),
    ];
    for (dumpcap, said) in cases {
        let Some(dir) = tools(dumpcap) else {
            common::skipped("no dumpcap, or setcap cannot set capabilities here");
            return;
        };
        let bin = dir.path().join("bin");
        let out = as_nobody("", &["env", &format!("PATH={}", bin.display())])
            .arg(bin.join("smtpcap"))
            .args(["watch", "-i", "lo"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{dumpcap:?}: {err}");
        for s in said.iter().chain(&["root"]) {
            assert!(err.contains(s), "{dumpcap:?}: no {s:?} in {err}");
        }
    }
}

/// Asked to capture through libpcap without the rights: root or the capability, or
/// leaving the choice to smtpcap (dumpcap).
#[test]
fn capturing_through_libpcap_without_the_capability_says_how_to_allow_it() {
    if !is_root() || !runs("setpriv", "--version") {
        common::skipped("not root, or setpriv missing");
        return;
    }
    let out = as_nobody("", &[env!("CARGO_BIN_EXE_smtpcap")])
        .args(["watch", "-i", "lo", "--capture-with", "libpcap"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        (err.contains("CAP_NET_RAW") && err.contains("dumpcap"))
            || err.contains("built without libpcap"),
        "{err}"
    );
}

fn runs(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
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
        err.contains("no interface named no-such-if0") || err.contains("may not capture"),
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
        // Unique per pair: the tests that make one run at once.
        static PAIRS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = PAIRS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = (std::process::id() % 10_000) * 10 + n % 10;
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

/// A JSON Lines session's findings, as `id severity`.
fn finding_ids(line: &serde_json::Value) -> Vec<String> {
    line["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["id"], f["severity"]))
        .collect()
}

/// A process's `/proc/PID/status` says it runs as nobody and holds no capability.
fn assert_unprivileged(status: &str) {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map_or("", str::trim)
    };
    assert!(field("Uid:").starts_with(NOBODY), "{status}");
    assert_eq!(field("CapEff:"), "0000000000000000", "{status}");
    assert_eq!(field("CapPrm:"), "0000000000000000", "{status}");
}

/// As root: the look-alike server in one namespace, and on its interface two captures at
/// once, `watch -i` as root (libpcap) and `watch -i` as nobody in a group allowed to run
/// a test copy of dumpcap (root:group 0750 with `cap_net_raw,cap_net_admin`, as Debian
/// installs it). A real client (Python smtplib) logs in with a wrong password, then with
/// the right one. The unprivileged smtpcap holds no capability, captures through dumpcap,
/// and gives the same verdicts as libpcap; `--stop-after 2` ends it (and dumpcap) with
/// dumpcap's drop count, and what it kept analyses the same.
#[test]
fn a_live_capture_through_dumpcap_as_an_unprivileged_user_matches_libpcap() {
    if !is_root()
        || !runs("ip", "-V")
        || !runs("openssl", "version")
        || !runs("python3", "-V")
        || !runs("setpriv", "--version")
    {
        common::skipped("not root, or ip / openssl / setpriv missing: the test needs namespaces");
        return;
    }
    let Some(dir) = tools(Some(("0750", true))) else {
        common::skipped("no dumpcap, or setcap cannot set capabilities here");
        return;
    };
    let net = Pair::new();
    let (srv, cli, vs) = (&net.server, &net.client, &net.server_if);
    let mut server = look_alike(srv, dir.path());
    let bin = dir.path().join("bin");
    let kept = dir.path().join("out/live.pcapng");
    let watch = |c: &mut Command, more: &[&std::ffi::OsStr]| {
        c.args(["watch", "--format", "jsonl", "-i", vs])
            .args(more)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut by_libpcap = watch(
        &mut in_ns(srv, &[env!("CARGO_BIN_EXE_smtpcap")]),
        &["--capture-with".as_ref(), "libpcap".as_ref()],
    );
    let nobody = as_nobody(CAPTURE_GROUP, &[]);
    let path = format!("PATH={}:/usr/bin:/bin", bin.display());
    let mut by_dumpcap = watch(
        in_ns(srv, &[])
            .arg(nobody.get_program())
            .args(nobody.get_args())
            .args(["env", &path])
            .arg(bin.join("smtpcap")),
        &[
            "--write".as_ref(),
            kept.as_os_str(),
            "--stop-after".as_ref(),
            "2".as_ref(),
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    // The analyzer itself runs as nobody, without any capability.
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", by_dumpcap.id())).unwrap_or_default();
    let client = |password: &str| {
        in_ns(cli, &["python3"])
            .arg(common::root().join("scripts/clients/smtplib_client.py"))
            .args(["192.0.2.25", "--port", "587", "--starttls"])
            .args(["--user", "office@domain.com", "--password", password])
            .args(["--sender", "office@domain.com"])
            .output()
            .unwrap()
    };
    let wrong = client("wrong-password");
    let right = client("Scan2Mail!2026");
    let lines = |child: &mut std::process::Child| {
        let mut out = BufReader::new(child.stdout.take().unwrap());
        (0..2)
            .map(|_| {
                let mut line = String::new();
                out.read_line(&mut line).unwrap();
                serde_json::from_str::<serde_json::Value>(&line)
                    .unwrap_or_else(|e| panic!("{e}: {line:?}; {wrong:?} {right:?}"))
            })
            .collect::<Vec<_>>()
    };
    let (libpcap, dumpcap) = (lines(&mut by_libpcap), lines(&mut by_dumpcap));
    assert_eq!(dumpcap[0]["session"]["outcome"], "rejected");
    assert_eq!(dumpcap[1]["session"]["outcome"], "delivered");
    // Ctrl-C ends the libpcap capture; the dumpcap one ends by itself after two
    // conversations (killed after 15 s if it does not, which fails below).
    sh(&["kill", "-INT", &by_libpcap.id().to_string()]);
    let pid = by_dumpcap.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(15));
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    });
    let ended = [
        by_libpcap.wait_with_output().unwrap(),
        by_dumpcap.wait_with_output().unwrap(),
    ];
    let _ = server.kill();
    let _ = server.wait();
    assert_unprivileged(&status);
    // The same verdicts, to the frame.
    let fields = [
        "outcome",
        "stage",
        "outcome_basis",
        "deciding_reply",
        "server_name",
        "attempt",
    ];
    for (a, b) in libpcap.iter().zip(&dumpcap) {
        for f in fields {
            assert_eq!(a["session"][f], b["session"][f], "{f}");
        }
        assert_eq!(finding_ids(a), finding_ids(b));
    }
    let err = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).to_string();
    let (libpcap_err, dumpcap_err) = (err(&ended[0]), err(&ended[1]));
    assert!(
        libpcap_err.contains("(captured by libpcap) stopped: "),
        "{libpcap_err}"
    );
    assert!(
        dumpcap_err.contains("(captured by dumpcap) ended: ")
            && dumpcap_err.contains(" 2 conversations")
            && dumpcap_err.contains("the kernel dropped 0 packets"),
        "{dumpcap_err}"
    );
    assert_eq!(ended[0].status.code(), ended[1].status.code());
    // What was kept through dumpcap analyses the same.
    assert_kept_matches(&kept, &dumpcap, &fields[..5]);
}

/// `smtpcap analyze` of the capture `kept` gives each session's `fields` as the JSON
/// Lines of the live capture did.
fn assert_kept_matches(kept: &std::path::Path, live: &[serde_json::Value], fields: &[&str]) {
    let again = smtpcap()
        .args(["analyze", "--format", "json"])
        .arg(kept)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    let sessions = doc["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), live.len());
    for (kept, live) in sessions.iter().zip(live) {
        for f in fields {
            assert_eq!(kept[f], live["session"][f], "{f}");
        }
    }
}
