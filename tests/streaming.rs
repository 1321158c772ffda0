//! Captures with many sessions: they are handed on and reported as they finish, in order
//! of their first frame, and the report holds every one of them.
//!
//! The captures are made from a real recording (samples/scenarios/supported-587.pcap):
//! its TCP packets copied many times over, each copy on its own client port, the copies
//! overlapping in time.

mod common;

use std::path::{Path, PathBuf};

use smtpcap::internals::analysis::analyze_path;
use smtpcap::internals::capture::CaptureReader;
use smtpcap::internals::report::TextOptions;
use smtpcap::{render, Format};
use smtpcap::{Capture, Severity};

const SOURCE: &str = "samples/scenarios/supported-587.pcap";

/// The TCP frames of the source capture (Ethernet, IPv4).
fn tcp_frames() -> Vec<Vec<u8>> {
    let mut r = CaptureReader::open(&common::root().join(SOURCE), false).unwrap();
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        if f.data.get(23) == Some(&6) {
            out.push(f.data.to_vec());
        }
    }
    out
}

/// Replaces the client port (`from`) in both directions by `to`.
fn with_client_port(frame: &[u8], from: u16, to: u16) -> Vec<u8> {
    let mut f = frame.to_vec();
    let tcp = 14 + usize::from(f[14] & 0x0f) * 4;
    for at in [tcp, tcp + 2] {
        if u16::from_be_bytes([f[at], f[at + 1]]) == from {
            f[at..at + 2].copy_from_slice(&to.to_be_bytes());
        }
    }
    f
}

/// A capture written for one test, removed when the test ends (passed or not).
struct TempCapture(PathBuf);

impl Drop for TempCapture {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes a legacy pcap of `copies` copies of the source's TCP packets. Copy `c` starts
/// `stagger` packets after copy `c - 1`; with `long_lived`, copy 0's packets are spread
/// over the whole capture instead (one conversation open while all others come and go).
fn many_sessions(name: &str, copies: usize, stagger: usize, long_lived: bool) -> TempCapture {
    let frames = tcp_frames();
    let client_port = {
        let tcp = 14 + usize::from(frames[0][14] & 0x0f) * 4;
        u16::from_be_bytes([frames[0][tcp], frames[0][tcp + 1]])
    };
    let span = (copies * stagger) as f64;
    let mut timed: Vec<(f64, usize, Vec<u8>)> = Vec::new();
    for c in 0..copies {
        let port = 20_000 + c as u16;
        for (j, f) in frames.iter().enumerate() {
            let at = if long_lived && c == 0 {
                span * j as f64 / frames.len() as f64
            } else {
                (c * stagger + j) as f64
            };
            timed.push((at, c, with_client_port(f, client_port, port)));
        }
    }
    timed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut pcap = Vec::new();
    pcap.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    pcap.extend_from_slice(&2u16.to_le_bytes());
    pcap.extend_from_slice(&4u16.to_le_bytes());
    pcap.extend_from_slice(&[0; 8]);
    pcap.extend_from_slice(&65535u32.to_le_bytes());
    pcap.extend_from_slice(&1u32.to_le_bytes());
    for (i, (_, _, f)) in timed.iter().enumerate() {
        // One frame per millisecond: a reset conversation is over after a second of quiet.
        let (secs, usecs) = (1_700_000_000 + i as u32 / 1000, (i as u32 % 1000) * 1000);
        for v in [secs, usecs, f.len() as u32, f.len() as u32] {
            pcap.extend_from_slice(&v.to_le_bytes());
        }
        pcap.extend_from_slice(f);
    }
    let path = std::env::temp_dir().join(format!("smtpcap-{name}-{}.pcap", std::process::id()));
    std::fs::write(&path, pcap).unwrap();
    TempCapture(path)
}

fn original_content() -> Vec<String> {
    let a = common::analyze(Path::new(SOURCE));
    common::content(&a, 0)
}

#[test]
fn overlapping_sessions_are_numbered_by_first_frame_each_whole() {
    let capture = many_sessions("overlapping", 1200, 20, false);
    let a = analyze_path(&capture.0);
    let want = original_content();
    assert_eq!(a.sessions.len(), 1200);
    assert_eq!(a.sessions_out_of_order, 0);
    for (i, s) in a.sessions.iter().enumerate() {
        assert_eq!(s.id, i + 1);
        assert_eq!(s.client.port, 20_000 + i as u16, "session {}", s.id);
        assert_eq!(common::content(&a, i), want, "session {}", s.id);
    }
    assert!(a
        .sessions
        .windows(2)
        .all(|w| w[0].tcp.first_frame < w[1].tcp.first_frame));
}

#[test]
fn a_conversation_open_while_hundreds_finish_is_still_reported_whole() {
    let capture = many_sessions("long-lived", 600, 20, true);
    let a = analyze_path(&capture.0);
    assert_eq!(a.sessions.len(), 600);
    // More than 256 sessions finished while copy 0 was open: they were handed on before it.
    assert!(a.sessions_out_of_order > 0);
    // The text report says so.
    let d = smtpcap::internals::diagnosis::diagnose(&a);
    let text = smtpcap::internals::report::to_text(&a, &d, &TextOptions::default());
    let note = format!(
        "note: {} sessions were numbered before an older conversation that stayed open",
        a.sessions_out_of_order
    );
    assert!(text.contains(&note), "{}", &text[..400]);
    let mut ids: Vec<usize> = a.sessions.iter().map(|s| s.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=600).collect::<Vec<_>>());
    let long = a
        .sessions
        .iter()
        .position(|s| s.client.port == 20_000)
        .unwrap();
    assert_eq!(common::content(&a, long), original_content());
}

#[test]
fn streamed_reports_equal_the_in_memory_ones_past_the_spool_budget() {
    // 1,200 sessions: the JSON is several MiB (past the spool's 1 MiB in memory), the
    // HTML and Markdown reports draw 200 ladders and count the rest.
    let capture = many_sessions("report", 1200, 20, false);
    let path = capture.0.clone();
    let a = analyze_path(&path);
    let d = smtpcap::internals::diagnosis::diagnose(&a);
    let rendered = |format| {
        let mut out = Vec::new();
        render(
            Capture::open(&path).unwrap(),
            format,
            Severity::Info,
            &mut out,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    };
    let json = rendered(Format::Json);
    assert!(json.len() > 2 << 20, "{} bytes", json.len());
    assert_eq!(json, smtpcap::internals::report::to_json(&a, &d));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["sessions"].as_array().unwrap().len(), 1200);
    let text = rendered(Format::Text(TextOptions::default()));
    assert_eq!(
        text,
        smtpcap::internals::report::to_text(&a, &d, &TextOptions::default())
    );
    assert_eq!(text.matches("\n  1000  smtp ").count(), 1);
    assert_eq!(text.matches("\n  1200  smtp ").count(), 1);
    // Read as `render` reads it (no digest), so that the file's hash is not in one only.
    let plain = Capture::open(&path).unwrap().collect_all();
    let d = smtpcap::internals::diagnosis::diagnose(&plain);
    let html = rendered(Format::Html);
    assert!(
        html == smtpcap::internals::report::to_html(&plain, &d),
        "HTML differs"
    );
    assert_eq!(html.matches("<svg ").count(), 200);
    assert!(html.contains("1000 more conversations are not drawn"));
    let md = rendered(Format::Markdown);
    assert!(
        md == smtpcap::internals::report::to_markdown(&plain, &d),
        "Markdown differs"
    );
    assert_eq!(md.matches("```mermaid").count(), 200);
}
