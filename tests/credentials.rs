//! Credentials in clear, judged by mechanism: what can be replayed (a password, a bearer
//! token, an NTLM version 1 response, an unknown mechanism's data) is an error; a
//! challenge-response digest (CRAM-MD5, DIGEST-MD5, SCRAM, NTLM version 2, APOP) a warning;
//! GSSAPI, EXTERNAL and ANONYMOUS nothing. In SMTP and POP3 alike, the secret never
//! reaches an output and the ladder names the mechanism.

mod common;

use std::io::Cursor;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::craft::Capture;
use smtpcap::internals::analysis::analyze_bytes;
use smtpcap::internals::diagnosis::{diagnose, Severity};

const CLIENT: ([u8; 4], u16) = ([192, 168, 1, 50], 40000);
const SMTP: ([u8; 4], u16) = ([192, 168, 1, 10], 25);
const POP3: ([u8; 4], u16) = ([192, 168, 1, 10], 110);
/// The secret each exchange carries (or derives its digest from); never in any output.
const SECRET: &str = "Tr0ub4dor&3";

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// An NTLM AUTHENTICATE message for user `scanner` with an NT response of `nt_len` bytes.
fn ntlm_type3(nt_len: usize) -> Vec<u8> {
    let user: Vec<u8> = "scanner"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let lm = vec![0x11u8; 24];
    let nt = vec![0x22u8; nt_len];
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend(3u32.to_le_bytes());
    let mut at = 64u32;
    let mut field = |m: &mut Vec<u8>, len: usize| {
        m.extend((len as u16).to_le_bytes());
        m.extend((len as u16).to_le_bytes());
        m.extend(at.to_le_bytes());
        at += len as u32;
    };
    field(&mut m, lm.len()); // LM response
    field(&mut m, nt.len()); // NT response
    field(&mut m, 0); // domain
    field(&mut m, user.len()); // user
    field(&mut m, 0); // workstation
    field(&mut m, 0); // session key
    m.extend(1u32.to_le_bytes()); // flags: Unicode
    assert_eq!(m.len(), 64);
    m.extend(lm);
    m.extend(nt);
    m.extend(user);
    m
}

