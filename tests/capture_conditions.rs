//! A conversation recorded with packet loss, with reordered segments, or with its start
//! cut off yields the clean recording's dialogue wherever the capture holds the bytes,
//! and reports what is missing.

mod common;

use smtpcap::internals::dialogue::EntryKind;

#[test]
fn reordered_segments_after_loss_give_the_clean_dialogue() {
    let clean = common::analyze("samples/loss-clean-swaks.pcap".as_ref());
    let lossy = common::analyze("samples/loss-reordered-swaks.pcap".as_ref());
    assert_eq!(common::content(&lossy, 0), common::content(&clean, 0));
    let stream = &lossy.sessions[0].tcp.client_stream;
    assert!(
        stream.out_of_order > 0,
        "the lossy sample must hold segments out of order: {stream:?}"
    );
    assert_eq!(stream.gap_bytes, 0);
    assert_eq!(stream.bytes, clean.sessions[0].tcp.client_stream.bytes);
}

#[test]
fn segments_the_capture_missed_are_gaps_of_their_size_and_parsing_resumes() {
    let clean = common::analyze("samples/missed-clean-smtplib.pcap".as_ref());
    let lossy = common::analyze("samples/missed-rcpt-smtplib.pcap".as_ref());
    let gaps: Vec<u64> = lossy.sessions[0]
        .dialogue
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Gap { gap } => Some(gap.bytes),
            _ => None,
        })
        .collect();
    // Each missing segment held "rcpt TO:<scans@domain.com>\r\n".
    assert_eq!(gaps, vec![28, 28]);
    let expected: Vec<String> = common::content(&clean, 0)
        .into_iter()
        .filter(|l| !l.starts_with("Client RCPT"))
        .collect();
    assert_eq!(common::content(&lossy, 0), expected);
    assert_eq!(lossy.sessions[0].tcp.client_stream.gap_bytes, 56);
}

#[test]
fn capture_started_mid_conversation_gives_the_rest_of_the_dialogue() {
    let clean = common::analyze("samples/midstream-clean-smtplib.pcap".as_ref());
    let late = common::analyze("samples/midstream-late-smtplib.pcap".as_ref());
    let whole = common::content(&clean, 0);
    let part = common::content(&late, 0);
    assert!(late.sessions[0].tcp.mid_stream);
    assert!(part.len() >= 10 && part.len() < whole.len(), "{part:?}");
    assert_eq!(part[..], whole[whole.len() - part.len()..]);
    assert!(part[0].starts_with("Client MAIL"), "{part:?}");
}

#[test]
fn a_capture_with_segmentation_offload_reads_whole() {
    let a = common::analyze("samples/offload-tso-swaks.pcap".as_ref());
    let s = &a.sessions[0];
    let c = &s.tcp.client_stream;
    // The 69 kB message crossed in far fewer segments than 1,448-byte ones would take.
    assert!(c.bytes > 69_000 && c.segments * 1448 < c.bytes / 2, "{c:?}");
    for st in [&s.tcp.client_stream, &s.tcp.server_stream] {
        assert_eq!(st.gap_bytes, 0);
        assert_eq!(st.conflicting_overlaps, 0);
    }
    let d = smtpcap::internals::diagnosis::diagnose(&a);
    assert_eq!(d.sessions[0].outcome_label(), "delivered");
    assert!(!d.findings().iter().any(|f| f.id == "capture-incomplete"));
}

#[test]
fn a_server_turned_to_garbage_hides_no_client_command() {
    let a = common::analyze("samples/garbage-server-python.pcap".as_ref());
    let s = &a.sessions[0];
    let commands: Vec<&str> = s.dialogue.iter().filter_map(|e| e.command()).collect();
    assert_eq!(commands, ["EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"]);
    let auth = s
        .dialogue
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Auth { .. }))
        .count();
    assert_eq!(auth, 2, "user name and password lines");
    assert!(a.secrets.iter().any(|p| p == "Scan2Mail!2026"));
    // Every server byte after the greeting is accounted for as not parsed.
    let unparsed: u64 = s
        .dialogue
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Unparsed { unparsed } => Some(unparsed.bytes),
            _ => None,
        })
        .sum();
    assert_eq!(unparsed, 4900);
    let d = smtpcap::internals::diagnosis::diagnose(&a);
    let f = d
        .findings()
        .into_iter()
        .find(|f| f.id == "cleartext-credentials")
        .expect("cleartext-credentials");
    assert!(f.evidence.iter().any(|e| e.text.contains("password")));
}
