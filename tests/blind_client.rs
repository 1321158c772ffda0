//! A client that does not read the answers (some copier firmware) sends MAIL, RCPT, DATA
//! and its message after a refused login. The server refuses what follows for want of the
//! login (Exim and Postfix accept MAIL and refuse the recipient as relaying; Exchange
//! Online refuses MAIL as not authenticated): the login's refusal decides, in clear text
//! as inside TLS. A refused AUTH command (504, AUTH not offered) stands for nothing more:
//! the later refusal decides, as the configuration guide's "SSL off" scenario shows.

mod common;

use smtpcap::internals::diagnosis::{Outcome, Stage};

fn decided(after_login: &[&str]) -> (Outcome, Option<Stage>, String) {
    let mut turns = vec![
        "S: 220 mail.example.test ESMTP Exim 4.96",
        "C: EHLO MX-4070N.example.test",
        "S: 250-mail.example.test Hello",
        "S: 250 AUTH PLAIN LOGIN",
    ];
    turns.extend(after_login);
    turns.extend(["C: QUIT", "S: 221 mail.example.test closing connection"]);
    let d = common::diagnose_dialogue(&turns);
    let sd = &d.sessions[0];
    let text = sd
        .deciding_reply
        .as_ref()
        .map(|r| r.text.clone())
        .unwrap_or_default();
    (sd.outcome, sd.stage, text)
}

const REFUSED_LOGIN: [&str; 2] = [
    "C: AUTH PLAIN AG9mZmljZUBleGFtcGxlLnRlc3QAd3Jvbmc=",
    "S: 535 Incorrect authentication data",
];

#[test]
fn a_blind_client_refused_its_recipient_after_a_refused_login_is_refused_at_the_login() {
    let mut turns = REFUSED_LOGIN.to_vec();
    turns.extend([
        "C: MAIL FROM:<office@example.test>",
        "S: 250 OK",
        "C: RCPT TO:<scans@elsewhere.test>",
        "S: 550 relay not permitted",
        "C: DATA",
        "S: 503-All RCPT commands were rejected with this error:",
        "S: 503-relay not permitted",
        "S: 503 Valid RCPT command must precede DATA",
    ]);
    let (outcome, stage, text) = decided(&turns);
    assert_eq!(
        (outcome, stage),
        (Outcome::Rejected, Some(Stage::Auth)),
        "{text}"
    );
    assert!(text.contains("Incorrect authentication data"), "{text}");
}

#[test]
fn a_blind_client_refused_its_sender_after_a_refused_login_is_refused_at_the_login() {
    let mut turns = REFUSED_LOGIN.to_vec();
    turns.extend([
        "C: MAIL FROM:<office@example.test>",
        "S: 530 5.7.57 Client not authenticated to send mail.",
    ]);
    let (outcome, stage, text) = decided(&turns);
    assert_eq!(
        (outcome, stage),
        (Outcome::Rejected, Some(Stage::Auth)),
        "{text}"
    );
}

#[test]
fn a_recipient_taken_without_the_login_leaves_the_later_refusal_deciding() {
    // The server needed no login for this recipient: the message's refusal is the cause.
    let mut turns = REFUSED_LOGIN.to_vec();
    turns.extend([
        "C: MAIL FROM:<office@example.test>",
        "S: 250 OK",
        "C: RCPT TO:<scans@example.test>",
        "S: 250 Accepted",
        "C: DATA",
        "S: 354 Enter message, ending with \".\" on a line by itself",
        "C: Subject: scan",
        "C: ",
        "C: page",
        "C: .",
        "S: 550 Administrative prohibition",
    ]);
    let (outcome, stage, text) = decided(&turns);
    assert_eq!(
        (outcome, stage),
        (Outcome::Rejected, Some(Stage::Data)),
        "{text}"
    );
}

#[test]
fn a_login_accepted_on_a_retry_leaves_the_later_refusal_deciding() {
    let mut turns = REFUSED_LOGIN.to_vec();
    turns.extend([
        "C: AUTH PLAIN AG9mZmljZUBleGFtcGxlLnRlc3QAcmlnaHQ=",
        "S: 235 Authentication succeeded",
        "C: MAIL FROM:<office@example.test>",
        "S: 550 Administrative prohibition",
    ]);
    let (outcome, stage, _) = decided(&turns);
    assert_eq!((outcome, stage), (Outcome::Rejected, Some(Stage::Mail)));
}

#[test]
fn an_auth_command_refused_as_not_offered_leaves_the_later_refusal_deciding() {
    let (outcome, stage, text) = decided(&[
        "C: AUTH LOGIN",
        "S: 504 5.7.4 Unrecognized authentication type",
        "C: MAIL FROM:<office@example.test>",
        "S: 530 5.7.57 Client not authenticated to send mail.",
    ]);
    assert_eq!(
        (outcome, stage),
        (Outcome::Rejected, Some(Stage::Mail)),
        "{text}"
    );
    assert!(text.contains("5.7.57"), "{text}");
}
