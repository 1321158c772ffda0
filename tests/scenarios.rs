//! Every scenario of the seed guide (Known Failure Scenarios, Common Misleading
//! Indicators) and every finding a capture can show, recorded from real clients, gets the
//! right outcome and exactly the right findings, with evidence that points at real frames.

mod common;

use smtpcap::internals::diagnosis::{diagnose, Severity};
use smtpcap::internals::dialogue::EntryKind;

struct Case {
    file: &'static str,
    /// Outcome of each SMTP session, with the stage of a rejection.
    outcomes: &'static [&'static str],
    /// Every error and warning finding, sorted.
    findings: &'static [&'static str],
}

const CASES: &[Case] = &[
    // Seed: MX endpoint on port 25 → message rejected; port 25 from an ISP → Spamhaus block;
    // misleading: MAIL FROM accepted does not guarantee recipient acceptance.
    Case {
        file: "mx-port25-spamhaus.pcap",
        outcomes: &["rejected/rcpt"],
        findings: &["ip-blocklisted", "mx-endpoint", "no-starttls"],
    },
    // Seed: SMTP authentication enabled on MX → authentication failure.
    Case {
        file: "auth-on-mx.pcap",
        outcomes: &["rejected/auth"],
        findings: &["auth-not-offered", "mx-endpoint", "no-starttls"],
    },
    // Seed: STARTTLS without authentication → rejected (inside TLS: read from the length of
    // the encrypted answer to MAIL).
    Case {
        file: "starttls-without-auth.pcap",
        outcomes: &["rejected/mail"],
        findings: &["not-authenticated"],
    },
    // Seed: correct port 587 configuration → supported and reliable: no error or warning.
    Case {
        file: "supported-587.pcap",
        outcomes: &["delivered"],
        // Supported today; Basic authentication is being switched off (a warning).
        findings: &["basic-auth-deadline"],
    },
    // Misleading: connection test succeeded → TCP connectivity only.
    Case {
        file: "connection-test.pcap",
        outcomes: &["test-only"],
        findings: &[],
    },
    Case {
        file: "ssl-disabled-auth-on.pcap",
        outcomes: &["rejected/mail"],
        findings: &["auth-not-offered", "no-starttls", "not-authenticated"],
    },
    Case {
        file: "mx-relay-denied.pcap",
        outcomes: &["rejected/rcpt"],
        findings: &["mx-endpoint", "no-starttls", "relay-denied"],
    },
    Case {
        file: "mx-wrong-region.pcap",
        outcomes: &["rejected/rcpt"],
        findings: &["mx-endpoint", "no-starttls", "wrong-region"],
    },
    Case {
        file: "implicit-tls-465.pcap",
        outcomes: &["tls-failed"],
        findings: &["implicit-tls-port", "tls-handshake-failed"],
    },
    Case {
        file: "connection-refused.pcap",
        outcomes: &["no-connection"],
        findings: &["connection-refused"],
    },
    Case {
        file: "port-blocked.pcap",
        outcomes: &["no-connection"],
        findings: &["mx-endpoint", "port-blocked"],
    },
    Case {
        file: "dns-typo.pcap",
        outcomes: &[],
        findings: &["dns-failure"],
    },
    Case {
        file: "pop-before-smtp.pcap",
        outcomes: &["delivered"],
        findings: &[
            "basic-auth-deadline",
            "cleartext-credentials",
            "pop-before-smtp",
            "pop3-login-refused",
        ],
    },
    Case {
        file: "invalid-helo.pcap",
        outcomes: &["rejected/helo"],
        findings: &["invalid-helo"],
    },
    Case {
        file: "tls-too-old.pcap",
        outcomes: &["tls-failed"],
        findings: &["tls-version-too-old"],
    },
    Case {
        file: "lab-auth-failed.pcap",
        outcomes: &["rejected/auth"],
        findings: &["auth-failed", "cleartext-credentials"],
    },
    Case {
        file: "lab-auth-disabled.pcap",
        outcomes: &["rejected/auth"],
        findings: &["cleartext-credentials", "smtp-auth-disabled"],
    },
    Case {
        file: "lab-basic-retired.pcap",
        outcomes: &["rejected/auth"],
        findings: &["basic-auth-retired", "cleartext-credentials"],
    },
    Case {
        file: "lab-send-as-denied.pcap",
        outcomes: &["rejected/mail"],
        findings: &["cleartext-credentials", "send-as-denied"],
    },
    Case {
        file: "lab-concurrent.pcap",
        outcomes: &["rejected/mail"],
        findings: &["cleartext-credentials", "rate-limited"],
    },
    Case {
        file: "lab-restricted-sender.pcap",
        outcomes: &["rejected/mail"],
        findings: &["cleartext-credentials", "restricted-sender"],
    },
    // tcpdump -s 80: every command and reply is cut, but their starts (and the 250 after
    // the message) are there.
    // The greeting, the EHLO list and the DNS answer are cut too: the role and STARTTLS cannot be told.
    Case {
        file: "snaplen-80.pcap",
        outcomes: &["delivered"],
        findings: &["capture-truncated"],
    },
];

