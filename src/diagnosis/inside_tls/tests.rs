//! The reading on hand-made turns: plaintext lengths sealed as TLS 1.2 AES-GCM records
//! (24 bytes of overhead each).

use super::*;
use crate::base::Timestamp;
use crate::tls::{ServerHelloFact, TlsVersion};

/// A session of alternating turns (the client first), each of these plaintext lengths;
/// a turn given as several lengths is several records.
fn sealed(turns: &[&[u64]]) -> TlsFacts {
    let mut tls = TlsFacts {
        established: true,
        server_hello: Some(ServerHelloFact {
            frame: 5,
            version: TlsVersion(0x0303),
            cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into(),
            suite: 0xc02f,
            encrypt_then_mac: false,
        }),
        ..TlsFacts::default()
    };
    for (k, records) in turns.iter().enumerate() {
        let side = if k % 2 == 0 {
            Side::Client
        } else {
            Side::Server
        };
        let frame = 10 + k as u64;
        let mut t = SealedTurn::new(side, frame, records[0] as u32 + 24, Timestamp::default());
        for r in &records[1..] {
            t.push(frame, *r as u32 + 24, Timestamp::default());
        }
        tls.sealed.push(t);
    }
    tls
}

/// As [`sealed`], on TLS 1.2 with AES-128-CBC and SHA-1: each record an explicit IV, the
/// plaintext, its MAC and padding to the block.
fn sealed_cbc(turns: &[&[u64]]) -> TlsFacts {
    let on_wire: Vec<Vec<u64>> = turns
        .iter()
        .map(|t| {
            t.iter()
                .map(|p| 16 + (p + 20 + 1).div_ceil(16) * 16 - 24)
                .collect()
        })
        .collect();
    let refs: Vec<&[u64]> = on_wire.iter().map(Vec::as_slice).collect();
    let mut tls = sealed(&refs);
    if let Some(h) = tls.server_hello.as_mut() {
        h.cipher = "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA".into();
        h.suite = 0xc013;
    }
    tls
}

/// EHLO, AUTH LOGIN, its two prompts, the user name and the password answered with
/// `answer` bytes, then the turns `rest`.
fn after_login(answer: u64, rest: &[&[u64]]) -> TlsFacts {
    let mut turns: Vec<&[u64]> = vec![&[EHLO], &[178], &[12], &[18], &[26], &[18], &[22]];
    let answer = [answer];
    turns.push(&answer);
    turns.extend_from_slice(rest);
    sealed(&turns)
}

fn clear(ehlo: u64, pipelining: bool) -> Clear {
    Clear {
        ehlo: Some(ehlo),
        pipelining,
        size_limit: Some(10_240_000),
        host: Some("relay.contoso.local".into()),
        greeting: None,
    }
}

/// The finding of a template, by its text alone (what the tests need).
fn finding(t: &Template) -> Option<FindingId> {
    let text = t.text;
    Some(
        if text.contains("authentication failed")
            || text.contains("Incorrect authentication")
            || text.contains("Password not accepted")
            || text.contains("5.7.3")
        {
            FindingId::AuthFailed
        } else if text.contains("not logged in") {
            FindingId::NotAuthenticated
        } else if text.contains("not owned") {
            FindingId::SendAsDenied
        } else if text.contains("Relay") || text.contains("relay") {
            FindingId::RelayDenied
        } else if text.contains("size") || text.contains("too big") {
            FindingId::MessageTooLarge
        } else {
            return None;
        },
    )
}

fn label(i: &InsideTls) -> String {
    match (i.outcome, i.stage, &i.declined) {
        (Some(o), Some(st), _) => format!("{}/{}", o.name(), st.name()),
        (Some(o), None, _) => o.name().to_string(),
        (None, _, Some(d)) => format!("declined {}", d.reason.name()),
        (None, _, None) => "nothing".into(),
    }
}

const EHLO: u64 = 28;

/// Postfix answering a delivery: AUTH PLAIN with the credentials, 235, MAIL, 250, RCPT,
/// 250, DATA, 354, the body, 250 queued, QUIT, 221.
const DELIVERED: &[&[u64]] = &[
    &[EHLO],
    &[178],
    &[48],
    &[37],
    &[41],
    &[14],
    &[28],
    &[14],
    &[6],
    &[37],
    &[2417],
    &[37],
    &[6],
    &[15],
];

