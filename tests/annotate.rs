//! `--annotate`: the copy of every sample reads in tshark exactly as the original (each
//! frame's number, MD5, lengths, time, interface and encapsulation), each frame a
//! finding cites carries a comment naming it and no other frame an smtpcap comment, and
//! the verdict is in the section comments (capinfos -k).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use smtpcap::internals::diagnosis::diagnose;

fn tshark_frames(file: &Path) -> String {
    let out = Command::new("tshark")
        .args(["-n", "-o", "frame.generate_md5_hash:TRUE", "-T", "fields"])
        .args([
            "-e",
            "frame.number",
            "-e",
            "frame.md5_hash",
            "-e",
            "frame.len",
        ])
        .args([
            "-e",
            "frame.cap_len",
            "-e",
            "frame.time_epoch",
            "-e",
            "frame.interface_id",
        ])
        .args(["-e", "frame.encap_type", "-r"])
        .arg(file)
        .output()
        .expect("tshark runs");
    // A classic pcap has no interface ids; its copy's single interface is 0.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split('\t').collect();
            if f.get(5) == Some(&"") {
                f[5] = "0";
            }
            f.join("\t") + "\n"
        })
        .collect()
}

/// Each frame's smtpcap comments, as tshark reads them.
fn tshark_comments(file: &Path) -> BTreeMap<u64, Vec<String>> {
    let out = Command::new("tshark")
        .args([
            "-n",
            "-T",
            "fields",
            "-E",
            "aggregator=\u{1f}",
            "-E",
            "occurrence=a",
        ])
        .args(["-e", "frame.number", "-e", "frame.comment", "-r"])
        .arg(file)
        .output()
        .expect("tshark runs");
    let mut map = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((n, comments)) = line.split_once('\t') else {
            continue;
        };
        let ours: Vec<String> = comments
            .split('\u{1f}')
            .filter(|c| c.starts_with("smtpcap:"))
            .map(String::from)
            .collect();
        if !ours.is_empty() {
            map.insert(n.parse().unwrap(), ours);
        }
    }
    map
}

