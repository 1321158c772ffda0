//! The same traffic in every container the capture tools write gives the same dialogue.

mod common;

use std::io::Cursor;

use smtpcap::internals::analysis::analyze_bytes;

/// Rewrites a little-endian microsecond pcap as big-endian, record by record.
fn to_big_endian(le: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(le.len());
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes(b[i..i + 2].try_into().unwrap());
    assert_eq!(u32_at(le, 0), 0xa1b2_c3d4, "little-endian µs pcap expected");
    out.extend(0xa1b2_c3d4u32.to_be_bytes());
    out.extend(u16_at(le, 4).to_be_bytes());
    out.extend(u16_at(le, 6).to_be_bytes());
    for i in [8, 12, 16, 20] {
        out.extend(u32_at(le, i).to_be_bytes());
    }
    let mut at = 24;
    while at + 16 <= le.len() {
        let caplen = u32_at(le, at + 8) as usize;
        for i in 0..4 {
            out.extend(u32_at(le, at + 4 * i).to_be_bytes());
        }
        out.extend(&le[at + 16..at + 16 + caplen]);
        at += 16 + caplen;
    }
    out
}

#[test]
fn big_endian_pcap_reads_like_little_endian() {
    let le = std::fs::read(common::root().join("samples/plain-mx-swaks.pcap")).unwrap();
    let be = to_big_endian(&le);
    let a = analyze_bytes("le", Cursor::new(le));
    let b = analyze_bytes("be", Cursor::new(be));
    assert!(b.error.is_none(), "{:?}", b.error);
    assert_eq!(common::content(&a, 0), common::content(&b, 0));
    assert_eq!(a.sessions[0].start_time, b.sessions[0].start_time);
    assert_eq!(a.packets, b.packets);
}

#[test]
fn nanosecond_pcap_reads_like_microsecond() {
    let us = common::analyze("samples/plain-mx-swaks.pcap".as_ref());
    let ns = common::analyze("samples/plain-mx-nanosecond.pcap".as_ref());
    assert_eq!(ns.format, Some("pcap-ns"));
    assert_eq!(common::content(&us, 0), common::content(&ns, 0));
    assert_eq!(us.sessions[0].start_time, ns.sessions[0].start_time);
    let frames = |a: &smtpcap::internals::analysis::Analysis| {
        a.sessions[0]
            .dialogue
            .iter()
            .map(|e| e.frame)
            .collect::<Vec<_>>()
    };
    assert_eq!(frames(&us), frames(&ns));
}

#[test]
fn pcapng_with_two_sections_and_two_link_types_numbers_frames_across_them() {
    let a = common::analyze("samples/multi-section-interface.pcapng".as_ref());
    assert_eq!(a.link_types, ["ETHERNET", "LINUX_SLL2"]);
    assert_eq!(a.sessions.len(), 3);
    let pipelining = common::analyze("samples/pipelining-swaks.pcap".as_ref());
    let sll2 = common::analyze("samples/sll2-any-swaks.pcap".as_ref());
    let ipv6 = common::analyze("samples/ipv6-starttls-swaks.pcapng".as_ref());
    // mergecap interleaves by time; the second section follows the first.
    let mut firsts: Vec<Vec<String>> = a
        .sessions
        .iter()
        .enumerate()
        .map(|(i, _)| common::content(&a, i))
        .collect();
    firsts.sort();
    let mut expected = vec![
        common::content(&pipelining, 0),
        common::content(&sll2, 0),
        common::content(&ipv6, 0),
    ];
    expected.sort();
    assert_eq!(firsts, expected);
    assert_eq!(a.packets, pipelining.packets + sll2.packets + ipv6.packets);
    let last = a.sessions.last().unwrap();
    assert_eq!(last.tcp.first_frame, pipelining.packets + sll2.packets + 1);
}

#[test]
fn ipv4_fragments_made_by_a_router_are_reassembled() {
    let a = common::analyze("samples/fragments-router-swaks.pcap".as_ref());
    assert!(
        a.decode.fragments >= 2 && a.decode.reassembled >= 1,
        "{:?}",
        a.decode
    );
    assert_eq!(a.decode.fragments_dropped, 0);
    let body = common::content(&a, 0)
        .into_iter()
        .find(|l| l.contains(" body "))
        .unwrap();
    assert!(body.ends_with(" true"), "{body}");
    assert_eq!(a.sessions[0].tcp.client_stream.gap_bytes, 0);
}

#[test]
fn a_fragmented_datagram_missing_its_middle_is_reported_at_its_last_fragment() {
    // The router split one segment into frames 15, 16 and 17 (tshark: ip.id 0x9c26);
    // without frame 16 that datagram never completes. Its fragments are then frames 15
    // and 16 (the old 17): the report points at the latest one.
    let bytes = std::fs::read(common::root().join("samples/fragments-router-swaks.pcap")).unwrap();
    let mut out = bytes[..24].to_vec();
    let (mut at, mut frame) = (24, 0);
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        frame += 1;
        if frame != 16 {
            out.extend_from_slice(&bytes[at..at + 16 + len]);
        }
        at += 16 + len;
    }
    let a = smtpcap::internals::analysis::analyze_bytes("cut", std::io::Cursor::new(out));
    assert_eq!(a.decode.fragments_dropped, 1, "{:?}", a.decode);
    assert_eq!(a.decode.first_dropped_fragment, Some(16));
    // The segment it carried is a gap in the client's stream.
    assert!(a.sessions[0].tcp.client_stream.gap_bytes > 0);
    let d = smtpcap::internals::diagnosis::diagnose(&a);
    let ev: Vec<_> = d
        .findings()
        .into_iter()
        .filter(|f| f.id == "capture-incomplete")
        .flat_map(|f| f.evidence.iter())
        .filter(|e| e.text.contains("could not be reassembled"))
        .collect();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].frame, 16);
}
