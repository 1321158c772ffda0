//! Regression tests on the shared public captures, each named after what it guards.

mod common;

use std::path::PathBuf;

use smtpcap::internals::analysis::Analysis;
use smtpcap::internals::dialogue::EntryKind;

fn public(rel: &str) -> Option<Analysis> {
    let dir = common::public_dir()?;
    let p: PathBuf = dir.join(rel);
    Some(common::analyze(&p))
}

fn commands(a: &Analysis, s: usize) -> Vec<String> {
    a.sessions[s]
        .dialogue
        .iter()
        .filter_map(|e| e.command().map(str::to_string))
        .collect()
}

#[test]
fn every_public_capture_is_read_without_error() {
    for p in common::public_captures() {
        let a = common::analyze(&p);
        assert!(a.error.is_none(), "{}: {:?}", p.display(), a.error);
        assert!(!a.sessions.is_empty(), "{}: no SMTP session", p.display());
    }
}

#[test]
fn auth_login_username_shown_password_withheld() {
    let Some(a) = public("zeek/smtp.pcap") else {
        return;
    };
    let auth: Vec<_> = a.sessions[0]
        .dialogue
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Auth { auth } => Some(auth.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(auth.len(), 2);
    assert_eq!(auth[0].username.as_deref(), Some("gurpartap@patriots.in"));
    assert!(auth[1].redacted && auth[1].username.is_none());
}

#[test]
fn bdat_gap_is_exactly_1000_bytes_and_dialogue_resumes() {
    let Some(a) = public("zeek/smtp-bdat-gap.pcap") else {
        return;
    };
    let s = &a.sessions[0];
    assert_eq!(s.tcp.client_stream.gap_bytes, 1000);
    let c = commands(&a, 0);
    assert!(
        c.ends_with(&["DATA".to_string(), "QUIT".to_string()]),
        "{c:?}"
    );
}

#[test]
fn twenty_seven_bdat_chunks_are_counted_by_length() {
    let Some(a) = public("zeek/rfc3030-bdat-multipart-chunked.pcap") else {
        return;
    };
    let chunks: Vec<u64> = a.sessions[0]
        .dialogue
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Body { body } => Some(body.bytes),
            _ => None,
        })
        .collect();
    assert_eq!(chunks.len(), 27);
    assert_eq!(chunks[..26], [129; 26]);
    assert_eq!(chunks[26], 106);
}

#[test]
fn one_sided_capture_reads_both_messages() {
    let Some(a) = public("zeek/smtp-one-side-only.pcap") else {
        return;
    };
    let c = commands(&a, 0);
    assert_eq!(
        c,
        ["EHLO", "MAIL", "RCPT", "DATA", "MAIL", "RCPT", "DATA", "QUIT"]
    );
}

#[test]
fn quit_sent_as_auth_username_is_auth_data() {
    let Some(a) = public("suricata-verify/smtp-long-command/input.pcap") else {
        return;
    };
    assert!(!commands(&a, 0).contains(&"QUIT".to_string()));
    let ehlo = a.sessions[0]
        .dialogue
        .iter()
        .find(|e| e.command() == Some("EHLO"))
        .unwrap();
    match &ehlo.kind {
        EntryKind::Command {
            argument,
            end_frame,
            ..
        } => {
            // 4,097 bytes over frames 6 and 7; frame 11 re-sends sequence 1 with other bytes
            // (a crafted overlap), which must not change the line.
            assert_eq!(argument.len(), 4090);
            assert_eq!(*end_frame, Some(7));
        }
        _ => unreachable!(),
    }
}

#[test]
fn pipelined_commands_after_end_of_data_are_matched_to_their_replies() {
    let Some(a) = public("suricata-verify/smtp-pipelined-post-data-rset-sequence/input.pcap")
    else {
        return;
    };
    let answered: Vec<String> = a.sessions[0]
        .dialogue
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Reply {
                answers: Some(x), ..
            } => Some(x.command.as_str().to_string()),
            _ => None,
        })
        .collect();
    let tail = &answered[answered.len() - 7..];
    assert_eq!(
        tail,
        [
            "end of data",
            "RSET",
            "MAIL",
            "RCPT",
            "DATA",
            "end of data",
            "QUIT"
        ]
    );
}

#[test]
fn smtp_behind_socks5_is_found_after_the_proxy_handshake() {
    let Some(a) = public("arkime/socks5-smtp-503.pcap") else {
        return;
    };
    assert_eq!(a.sessions[0].server.port, 1080);
    assert_eq!(commands(&a, 0), ["EHLO", "AUTH"]);
    assert!(a.sessions[0]
        .dialogue
        .iter()
        .any(|e| e.reply_code() == Some(503)));
}