#[test]
fn every_sample_annotated_reads_as_the_original_with_its_findings_on_their_frames() {
    if !common::which("tshark") || !common::which("capinfos") {
        common::skipped("tshark or capinfos not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();
    let mut commented = 0;
    for sample in common::samples() {
        let path = common::root().join(&sample);
        let copy = dir.path().join("copy.pcapng");
        let status = Command::new(env!("CARGO_BIN_EXE_smtpcap"))
            .args(["analyze", "--summary-only", "--annotate"])
            .arg(&copy)
            .arg(&path)
            .output()
            .unwrap()
            .status;
        if status.code().is_none_or(|c| c > 1) {
            wrong.push(format!("{}: exit {status}", sample.display()));
            continue;
        }
        if tshark_frames(&path) != tshark_frames(&copy) {
            wrong.push(format!("{}: frames differ in the copy", sample.display()));
        }
        // The frames the findings cite, from the library.
        let a = common::analyze(&sample);
        let d = diagnose(&a);
        let mut cited: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
        for f in d
            .session_findings
            .iter()
            .flatten()
            .chain(&d.capture_findings)
        {
            for e in &f.evidence {
                cited.entry(e.frame).or_default().push(f.id.as_str());
            }
        }
        for s in &d.sessions {
            if let Some(r) = &s.deciding_reply {
                cited.entry(r.frame).or_default();
            }
        }
        let got = tshark_comments(&copy);
        for (frame, ids) in &cited {
            let on = got.get(frame).cloned().unwrap_or_default();
            for id in ids {
                if !on.iter().any(|c| c.contains(&format!(" {id}: "))) {
                    wrong.push(format!(
                        "{}: frame {frame} lacks {id}: {on:?}",
                        sample.display()
                    ));
                }
            }
        }
        for frame in got.keys() {
            if !cited.contains_key(frame) {
                wrong.push(format!(
                    "{}: frame {frame} has a comment no finding cites",
                    sample.display()
                ));
            }
        }
        commented += got.len();
        let info = Command::new("capinfos")
            .arg("-k")
            .arg(&copy)
            .output()
            .unwrap();
        if !String::from_utf8_lossy(&info.stdout).contains("smtpcap: VERDICT: ") {
            wrong.push(format!(
                "{}: no verdict in the section comments",
                sample.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(commented > 100, "{commented} commented frames");
}

#[test]
fn annotating_a_copy_again_replaces_only_smtpcaps_comments() {
    if !common::which("tshark") {
        common::skipped("tshark not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sample = common::root().join("samples/postfix/relay-rejected-554.pcap");
    let first = dir.path().join("first.pcapng");
    let second = dir.path().join("second.pcapng");
    // A comment of the user's own on frame 2, then smtpcap twice.
    let own = dir.path().join("own.pcapng");
    let status = Command::new("editcap")
        .args(["-a", "2:checked by the technician"])
        .arg(&sample)
        .arg(&own)
        .status()
        .unwrap();
    assert!(status.success());
    for (input, output) in [(&own, &first), (&first, &second)] {
        Command::new(env!("CARGO_BIN_EXE_smtpcap"))
            .args(["analyze", "--summary-only", "--annotate"])
            .arg(output)
            .arg(input)
            .output()
            .unwrap();
    }
    assert_eq!(tshark_comments(&first), tshark_comments(&second));
    assert_eq!(tshark_frames(&first), tshark_frames(&second));
    let all = Command::new("tshark")
        .args([
            "-n",
            "-T",
            "fields",
            "-e",
            "frame.comment",
            "-Y",
            "frame.number == 2",
            "-r",
        ])
        .arg(&second)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&all.stdout).contains("checked by the technician"));
}

#[test]
fn standard_input_and_the_input_itself_are_refused_and_a_batch_writes_one_copy_each() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_smtpcap"))
            .current_dir(common::root())
            .arg("analyze")
            .args(args)
            .output()
            .unwrap()
    };
    let stdin = run(&[
        "--annotate",
        dir.path().join("x.pcapng").to_str().unwrap(),
        "-",
    ]);
    assert_eq!(stdin.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&stdin.stderr).contains("read twice"));
    let same = run(&[
        "--annotate",
        "samples/plain-mx-swaks.pcap",
        "samples/plain-mx-swaks.pcap",
    ]);
    assert_eq!(same.status.code(), Some(2));
    let out = dir.path().join("copies");
    let batch = run(&[
        "--summary-only",
        "--annotate",
        out.to_str().unwrap(),
        "samples/auth-login-cleartext-swaks.pcap.gz",
        "samples/scenarios",
    ]);
    assert_eq!(
        batch.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&batch.stderr)
    );
    // Named as --output-dir names reports: the path as given, folders joined by `__`.
    assert!(out
        .join("samples__auth-login-cleartext-swaks.pcap.gz.annotated.pcapng")
        .is_file());
    assert!(out.join("supported-587.pcap.annotated.pcapng").is_file());
    let copies = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(copies, 1 + 22);
}

#[test]
fn embedded_keys_are_only_this_captures_and_only_when_asked() {
    if !common::which("tshark") {
        common::skipped("tshark not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sample = common::root().join("samples/keylog/delivered-tls13-aes128gcm-curl.pcap");
    let own = std::fs::read_to_string(format!("{}.keys", sample.display())).unwrap();
    // A laptop's key log: this capture's lines among a browser's.
    let foreign = format!("CLIENT_RANDOM {} {}\n", "ab".repeat(32), "cd".repeat(48));
    let laptop = dir.path().join("sslkeylog.txt");
    std::fs::write(&laptop, format!("{foreign}{own}")).unwrap();
    let random = own.split_whitespace().nth(1).unwrap().to_string();
    let run = |embed: bool, out: &Path| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_smtpcap"));
        c.args(["analyze", "--summary-only", "--keylog"])
            .arg(&laptop);
        if embed {
            c.arg("--embed-keys");
        }
        let status = c.arg("--annotate").arg(out).arg(&sample).status().unwrap();
        assert_eq!(status.code(), Some(0));
        std::fs::read(out).unwrap()
    };
    let holds = |bytes: &[u8], text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());
    let plain = run(false, &dir.path().join("plain.pcapng"));
    assert!(
        !holds(&plain, &random),
        "keys embedded without --embed-keys"
    );
    let keyed_path = dir.path().join("keyed.pcapng");
    let keyed = run(true, &keyed_path);
    assert!(holds(&keyed, &random));
    assert!(
        !holds(&keyed, &"ab".repeat(32)),
        "a foreign session's key was embedded"
    );
    // tshark decrypts the copy with the keys it carries: AUTH inside TLS is read.
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&keyed_path)
        .args([
            "-Y",
            "smtp.req.command == \"AUTH\"",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).trim().is_empty());
}
