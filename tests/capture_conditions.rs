//! A conversation recorded with packet loss, with reordered segments, or with its start
//! cut off yields the clean recording's dialogue wherever the capture holds the bytes,
//! and reports what is missing.

mod common;

use smtpcap::dialogue::EntryKind;

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