#[test]
fn every_scenario_gets_its_outcome_and_findings() {
    let mut problems = Vec::new();
    for c in CASES {
        let a = common::analyze(format!("samples/scenarios/{}", c.file).as_ref());
        let d = diagnose(&a);
        let outcomes: Vec<String> = a
            .sessions
            .iter()
            .zip(&d.sessions)
            .filter(|(s, _)| s.protocol == smtpcap::internals::analysis::Protocol::Smtp)
            .map(|(_, sd)| match sd.stage {
                Some(st) => format!("{}/{}", sd.outcome.name(), st.name()),
                None => sd.outcome.name().to_string(),
            })
            .collect();
        let mut ids: Vec<&str> = d
            .findings()
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .map(|f| f.id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if outcomes != c.outcomes || ids != c.findings {
            problems.push(format!(
                "{}: outcomes {outcomes:?} findings {ids:?}",
                c.file
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn evidence_points_at_frames_that_hold_it() {
    for s in common::samples() {
        let a = common::analyze(&s);
        let d = diagnose(&a);
        for f in d.findings() {
            assert!(
                !f.evidence.is_empty(),
                "{}: {} has no evidence",
                s.display(),
                f.id
            );
            for e in &f.evidence {
                assert!(
                    e.frame >= 1 && e.frame <= a.packets,
                    "{}: {} frame {}",
                    s.display(),
                    f.id,
                    e.frame
                );
                // A quoted reply is in the dialogue at exactly that frame.
                if e.text.len() > 4
                    && e.text.as_bytes()[..3].iter().all(u8::is_ascii_digit)
                    && e.text.as_bytes()[3] == b' '
                {
                    let found = a.sessions.iter().flat_map(|x| &x.dialogue).any(|en| {
                        en.frame == e.frame && matches!(&en.kind, EntryKind::Reply { lines, .. } if lines.contains(&e.text))
                    });
                    assert!(
                        found,
                        "{}: {}: {:?} is not at frame {}",
                        s.display(),
                        f.id,
                        e.text,
                        e.frame
                    );
                }
            }
        }
    }
}

#[test]
fn the_supported_configuration_has_no_error_finding() {
    let a = common::analyze("samples/scenarios/supported-587.pcap".as_ref());
    let d = diagnose(&a);
    assert!(!d.has_errors());
    let s = &a.sessions[0];
    assert_eq!(
        s.dns_name.as_ref().map(|n| n.name.as_str()),
        Some("smtp.office365.com")
    );
    assert_eq!(
        d.sessions[0].server_role,
        smtpcap::internals::diagnosis::ServerRole::ExoSubmission
    );
    let tls = s.tls.as_ref().unwrap();
    assert!(tls.established);
    assert_eq!(
        tls.server_hello.as_ref().unwrap().version.to_string(),
        "TLS 1.3"
    );
}
