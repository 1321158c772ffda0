//! Verdicts a technician can trust, over every sample and public capture: every refusal
//! that decided a failure is explained by a finding citing its frame; a session whose
//! message was accepted carries no error but an exposed password or the MX endpoint;
//! Microsoft 365 advice is given only for Exchange Online servers.

mod common;

use smtpcap::internals::diagnosis::{diagnose, Outcome, Severity};

fn all_captures() -> Vec<std::path::PathBuf> {
    let mut v = common::samples();
    v.extend(common::public_captures());
    v
}

#[test]
fn every_deciding_refusal_is_cited_by_a_finding() {
    let mut checked = 0;
    for path in all_captures() {
        let a = common::analyze(&path);
        let d = diagnose(&a);
        for (i, sd) in d.sessions.iter().enumerate() {
            let Some(reply) = &sd.deciding_reply else {
                continue;
            };
            checked += 1;
            let cited = d.session_findings[i]
                .iter()
                .chain(&d.capture_findings)
                .any(|f| f.evidence.iter().any(|e| e.frame == reply.frame));
            assert!(
                cited,
                "{} session {}: {:?} (frame {}) is cited by no finding",
                path.display(),
                a.sessions[i].id,
                reply.text,
                reply.frame
            );
            // And the finding that cites it leads the session's findings.
            let first = d.session_findings[i].first().map(|f| f.id);
            let leads = d.session_findings[i]
                .first()
                .is_some_and(|f| f.evidence.iter().any(|e| e.frame == reply.frame));
            assert!(leads, "{}: first finding {first:?}", path.display());
        }
    }
    assert!(checked >= 20, "only {checked} rejected sessions");
}

#[test]
fn a_delivered_message_carries_no_error_but_an_exposed_password_or_the_mx_endpoint() {
    for path in all_captures() {
        let a = common::analyze(&path);
        let d = diagnose(&a);
        for (i, sd) in d.sessions.iter().enumerate() {
            if sd.outcome != Outcome::Delivered {
                continue;
            }
            for f in &d.session_findings[i] {
                assert!(
                    f.severity != Severity::Error
                        || f.id == "cleartext-credentials"
                        || f.id == "mx-endpoint",
                    "{} session {}: {} is an error on a delivered message",
                    path.display(),
                    a.sessions[i].id,
                    f.id
                );
            }
        }
    }
}

#[test]
fn microsoft_365_advice_only_for_exchange_online() {
    let words = [
        "Exchange Online",
        "Microsoft 365",
        "office365",
        "tenant",
        "Exchange admin",
    ];
    let mut other_servers = 0;
    for path in all_captures() {
        let a = common::analyze(&path);
        let d = diagnose(&a);
        for (i, sd) in d.sessions.iter().enumerate() {
            if sd.server_identity.is_exchange_online() {
                continue;
            }
            other_servers += 1;
            for f in &d.session_findings[i] {
                let text = format!("{} {} {}", f.title, f.explanation, f.remediation);
                for w in words {
                    assert!(
                        !text.contains(w),
                        "{} session {} ({}): {} speaks of {w}: {text}",
                        path.display(),
                        a.sessions[i].id,
                        sd.server_identity.label(),
                        f.id
                    );
                }
            }
        }
    }
    if common::public_dir().is_some() {
        assert!(other_servers >= 20, "only {other_servers} other servers");
    }
}

#[test]
fn every_catalogue_entry_has_words_for_other_servers_or_is_only_for_exchange_online() {
    use smtpcap::internals::diagnosis::CATALOGUE;
    for k in CATALOGUE {
        if k.exchange_online_only {
            continue;
        }
        let t = k.texts(false);
        let text = format!("{} {} {}", t.title, t.explanation, t.remediation);
        for w in [
            "Exchange Online",
            "Microsoft 365",
            "tenant",
            "smtp.office365.com",
        ] {
            assert!(!text.contains(w), "{}: {w} in {text}", k.id);
        }
    }
}

/// A real Postfix (Debian's 3.7) as the site relay, recorded by
/// `scripts/record-samples.sh --postfix`: each capture's verdict, and why.
#[test]
fn a_real_postfix_relay_is_read_as_postfix_means_it() {
    let cases = [
        // defer_unauth_destination, the default: a 4xx, but a policy, not "retry later".
        (
            "relay-deferred-454.pcap",
            "FAIL: rejected at RCPT: 454 4.7.1 <someone@example.org>: Relay access denied",
            "relay-denied",
        ),
        (
            "relay-rejected-554.pcap",
            "FAIL: rejected at RCPT: 554 5.7.1 <someone@example.org>: Relay access denied",
            "relay-denied",
        ),
        (
            "starttls-required-530.pcap",
            "FAIL: rejected at MAIL: 530 5.7.0 Must issue a STARTTLS command first",
            "must-starttls",
        ),
        // smtpd_delay_reject: the HELO refusal comes at RCPT.
        (
            "helo-not-fqdn-504.pcap",
            "FAIL: rejected at RCPT: 504 5.5.2 <MX-4070N>: Helo command rejected: need fully-qualified hostname",
            "invalid-helo",
        ),
        (
            "message-too-large-552.pcap",
            "FAIL: rejected at DATA: 552 5.3.4 Error: message file too big",
            "message-too-large",
        ),
        // A site relay in clear works: delivered, STARTTLS unused is a warning only.
        (
            "relay-delivers-clear.pcap",
            "DELIVERED: a message was accepted, but not the supported configuration: STARTTLS offered but never used [no-starttls] (warning)",
            "no-starttls",
        ),
        (
            // Read from the record lengths against Postfix's texts: no finding at all.
            "relay-delivers-starttls.pcap",
            "DELIVERED (inferred from the encrypted record lengths)",
            "",
        ),
    ];
    for (file, verdict, first) in cases {
        let a = common::analyze(format!("samples/postfix/{file}").as_ref());
        let d = diagnose(&a);
        let v = format!("VERDICT: {}", smtpcap::verdict_line(&d.verdict()));
        assert!(v.starts_with(&format!("VERDICT: {verdict}")), "{file}: {v}");
        let findings = d.findings();
        assert_eq!(
            findings.first().map(|f| f.id.as_str()),
            (!first.is_empty()).then_some(first),
            "{file}"
        );
        let sd = &d.sessions[0];
        assert_eq!(
            sd.server_identity.software,
            smtpcap::internals::diagnosis::server::Software::Postfix,
            "{file}"
        );
        assert!(!sd.server_identity.is_exchange_online());
    }
}
