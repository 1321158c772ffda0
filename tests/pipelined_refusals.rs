//! A pipelining client (RFC 2920) sends MAIL, RCPT and DATA together; when a recipient is
//! refused, the server refuses DATA as out of sequence too (Postfix `554 5.5.1 Error: no
//! valid recipients`, Exim `503 … Valid RCPT command must precede DATA`). That second
//! refusal follows from the first: the recipient's refusal decides, at RCPT.

mod common;

use smtpcap::internals::diagnosis::Stage;

fn decided(data_answer: &[&str]) -> (Option<Stage>, String, Vec<String>) {
    let mut turns = vec![
        "S: 220 mail.example.test ESMTP",
        "C: EHLO mx-4070n.example.test",
        "S: 250-mail.example.test",
        "S: 250 PIPELINING",
        "C: MAIL FROM:<scanner@example.test>",
        "C: RCPT TO:<office@elsewhere.test>",
        "C: DATA",
        "S: 250 2.1.0 Ok",
        "S: 554 5.7.1 <office@elsewhere.test>: Relay access denied",
    ];
    turns.extend(data_answer);
    turns.extend(["C: QUIT", "S: 221 2.0.0 Bye"]);
    let d = common::diagnose_dialogue(&turns);
    let sd = &d.sessions[0];
    let ids = d.session_findings[0]
        .iter()
        .map(|f| f.id.as_str().to_string())
        .collect();
    (
        sd.stage,
        sd.deciding_reply
            .as_ref()
            .map(|r| r.text.clone())
            .unwrap_or_default(),
        ids,
    )
}

#[test]
fn a_pipelined_data_refused_after_a_refused_recipient_leaves_the_recipient_deciding() {
    for data in [
        &["S: 554 5.5.1 Error: no valid recipients"][..],
        &["S: 503 Valid RCPT command must precede DATA"][..],
        &[
            "S: 503-All RCPT commands were rejected with this error:",
            "S: 503-<office@elsewhere.test>: Relay access denied",
            "S: 503 Valid RCPT command must precede DATA",
        ][..],
    ] {
        let (stage, text, ids) = decided(data);
        assert_eq!(stage, Some(Stage::Rcpt), "{data:?}: {text}");
        assert!(text.contains("Relay access denied"), "{data:?}: {text}");
        assert!(ids.iter().any(|i| i == "relay-denied"), "{data:?}: {ids:?}");
    }
}

#[test]
fn a_lone_out_of_sequence_refusal_still_decides() {
    // Nothing was refused before it: the 503 is the refusal that stopped the attempt.
    let d = common::diagnose_dialogue(&[
        "S: 220 mail.example.test ESMTP",
        "C: EHLO mx-4070n.example.test",
        "S: 250 mail.example.test",
        "C: DATA",
        "S: 503 5.5.1 Error: need RCPT command",
        "C: QUIT",
        "S: 221 2.0.0 Bye",
    ]);
    assert_eq!(d.sessions[0].stage, Some(Stage::Data));
}