fn smtp_with(auth: &[String]) -> Vec<String> {
    let mut turns: Vec<String> = [
        "S: 220 mail.example.test ESMTP Postfix",
        "C: EHLO MX-4070N",
        "S: 250-mail.example.test",
        "S: 250-AUTH LOGIN PLAIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256 NTLM GSSAPI EXTERNAL ANONYMOUS XOAUTH2 OAUTHBEARER X-SECRET",
        "S: 250 8BITMIME",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    turns.extend(auth.iter().cloned());
    turns.extend(
        common::craft::ENVELOPE_AND_MESSAGE
            .iter()
            .map(ToString::to_string),
    );
    turns
}

struct Case {
    name: &'static str,
    auth: Vec<String>,
    /// The credentials finding and its severity, if any.
    want: Option<(&'static str, Severity)>,
    /// What the ladder and the text say of the line that carried the secret.
    says: &'static str,
}

fn smtp_replayable_cases() -> Vec<Case> {
    let c = |s: &str| format!("C: {s}");
    let s = |s: &str| format!("S: {s}");
    vec![
        Case {
            name: "LOGIN",
            auth: vec![
                c("AUTH LOGIN"),
                s(&format!("334 {}", b64(b"Username:"))),
                c(&b64(b"scanner@example.test")),
                s(&format!("334 {}", b64(b"Password:"))),
                c(&b64(SECRET.as_bytes())),
                s("235 2.7.0 Authentication successful"),
            ],
            want: Some(("cleartext-credentials", Severity::Error)),
            says: "password withheld",
        },
        Case {
            name: "PLAIN",
            auth: vec![
                c(&format!(
                    "AUTH PLAIN {}",
                    b64(format!("\0scanner\0{SECRET}").as_bytes())
                )),
                s("235 2.7.0 Authentication successful"),
            ],
            want: Some(("cleartext-credentials", Severity::Error)),
            says: "password withheld",
        },
        Case {
            name: "XOAUTH2",
            auth: vec![
                c(&format!(
                    "AUTH XOAUTH2 {}",
                    b64(
                        format!("user=scanner@example.test\x01auth=Bearer {SECRET}\x01\x01")
                            .as_bytes()
                    )
                )),
                s("235 2.7.0 Authentication successful"),
            ],
            want: Some(("cleartext-credentials", Severity::Error)),
            says: "token withheld",
        },
        Case {
            name: "OAUTHBEARER",
            auth: vec![
                c(&format!(
                    "AUTH OAUTHBEARER {}",
                    b64(
                        format!("n,a=scanner@example.test,\x01auth=Bearer {SECRET}\x01\x01")
                            .as_bytes()
                    )
                )),
                s("235 2.7.0 Authentication successful"),
            ],
            want: Some(("cleartext-credentials", Severity::Error)),
            says: "token withheld",
        },
    ]
}

fn smtp_digest_cases() -> Vec<Case> {
    let digest = "3c6e0b8a9c15224a8228b9a98ca1531d";
    let c = |s: &str| format!("C: {s}");
    let s = |s: &str| format!("S: {s}");
    vec![
        Case {
            name: "CRAM-MD5",
            auth: vec![
                c("AUTH CRAM-MD5"),
                s(&format!("334 {}", b64(b"<1896.697170952@mail.example.test>"))),
                c(&b64(format!("scanner {digest}").as_bytes())),
                s("235 2.7.0 Authentication successful"),
            ],
            want: Some(("cleartext-challenge-response", Severity::Warning)),
            says: "digest withheld",
        },
        Case {
            name: "DIGEST-MD5",
            auth: vec![
                c("AUTH DIGEST-MD5"),
                s(&format!(
                    "334 {}",
                    b64(b"realm=\"example.test\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",algorithm=md5-sess,charset=utf-8")
                )),
                c(&b64(format!("charset=utf-8,username=\"scanner\",realm=\"example.test\",nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\",digest-uri=\"smtp/mail.example.test\",response={digest},qop=auth").as_bytes())),
                s(&format!("334 {}", b64(b"rspauth=ea40f60335c427b5527b84dbabcdfffd"))),
                c(""),
                s("235 2.7.0 Authentication successful"),
            ],
            want: Some(("cleartext-challenge-response", Severity::Warning)),
            says: "digest withheld",
        },
        Case {
            name: "SCRAM-SHA-256",
            auth: vec![
                c(&format!("AUTH SCRAM-SHA-256 {}", b64(b"n,,n=scanner,r=rOprNGfwEbeRWgbNEkqO"))),
                s(&format!(
                    "334 {}",
                    b64(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
                )),
                c(&b64(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")),
                s(&format!("334 {}", b64(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))),
                c(""),
                s("235 2.7.0 Authentication successful"),
            ],
            want: Some(("cleartext-challenge-response", Severity::Warning)),
            says: "digest withheld",
        },
        Case {
            name: "NTLMv2",
            auth: vec![
                c(&format!("AUTH NTLM {}", b64(b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2"))),
                s(&format!("334 {}", b64(b"NTLMSSP\0\x02\0\0\0challenge"))),
                c(&b64(&ntlm_type3(72))),
                s("235 2.7.0 Authentication successful"),
            ],
            want: Some(("cleartext-challenge-response", Severity::Warning)),
            says: "digest withheld",
        },
        Case {
            name: "NTLMv1",
            auth: vec![
                c(&format!("AUTH NTLM {}", b64(b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2"))),
                s(&format!("334 {}", b64(b"NTLMSSP\0\x02\0\0\0challenge"))),
                c(&b64(&ntlm_type3(24))),
                s("235 2.7.0 Authentication successful"),
            ],
            want: Some(("cleartext-credentials", Severity::Error)),
            says: "NTLMv1 response withheld",
        },
        Case {
            name: "GSSAPI",
            auth: vec![
                c("AUTH GSSAPI"),
                s("334 "),
                c(&b64(&[0x60, 0x82, 0x02, 0x1d, 0x06, 0x09, 0x2a, 0x86, 0x48])),
                s("235 2.7.0 Authentication successful"),
            ],
            want: None,
            says: "security token withheld",
        },
        Case {
            name: "EXTERNAL",
            auth: vec![c("AUTH EXTERNAL ="), s("235 2.7.0 Authentication successful")],
            want: None,
            says: "AUTH EXTERNAL",
        },
        Case {
            name: "ANONYMOUS",
            auth: vec![
                c(&format!("AUTH ANONYMOUS {}", b64(b"copier trace"))),
                s("235 2.7.0 Authentication successful"),
            ],
            want: None,
            says: "security token withheld",
        },
        Case {
            name: "an unknown mechanism",
            auth: vec![
                c(&format!("AUTH X-SECRET {}", b64(SECRET.as_bytes()))),
                s("235 2.7.0 Authentication successful"),
            ],
            want: Some(("cleartext-credentials", Severity::Error)),
            says: "credential data withheld",
        },
    ]
}

fn pop3_cases() -> Vec<Case> {
    let c = |s: &str| format!("C: {s}");
    let s = |s: &str| format!("S: {s}");
    vec![
        Case {
            name: "POP3 USER/PASS",
            auth: vec![
                c("USER scanner"),
                s("+OK"),
                c(&format!("PASS {SECRET}")),
                s("+OK Logged in."),
            ],
            want: Some(("cleartext-credentials", Severity::Error)),
            says: "password withheld",
        },
        Case {
            name: "POP3 APOP",
            auth: vec![
                c("APOP scanner c4c9334bac560ecc979e58001b3e22fb"),
                s("+OK Logged in."),
            ],
            want: Some(("cleartext-challenge-response", Severity::Warning)),
            says: "digest withheld",
        },
        Case {
            name: "POP3 AUTH CRAM-MD5",
            auth: vec![
                c("AUTH CRAM-MD5"),
                s(&format!("+ {}", b64(b"<1896.697170952@mail.example.test>"))),
                c(&b64(b"scanner 3c6e0b8a9c15224a8228b9a98ca1531d")),
                s("+OK Logged in."),
            ],
            want: Some(("cleartext-challenge-response", Severity::Warning)),
            says: "digest withheld",
        },
        Case {
            name: "POP3 AUTH PLAIN",
            auth: vec![
                c(&format!(
                    "AUTH PLAIN {}",
                    b64(format!("\0scanner\0{SECRET}").as_bytes())
                )),
                s("+OK Logged in."),
            ],
            want: Some(("cleartext-credentials", Severity::Error)),
            says: "password withheld",
        },
    ]
}

/// The capture, its credentials finding (id, severity) and every output.
fn run(turns: &[String], pop3: bool) -> (Option<(String, Severity)>, Vec<String>) {
    let mut cap = Capture::new();
    if pop3 {
        let mut pop: Vec<String> =
            vec!["S: +OK Dovecot ready. <1896.697170952@mail.example.test>".into()];
        pop.extend(turns.iter().cloned());
        pop.extend(["C: QUIT".into(), "S: +OK Logging out.".into()]);
        let pop: Vec<&str> = pop.iter().map(String::as_str).collect();
        cap.tcp(CLIENT, POP3, &pop);
        let smtp = smtp_with(&[]);
        let smtp: Vec<&str> = smtp.iter().map(String::as_str).collect();
        cap.tcp(([192, 168, 1, 50], 40001), SMTP, &smtp);
    } else {
        let smtp = smtp_with(turns);
        let smtp: Vec<&str> = smtp.iter().map(String::as_str).collect();
        cap.tcp(CLIENT, SMTP, &smtp);
    }
    let a = analyze_bytes("crafted", Cursor::new(cap.pcap()));
    assert!(a.error.is_none(), "{:?}", a.error);
    let d = diagnose(&a);
    let found: Vec<(String, Severity)> = d
        .session_findings
        .iter()
        .flatten()
        .filter(|f| f.id.as_str().starts_with("cleartext-"))
        .map(|f| (f.id.as_str().to_string(), f.severity))
        .collect();
    assert!(found.len() <= 1, "{found:?}");
    (found.into_iter().next(), common::render_all(&a))
}

#[test]
fn each_mechanism_in_clear_is_judged_by_what_it_exposes() {
    let mut wrong = Vec::new();
    for (case, pop3) in smtp_replayable_cases()
        .into_iter()
        .chain(smtp_digest_cases())
        .map(|c| (c, false))
        .chain(pop3_cases().into_iter().map(|c| (c, true)))
    {
        let (got, outputs) = run(&case.auth, pop3);
        let want = case.want.map(|(id, sev)| (id.to_string(), sev));
        if got != want {
            wrong.push(format!("{}: {got:?}, want {want:?}", case.name));
        }
        for (i, out) in outputs.iter().enumerate() {
            for form in [SECRET.to_string(), b64(SECRET.as_bytes())] {
                assert!(
                    !out.contains(&form),
                    "{}: output {i} holds the secret",
                    case.name
                );
            }
        }
        if !outputs[0].contains(case.says) {
            wrong.push(format!(
                "{}: the text does not say `{}`",
                case.name, case.says
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