#[test]
fn decrypted_starttls_capture_is_flagged_as_not_tls() {
    let Some(a) = public("arkime/smtp-decrypted.pcap") else {
        return;
    };
    assert_eq!(a.sessions.len(), 4);
    for s in &a.sessions {
        let tls: Vec<bool> = s
            .dialogue
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::Tls { tls } => Some(tls.looks_like_tls),
                _ => None,
            })
            .collect();
        assert!(!tls.is_empty() && tls.iter().all(|t| !t), "{tls:?}");
    }
}

#[test]
fn ehlo_typed_one_byte_per_segment_is_one_command() {
    let Some(a) = public("packetlife/ipv6-smtp.pcapng.cap") else {
        return;
    };
    assert_eq!(commands(&a, 0), ["EHLO"]);
    assert!(a.sessions[0].client.ip.is_ipv6());
}

#[test]
fn ipv6_on_vlan_125_is_decoded() {
    let Some(a) = public("ndpi/smtp-starttls.pcap") else {
        return;
    };
    assert_eq!(a.sessions.len(), 2);
    assert!(a.sessions.iter().any(|s| s.client.ip.is_ipv6()));
}

#[test]
fn binary_junk_lines_are_not_commands_but_get_their_replies() {
    let Some(a) = public("suricata-verify/smtp-errors/smtperr.pcap") else {
        return;
    };
    let s = &a.sessions[0];
    let junk = s.dialogue.iter().filter(|e| matches!(&e.kind, EntryKind::Unparsed { unparsed } if unparsed.reason == "not an SMTP command")).count();
    let answered = s
        .dialogue
        .iter()
        .filter(|e| matches!(&e.kind, EntryKind::Reply { answers: Some(x), .. } if x.command.as_str() == "not a command"))
        .count();
    assert_eq!(junk, 5);
    // The banner is the greeting although junk came first; four 500s answer the four junk
    // lines complete by then (the fifth line ends after the last 500 in the capture).
    assert_eq!(
        s.dialogue
            .iter()
            .find_map(smtpcap::internals::dialogue::Entry::reply_code),
        Some(220)
    );
    assert_eq!(answered, 4);
}

#[test]
fn smtp_bug_5981_retransmission_with_other_bytes_is_reported() {
    // Frame 21 carries 6,458 bytes of the message; frames 22-25 send parts of the same
    // sequence range again with other bytes (checked with tshark's tcp.payload). The last
    // 512 bytes delivered are remembered, so frame 25's overlap is the one compared.
    let Some(a) = public("suricata-verify/smtp-bug-5981/input.pcap") else {
        return;
    };
    let client = &a.sessions[0].tcp.client_stream;
    assert_eq!(client.conflicting_overlaps, 1);
    assert_eq!(client.first_conflict_frame, Some(25));
    assert_eq!(a.sessions[0].tcp.server_stream.conflicting_overlaps, 0);
    let d = smtpcap::internals::diagnosis::diagnose(&a);
    let f = d
        .findings()
        .into_iter()
        .find(|f| f.id == "conflicting-retransmission")
        .expect("finding");
    assert_eq!(f.session, Some(1));
    assert_eq!(f.evidence[0].frame, 25);
}

/// In both public sets, a delivered message carries no error finding but a real
/// exposure (a replayable credential in clear): no DNSBL look-up, digest login or
/// multi-line reply turns a delivery into an error.
#[test]
fn a_delivered_message_carries_no_error_but_a_real_exposure() {
    use smtpcap::internals::diagnosis::{diagnose, Outcome, Severity};
    let mut wrong = Vec::new();
    let mut delivered = 0;
    for p in common::all_public_captures() {
        let a = common::analyze(&p);
        let d = diagnose(&a);
        let all_delivered =
            !d.sessions.is_empty() && d.sessions.iter().all(|s| s.outcome == Outcome::Delivered);
        for (sd, findings) in d.sessions.iter().zip(&d.session_findings) {
            if sd.outcome != Outcome::Delivered {
                continue;
            }
            delivered += 1;
            for f in findings {
                if f.severity == Severity::Error && f.id.as_str() != "cleartext-credentials" {
                    wrong.push(format!("{}: {}", p.display(), f.id.as_str()));
                }
            }
        }
        if all_delivered {
            for f in &d.capture_findings {
                if f.severity == Severity::Error {
                    wrong.push(format!("{}: {} (capture)", p.display(), f.id.as_str()));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    if common::public_dir().is_some() {
        assert!(delivered >= 10, "only {delivered} delivered sessions");
    }
}
