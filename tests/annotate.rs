//! `--annotate`: the copy of every sample reads in tshark exactly as the original (each
//! frame's number, MD5, lengths, time, interface and encapsulation), each frame a
//! finding cites carries a comment naming it and no other frame an smtpcap comment, and
//! the verdict is in the section comments (capinfos -k).

mod common;

use std::collections::BTreeMap;

use base64::Engine;
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

/// A pcapng block in either byte order.
fn block(kind: u32, body: &[u8], big: bool) -> Vec<u8> {
    let w = |v: u32| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let len = 12 + body.len().div_ceil(4) * 4;
    let mut b = w(kind).to_vec();
    b.extend(w(len as u32));
    b.extend(body);
    b.resize(len - 4, 0);
    b.extend(w(len as u32));
    b
}

/// Two sections (the second big-endian), two interfaces of different link types,
/// name-resolution, statistics, secrets, copyable and non-copyable custom blocks, a
/// packet with the user's own comment and a simple packet.
fn fixture() -> Vec<u8> {
    let mut f = Vec::new();
    for big in [false, true] {
        let w32 = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut shb = w32(0x1A2B_3C4D).to_vec();
        shb.extend(w16(1));
        shb.extend(w16(0));
        shb.extend([0xff; 8]);
        f.extend(block(0x0A0D_0D0A, &shb, big));
        for link in [1u16, 101] {
            let mut idb = w16(link).to_vec();
            idb.extend(w16(0));
            idb.extend(w32(65535));
            f.extend(block(1, &idb, big));
        }
        let mut nrb = w16(1).to_vec(); // nrb_record_ipv4
        nrb.extend(w16(13));
        nrb.extend([192, 0, 2, 1]);
        nrb.extend(*b"copier\0\0\0\0\0\0\0\0\0\0"); // name, padded
        nrb.truncate(4 + 16);
        nrb.extend([0u8; 4]); // nrb_record_end
        f.extend(block(4, &nrb, big));
        let mut epb = w32(1).to_vec(); // interface 1 (raw IP)
        epb.extend(w32(0));
        epb.extend(w32(1_000_000));
        let packet = [
            0x45u8, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
        ];
        epb.extend(w32(packet.len() as u32));
        epb.extend(w32(packet.len() as u32));
        epb.extend(packet);
        epb.extend(w16(1));
        epb.extend(w16(11));
        epb.extend(*b"user's note\0");
        epb.extend([0u8; 4]);
        f.extend(block(6, &epb, big));
        let mut spb = w32(packet.len() as u32).to_vec();
        spb.extend(packet);
        f.extend(block(3, &spb, big));
        let mut isb = w32(0).to_vec();
        isb.extend(w32(0));
        isb.extend(w32(2_000_000));
        f.extend(block(5, &isb, big));
        let mut dsb = w32(0x544C_534B).to_vec();
        dsb.extend(w32(8));
        dsb.extend(*b"# keys\n\n");
        f.extend(block(10, &dsb, big));
        let mut custom = w32(32473).to_vec(); // a PEN
        custom.extend(*b"kept");
        f.extend(block(0xBAD, &custom, big));
        let mut dropped = w32(32473).to_vec();
        dropped.extend(*b"gone");
        f.extend(block(0x4000_0BAD, &dropped, big));
    }
    f
}

