//! The text report's TCP line says what the capture saw: a conversation the capture
//! joined late "started mid-conversation", and "never opened" only when no data flowed.

mod common;

use std::io::Cursor;

use common::craft::Capture;
use smtpcap::internals::analysis::analyze_bytes;

fn tcp_line(cap: &Capture) -> String {
    let a = analyze_bytes("crafted", Cursor::new(cap.pcap()));
    let text = common::render(&a).0;
    text.lines()
        .find(|l| l.trim_start().starts_with("TCP:"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

const DIALOGUE: &[&str] = &[
    "S: 220 mail.example.test ESMTP Postfix",
    "C: EHLO mx-4070n.example.test",
    "S: 250 mail.example.test",
    "C: QUIT",
    "S: 221 2.0.0 Bye",
];

#[test]
fn a_conversation_joined_late_says_so_and_is_not_called_never_opened() {
    let mut cap = Capture::new();
    cap.tcp(
        ([192, 168, 1, 50], 40000),
        ([192, 168, 1, 10], 25),
        DIALOGUE,
    );
    // Without the handshake (frames 0–2) and the closing FINs and ACK (the last 3).
    let total = cap.frame_count();
    cap.retain(|i| i >= 3 && i < total - 3);
    assert_eq!(
        tcp_line(&cap),
        "TCP: handshake not captured (started mid-conversation), open at the end of the capture"
    );
}

#[test]
fn a_syn_alone_is_never_opened() {
    let mut cap = Capture::new();
    cap.tcp(
        ([192, 168, 1, 50], 40000),
        ([192, 168, 1, 10], 25),
        DIALOGUE,
    );
    cap.retain(|i| i == 0);
    assert_eq!(
        tcp_line(&cap),
        "TCP: handshake SYN unanswered, never opened"
    );
}