#[test]
fn postfix_login_and_message_read_by_length_and_behaviour() {
    let tls = sealed(DELIVERED);
    let i = read(&tls, &clear(EHLO, true), Family::Postfix, &finding);
    assert_eq!(label(&i), "delivered", "{i:?}");
    assert_eq!(i.mechanism, Some(Mechanism::Plain));
    assert_eq!(i.login, Some(true));
    // The refused login: 535 of Dovecot's "(reason unavailable)", then QUIT (a server
    // without PIPELINING: with it, AUTH PLAIN and MAIL may share a turn).
    let tls = sealed(&[&[EHLO], &[178], &[48], &[62], &[6], &[15]]);
    let i = read(&tls, &clear(EHLO, false), Family::Postfix, &finding);
    assert_eq!(label(&i), "rejected/auth");
    assert_eq!(i.finding, Some(FindingId::AuthFailed));
    assert_eq!(i.login, Some(false));
}

#[test]
fn a_pipelined_group_is_the_sum_of_its_answers() {
    // MAIL, RCPT and DATA in one record; 250, 250 and 354 in one; the body; 250 queued.
    let tls = sealed(&[
        &[EHLO],
        &[178],
        &[48],
        &[37],
        &[41 + 28 + 6],
        &[14 + 14 + 37],
        &[2417],
        &[37],
        &[6],
        &[15],
    ]);
    let i = read(&tls, &clear(EHLO, true), Family::Postfix, &finding);
    assert_eq!(label(&i), "delivered", "{i:?}");
    // Without PIPELINING offered, no client sends such a group.
    let i = read(&tls, &clear(EHLO, false), Family::Postfix, &finding);
    assert!(i.outcome.is_none() && i.declined.is_some(), "{i:?}");
}

#[test]
fn a_client_going_on_after_a_refused_login_is_not_read_where_no_text_fits_the_answers() {
    // AUTH LOGIN, prompts, a refused password, then MAIL as if accepted: a blind client,
    // but Postfix answers MAIL with none of its texts of 71 bytes, and the refusal's length
    // is no 235's.
    let tls = after_login(62, &[&[41], &[71], &[28], &[45], &[6], &[15]]);
    let i = read(&tls, &clear(EHLO, true), Family::Postfix, &finding);
    assert!(i.outcome.is_none(), "{}", label(&i));
    assert!(i.declined.is_some());
}

#[test]
fn lengths_that_fit_two_meanings_are_declined_with_both() {
    // Unknown server texts: an answer to the credentials followed by QUIT is a test or a
    // refused login; only length could tell, and nothing says what its length means.
    let tls = sealed(&[&[EHLO], &[178], &[48], &[37], &[6], &[15]]);
    let i = read(&tls, &clear(EHLO, true), Family::Unknown, &finding);
    let d = i.declined.expect("declined");
    assert_eq!(d.reason, DeclineReason::AmbiguousLength);
    assert!(
        d.detail.contains("acceptance") && d.detail.contains("refusal"),
        "{}",
        d.detail
    );
    // AUTH LOGIN with its two prompts, then the envelope and a message: the body proves
    // MAIL, RCPT and DATA went through, and a client sends MAIL only after an accepted
    // login; the message's answer is not read, for want of the server's texts.
    let tls = sealed(&[
        &[EHLO],
        &[178],
        &[12],
        &[18],
        &[26],
        &[18],
        &[22],
        &[37],
        &[41],
        &[14],
        &[28],
        &[14],
        &[6],
        &[37],
        &[2417],
        &[37],
        &[6],
        &[15],
    ]);
    let i = read(&tls, &clear(EHLO, false), Family::Unknown, &finding);
    assert_eq!(i.login, Some(true), "{i:?}");
    assert!(i.outcome.is_none());
    assert!(matches!(
        i.declined.map(|d| d.reason),
        Some(DeclineReason::UnknownServerTexts | DeclineReason::AmbiguousLength)
    ));
}

#[test]
fn a_padded_or_miscalibrated_session_is_not_read() {
    let tls = sealed(&[&[32], &[178], &[48], &[37], &[6], &[15]]);
    let i = read(&tls, &clear(EHLO, true), Family::Postfix, &finding);
    assert_eq!(
        i.declined.map(|d| d.reason),
        Some(DeclineReason::NoCalibration)
    );
}