#[test]
fn every_block_is_kept_but_the_ones_marked_not_to_be_copied() {
    use smtpcap::internals::capture::blocks::BlockFramer;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("fixture.pcapng");
    std::fs::write(&input, fixture()).unwrap();
    let copy = dir.path().join("copy.pcapng");
    let status = Command::new(env!("CARGO_BIN_EXE_smtpcap"))
        .args(["analyze", "--summary-only", "--annotate"])
        .arg(&copy)
        .arg(&input)
        .status()
        .unwrap();
    assert!(status.code().is_some_and(|c| c <= 1), "{status}");
    let blocks = |bytes: Vec<u8>| {
        let mut framer = BlockFramer::new(std::io::Cursor::new(bytes));
        let mut out = Vec::new();
        while let Some(b) = framer.next_block().unwrap() {
            out.push(b);
        }
        out
    };
    let original = blocks(fixture());
    let copied = blocks(std::fs::read(&copy).unwrap());
    let kept: Vec<_> = original.iter().filter(|b| b.kind != 0x4000_0BAD).collect();
    assert_eq!(kept.len(), copied.len());
    for (i, (a, b)) in kept.iter().zip(&copied).enumerate() {
        assert_eq!(a.kind, b.kind, "block {i}");
        if i == 0 {
            // The first section header: smtpcap's comments, its length unknown.
            assert!(b
                .options()
                .iter()
                .any(|(_, v)| v.starts_with(b"smtpcap: VERDICT")));
        } else {
            assert_eq!(a.bytes, b.bytes, "block {i} (type {:#x}) changed", a.kind);
        }
    }
    if common::which("tshark") {
        // Wireshark numbers custom blocks as frames: the one not copied is missing, the
        // frames after it move up one, and everything else reads the same.
        let unnumbered = |t: String| -> Vec<String> {
            t.lines()
                .map(|l| l.split_once('\t').unwrap().1.to_string())
                .collect()
        };
        let mut before = unnumbered(tshark_frames(&input));
        let after = unnumbered(tshark_frames(&copy));
        let gone: Vec<usize> = (0..before.len())
            .filter(|i| !after.contains(&before[*i]))
            .collect();
        assert_eq!(gone.len(), 2, "{before:?}\n{after:?}");
        for i in gone.into_iter().rev() {
            before.remove(i);
        }
        assert_eq!(before, after);
    }
}

#[test]
fn a_damaged_capture_is_copied_as_far_as_it_reads_and_says_where_it_stopped() {
    if !common::which("capinfos") {
        common::skipped("capinfos not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(common::root().join("samples/loss-clean-swaks.pcap")).unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &whole[..1500]).unwrap();
    let copy = dir.path().join("copy.pcapng");
    let out = Command::new(env!("CARGO_BIN_EXE_smtpcap"))
        .args(["analyze", "--summary-only", "--annotate"])
        .arg(&copy)
        .arg(&cut)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let info = Command::new("capinfos")
        .args(["-c", "-k"])
        .arg(&copy)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("the original is damaged at byte 1397"),
        "{info}"
    );
    // The records before the cut are all there.
    let frames = Command::new("capinfos")
        .args(["-c", "-M"])
        .arg(&cut)
        .output()
        .unwrap();
    let count = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("Number of packets"))
            .map(|l| l.split(':').nth(1).unwrap().trim().to_string())
    };
    assert_eq!(
        count(&String::from_utf8_lossy(&frames.stdout)),
        count(&info)
    );
}

#[test]
fn no_comment_holds_a_password() {
    if !common::which("tshark") || !common::which("capinfos") {
        common::skipped("tshark or capinfos not installed");
        return;
    }
    let password = "Scan2Mail!2026";
    let encoded = base64::engine::general_purpose::STANDARD.encode(password);
    let dir = tempfile::tempdir().unwrap();
    for sample in [
        "samples/auth-login-cleartext-swaks.pcap.gz",
        "samples/auth-plain-cleartext-msmtp.pcap",
    ] {
        let copy = dir.path().join("copy.pcapng");
        Command::new(env!("CARGO_BIN_EXE_smtpcap"))
            .args(["analyze", "--summary-only", "--annotate"])
            .arg(&copy)
            .arg(common::root().join(sample))
            .output()
            .unwrap();
        let comments = tshark_comments(&copy);
        assert!(!comments.is_empty(), "{sample}: no comment");
        let section = Command::new("capinfos")
            .arg("-k")
            .arg(&copy)
            .output()
            .unwrap();
        let all = format!("{comments:?}{}", String::from_utf8_lossy(&section.stdout));
        assert!(all.contains("cleartext-credentials"), "{sample}: {all}");
        assert!(
            !all.contains(password) && !all.contains(&encoded),
            "{sample}: a comment holds the password"
        );
    }
}