#[test]
fn every_refusal_template_classifies_to_a_finding() {
    // Each family's documented refusals, read as a reply in clear would be, call for a
    // finding (or are a passing condition).
    let server = ServerIdentity {
        provider: crate::diagnosis::server::Provider::Other,
        software: crate::diagnosis::server::Software::Unknown,
        endpoint: crate::diagnosis::server::Endpoint::Unknown,
        cloud: None,
        name: None,
        frame: None,
        source: "",
    };
    let mut unexplained = Vec::new();
    // Out-of-sequence answers ("need RCPT command") and a bare policy refusal
    // ("Administrative prohibition") name no cause: the generic `refused` finding explains
    // them from their code, as it does in clear.
    for f in Family::ALL {
        for t in f.templates().iter().filter(|t| {
            t.code() >= 400
                && !t.out_of_sequence()
                && !t.text.contains("Administrative prohibition")
        }) {
            let mut server = server.clone();
            if f == Family::ExchangeOnline {
                server.provider = crate::diagnosis::server::Provider::ExchangeOnline;
            }
            if classify(t, &server).is_none() {
                unexplained.push(format!("{}: {}", f.name(), t.text));
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "refusals no finding explains:\n{}",
        unexplained.join("\n")
    );
}

#[test]
fn a_search_with_too_many_readings_stops_and_says_so() {
    // Long turns of a server whose texts are unknown, offering PIPELINING: each turn can
    // hold dozens of commands and answers in countless combinations (the fuzzer's
    // timeout of session 6). The search's budget stops it, and the decline says why.
    let tls = sealed(&[&[EHLO], &[178], &[600], &[900], &[600], &[900], &[6], &[15]]);
    let i = read(&tls, &clear(EHLO, true), Family::Unknown, &finding);
    assert!(i.outcome.is_none());
    let d = i.declined.expect("declined");
    assert_eq!(d.reason, DeclineReason::AmbiguousLength, "{d:?}");
}

#[test]
fn two_messages_and_a_reset_are_read_in_turn() {
    // A delivery, then a second transaction whose recipient Postfix refuses for relay
    // (`554 5.7.1 <scans@domain.com>: Relay access denied`, 51 bytes with the recipient's
    // 16 learnt from its RCPT), RSET, QUIT.
    let mut turns: Vec<&[u64]> = DELIVERED[..12].to_vec();
    turns.extend_from_slice(&[&[41], &[14], &[28], &[51], &[6], &[14], &[6], &[15]]);
    let i = read(
        &sealed(&turns),
        &clear(EHLO, false),
        Family::Postfix,
        &finding,
    );
    assert_eq!(label(&i), "delivered", "{i:?}");
    assert!(i.declined.is_none());
    // The same refusal in the first transaction: refused at RCPT, the relay finding.
    let mut turns: Vec<&[u64]> = DELIVERED[..6].to_vec();
    turns.extend_from_slice(&[&[28], &[51], &[6], &[14], &[6], &[15]]);
    let i = read(
        &sealed(&turns),
        &clear(EHLO, false),
        Family::Postfix,
        &finding,
    );
    assert_eq!(label(&i), "rejected/rcpt", "{i:?}");
    assert_eq!(i.finding, Some(FindingId::RelayDenied));
}

#[test]
fn a_message_over_the_offered_size_limit_is_read_as_refused_for_its_size() {
    // Postfix's `552 5.3.4 Error: message file too big` (39 bytes with CRLF) after a
    // message of 20,000 bytes: over a SIZE limit of 10,000 only the refusal fits; under
    // the default limit it is the size refusal that is ruled out.
    let mut turns = DELIVERED.to_vec();
    turns[10] = &[20_000];
    turns[11] = &[39];
    let tls = sealed(&turns);
    let small = Clear {
        size_limit: Some(10_000),
        ..clear(EHLO, true)
    };
    let i = read(&tls, &small, Family::Postfix, &finding);
    assert_eq!(label(&i), "rejected/data", "{i:?}");
    assert_eq!(i.finding, Some(FindingId::MessageTooLarge));
    // The evidence says what ruled out the acceptance.
    let why = i.deciding.as_ref().map_or("", |d| d.text.as_str());
    assert!(
        why.contains("over the SIZE limit the server offered (10000 bytes)"),
        "{why}"
    );
    let i = read(&tls, &clear(EHLO, true), Family::Postfix, &finding);
    assert_ne!(i.finding, Some(FindingId::MessageTooLarge), "{i:?}");
}

#[test]
fn a_mail_too_short_to_declare_a_size_is_not_refused_for_its_size() {
    // `MAIL FROM:<>` alone (14 bytes) cannot carry SIZE=: an answer of the length of
    // Postfix's size refusal at MAIL (`552 5.3.4 Message size exceeds fixed limit`, 44
    // bytes) is not read as one.
    let tls = sealed(&[&[EHLO], &[178], &[48], &[37], &[14], &[44], &[6], &[15]]);
    let small = Clear {
        size_limit: Some(10_000),
        ..clear(EHLO, true)
    };
    let i = read(&tls, &small, Family::Postfix, &finding);
    assert_ne!(i.finding, Some(FindingId::MessageTooLarge), "{}", label(&i));
    // With room for `SIZE=20000`, it is.
    let tls = sealed(&[
        &[EHLO],
        &[178],
        &[48],
        &[37],
        &[14 + 11],
        &[44],
        &[6],
        &[15],
    ]);
    let i = read(&tls, &small, Family::Postfix, &finding);
    assert_eq!(label(&i), "rejected/mail", "{i:?}");
    assert_eq!(i.finding, Some(FindingId::MessageTooLarge));
}

#[test]
fn a_refusal_whose_text_the_length_does_not_tell_is_read_with_its_cause_open() {
    // Exim without a login: MAIL, `250 OK`, RCPT, then 25 bytes, the length of both
    // `550 Relay not permitted` and `550 Unrouteable address`, then QUIT: refused at RCPT
    // in every reading, by one of two texts.
    // The RCPT's answer is `rcpt_answer` bytes; QUIT's `221 <host> closing connection`.
    let exim = |rcpt_answer: u64| {
        let host = "relay.contoso.local".len() as u64;
        let quit = 4 + host + 19 + 2;
        let tls = sealed(&[
            &[EHLO],
            &[178],
            &[41],
            &[8],
            &[28],
            &[rcpt_answer],
            &[6],
            &[quit],
        ]);
        read(&tls, &clear(EHLO, true), Family::Exim, &finding)
    };
    let i = exim(25);
    assert_eq!(label(&i), "rejected/rcpt", "{i:?}");
    assert_eq!(i.finding, None);
    let why = i
        .open_cause
        .as_ref()
        .map_or("", |o| o.evidence.text.as_str());
    assert!(
        why.contains("`550 Relay not permitted`") && why.contains("`550 Unrouteable address`"),
        "{why}"
    );
    // The length of `250 Accepted` (14 bytes) reads no refusal there.
    assert_ne!(label(&exim(14)), "rejected/rcpt");
}

#[test]
fn implicit_tls_to_gmail_is_calibrated_on_auth_login_and_read_against_gmails_texts() {
    // smtp.gmail.com:465 (named by the SNI or the certificate, no clear banner): the
    // greeting inside TLS, then EHLO, AUTH LOGIN (12 bytes, alone in its turn: the
    // calibration), a wrong app password refused with Gmail's two-line 535.
    let len = |s: &str| s.len() as u64;
    let gsid = "d2e1a72fcca58-7e1b2c3d4e5f6a7b";
    let lines = [
        format!("220 smtp.gmail.com ESMTP {gsid} - gsmtp\r\n"),
        "EHLO MX-4070N\r\n".to_string(),
        "250-smtp.gmail.com at your service\r\n250-SIZE 35882577\r\n250-AUTH LOGIN PLAIN XOAUTH2\r\n250 SMTPUTF8\r\n".to_string(),
        "AUTH LOGIN\r\n".to_string(),
        "334 VXNlcm5hbWU6\r\n".to_string(),
        "c2Nhbm5lckBleGFtcGxlLmNvbQ==\r\n".to_string(),
        "334 UGFzc3dvcmQ6\r\n".to_string(),
        "YWJjZGVmZ2hpamtsbW5vcA==\r\n".to_string(),
        format!("535-5.7.8 Username and Password not accepted. For more information, go to\r\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials {gsid} - gsmtp\r\n"),
        "QUIT\r\n".to_string(),
        format!("221 2.0.0 closing connection {gsid} - gsmtp\r\n"),
    ];
    let mut tls = sealed(&[]);
    for (k, l) in lines.iter().enumerate() {
        let side = if k % 2 == 0 {
            Side::Server
        } else {
            Side::Client
        };
        let mut t = SealedTurn::new(
            side,
            10 + k as u64,
            len(l) as u32 + 24,
            Timestamp::default(),
        );
        t.last_frame = t.first_frame;
        tls.sealed.push(t);
    }
    let implicit = Clear {
        ehlo: None,
        pipelining: false,
        size_limit: None,
        host: None,
        greeting: None,
    };
    let i = read(&tls, &implicit, Family::Gmail, &finding);
    assert_eq!(label(&i), "rejected/auth", "{i:?}");
    assert_eq!(i.finding, Some(FindingId::AuthFailed));
    assert_eq!(i.mechanism, Some(Mechanism::Login));
    // Its entries start with the greeting read inside TLS.
    assert!(matches!(
        &i.entries[0].kind,
        EntryKind::Reply { code: 220, answers: Some(a), .. } if a.command == Answered::Greeting
    ));
    // The same session without a fixed-length command alone in a turn (AUTH LOGIN sent
    // with the user name) has nothing to calibrate on.
    let mut merged = tls.clone();
    merged.sealed.remove(4);
    merged.sealed.remove(3);
    let user = len("AUTH LOGIN c2Nhbm5lckBleGFtcGxlLmNvbQ==\r\n") as u32 + 24;
    merged.sealed.insert(
        3,
        SealedTurn::new(Side::Client, 13, user, Timestamp::default()),
    );
    merged.sealed.truncate(9);
    let i = read(&merged, &implicit, Family::Gmail, &finding);
    assert_eq!(label(&i), "declined no-calibration", "{i:?}");
    assert!(i.entries.is_empty());
}

#[test]
fn a_blind_client_that_sends_on_after_a_refused_login_is_read_up_to_the_refusal() {
    // Postfix: AUTH LOGIN, the user name, the password refused (`535 5.7.8 Error:
    // authentication failed: (reason unavailable)`, 62 bytes), then the client sends its
    // MAIL, RCPT, DATA and a 6 KB message without reading the answer: no client that read
    // the refusal sends that, so the refusal decided and what followed is not read.
    let refusal = "535 5.7.8 Error: authentication failed: (reason unavailable)\r\n".len() as u64;
    let tls = after_login(refusal, &[&[31, 28, 6, 6000], &[40]]);
    // No PIPELINING offered: nothing but a blind client sends MAIL with the rest.
    let i = read(&tls, &clear(EHLO, false), Family::Postfix, &finding);
    assert_eq!(label(&i), "rejected/auth", "{i:?}");
    assert_eq!(i.finding, Some(FindingId::AuthFailed));
    assert!(
        i.steps
            .last()
            .is_some_and(|s| s.meaning.contains("blind client")),
        "{:?}",
        i.steps
    );
    // The entries stop at the refusal.
    assert!(i.entries.iter().all(|e| e.frame <= 17), "{:?}", i.entries);
    // The same turns with the password accepted (`235 2.7.0 Authentication successful`,
    // 37 bytes): the 6 KB turn is the client's message, sent as one; not a blind client.
    let accepted = after_login(37, &[&[31, 28, 6, 6000], &[40]]);
    let i = read(&accepted, &clear(EHLO, false), Family::Postfix, &finding);
    assert!(
        !i.steps.iter().any(|s| s.meaning.contains("blind")),
        "{i:?}"
    );
}

#[test]
fn a_blind_client_is_read_where_the_servers_texts_fit_its_answers() {
    // Exim: the password refused (`535 Incorrect authentication data`, 35 bytes); the
    // client sends on, each line after the answer: MAIL (`250 OK`, 8), RCPT (`550 relay
    // not permitted`, 25), DATA (the three-line 503, 121), then its message all the same,
    // which the server reads as commands (three `500 unrecognized command`, 78: not read).
    let turns = [
        &[31][..],
        &[8],
        &[28],
        &[25],
        &[6],
        &[121],
        &[8388],
        &[78],
        &[6],
        &[41],
    ];
    let tls = after_login(35, &turns);
    let i = read(&tls, &clear(EHLO, true), Family::Exim, &finding);
    assert_eq!(label(&i), "rejected/auth", "{i:?}");
    // The readings part on the recipient's refusal text only: the login's cause is one.
    let cause = i.finding.or_else(|| match &i.open_cause {
        Some(c) if c.candidates.len() == 1 => c.candidates.first().copied(),
        _ => None,
    });
    assert_eq!(cause, Some(FindingId::AuthFailed), "{:?}", i.open_cause);
    // The MAIL that followed the refusal says the client went on without reading it.
    let mail = i.steps.iter().find(|s| s.meaning.starts_with("MAIL FROM"));
    assert!(
        mail.is_some_and(|s| s.meaning.contains("sent after the refusal")),
        "{:?}",
        i.steps
    );
    // The same turns where the MAIL's answer is no text of Exim's: not read.
    let mut odd = turns;
    odd[1] = &[9];
    let tls = after_login(35, &odd);
    let i = read(&tls, &clear(EHLO, true), Family::Exim, &finding);
    assert!(i.outcome.is_none() && i.declined.is_some(), "{i:?}");
    // And on a CBC suite (a range per record) it is not read as blind at all.
    let login: [&[u64]; 8] = [&[EHLO], &[178], &[12], &[18], &[26], &[18], &[22], &[35]];
    let all: Vec<&[u64]> = login.into_iter().chain(turns).collect();
    let ranged = sealed_cbc(&all);
    let i = read(&ranged, &clear(EHLO, true), Family::Exim, &finding);
    assert_ne!(label(&i), "rejected/auth", "{i:?}");
}
