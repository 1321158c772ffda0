//! Severity from the facts of the session, not from the finding's name: an error is the
//! cause of this failure, something that will make delivery fail, or a credential
//! exposed; what was unsupported or risky but worked this time is a warning.

use std::net::IpAddr;

use super::catalogue::{FindingId, Severity};
use super::server::{Endpoint, ServerIdentity};
use super::{Evidence, Finding, Outcome};

/// Findings made from a refusal reply.
const REFUSALS: &[FindingId] = &[
    FindingId::RelayDenied,
    FindingId::MustStarttls,
    FindingId::NotAuthenticated,
    FindingId::AuthNotOffered,
    FindingId::AuthFailed,
    FindingId::SmtpAuthDisabled,
    FindingId::AppPasswordRequired,
    FindingId::BasicAuthRetired,
    FindingId::SendAsDenied,
    FindingId::SenderDomainUnknown,
    FindingId::RestrictedSender,
    FindingId::MailboxUnknown,
    FindingId::MailboxFull,
    FindingId::MessageTooLarge,
    FindingId::TooManyRecipients,
    FindingId::Greylisted,
    FindingId::RateLimited,
    FindingId::IpBlocklisted,
    FindingId::WrongRegion,
    FindingId::InvalidHelo,
    FindingId::ContentRejected,
    FindingId::TemporaryFailure,
    FindingId::Refused,
];

/// Errors a session whose message was accepted may still carry: an exposed password,
/// and the endpoint the supported configuration rules out (delivery through it is not
/// dependable).
const ERRORS_WHEN_DELIVERED: &[FindingId] =
    &[FindingId::CleartextCredentials, FindingId::MxEndpoint];

/// What the severities of a session's findings rest on.
pub struct SessionFacts<'a> {
    pub outcome: Outcome,
    /// The reply that decided a failure.
    pub deciding: Option<&'a Evidence>,
    pub server: &'a ServerIdentity,
    /// The server is on the site (private or link-local address, or the device's subnet).
    pub on_site: bool,
    /// A password or a message crossed the network in clear.
    pub sent_in_clear: bool,
}

/// Whether `server` is on the same site as `client`: RFC 1918, RFC 4193 and link-local
/// addresses, or the client's own subnet (taken as its /24, or /64 for IPv6).
pub fn on_site(client: IpAddr, server: IpAddr) -> bool {
    match (client, server) {
        (IpAddr::V4(c), IpAddr::V4(s)) => {
            s.is_private()
                || s.is_link_local()
                || s.is_loopback()
                || c.octets()[..3] == s.octets()[..3]
        }
        (IpAddr::V6(c), IpAddr::V6(s)) => {
            let seg = s.segments();
            (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || s.is_loopback()
                || c.segments()[..4] == seg[..4]
        }
        _ => false,
    }
}

/// Sets each finding's severity from the facts.
pub fn judge(findings: &mut [Finding], facts: &SessionFacts<'_>) {
    let exo_submission = facts.server.is_exchange_online()
        && matches!(
            facts.server.endpoint,
            Endpoint::Submission | Endpoint::LegacySubmission
        );
    // By frame and reply code, not by the whole text: a finding may quote the reply
    // differently (a frame can also hold several pipelined replies: the code tells).
    let decides = |f: &Finding| {
        facts.deciding.is_some_and(|d| {
            let code = |t: &str| t.split_whitespace().next().map(str::to_owned);
            f.evidence
                .iter()
                .any(|e| e.frame == d.frame && (e.text == d.text || code(&e.text) == code(&d.text)))
        })
    };
    // "Must issue a STARTTLS command first" decided it: not using STARTTLS is the cause.
    let tls_required = findings
        .iter()
        .any(|f| f.id == FindingId::MustStarttls && decides(f));
    for f in findings.iter_mut() {
        if f.severity == Severity::Info {
            continue;
        }
        let decided = decides(f);
        let mut severity = match f.id {
            // A refused POP3 login fails no mail by itself (POP before SMTP is the finding).
            FindingId::Pop3LoginRefused => Severity::Warning,
            // The reply that decided the failure explains it.
            _ if decided => Severity::Error,
            // A refusal the session got past, or that did not decide it.
            id if REFUSALS.contains(&id) => Severity::Warning,
            FindingId::NoStarttls => {
                if exo_submission || tls_required || (facts.sent_in_clear && !facts.on_site) {
                    Severity::Error
                } else {
                    Severity::Warning
                }
            }
            FindingId::TlsVersionTooOld => {
                if facts.server.is_exchange_online() || facts.outcome == Outcome::TlsFailed {
                    Severity::Error
                } else {
                    Severity::Warning
                }
            }
            _ => f.severity,
        };
        if facts.outcome == Outcome::Delivered && !ERRORS_WHEN_DELIVERED.contains(&f.id) {
            severity = severity.max(Severity::Warning);
        }
        f.severity = severity;
    }
}

#[cfg(test)]
mod tests {
    use super::super::server::{Provider, Software};
    use super::*;

    fn server(provider: Provider, endpoint: Endpoint) -> ServerIdentity {
        ServerIdentity {
            provider,
            software: Software::Unknown,
            endpoint,
            cloud: None,
            name: None,
            frame: None,
            source: "none",
        }
    }

    fn finding(id: FindingId, severity: Severity, frame: u64, text: &str) -> Finding {
        Finding {
            id,
            severity,
            title: "",
            explanation: "",
            remediation: String::new(),
            session: Some(1),
            evidence: vec![Evidence {
                frame,
                text: text.into(),
            }],
            superseded_by: None,
        }
    }

    /// A session an on-site server refused with `deciding`, nothing sent in clear.
    fn rejected_on_site<'a>(
        server: &'a ServerIdentity,
        deciding: &'a Evidence,
    ) -> SessionFacts<'a> {
        SessionFacts {
            outcome: Outcome::Rejected,
            deciding: Some(deciding),
            server,
            on_site: true,
            sent_in_clear: false,
        }
    }

    fn judged(mut f: Vec<Finding>, facts: &SessionFacts<'_>) -> Vec<(FindingId, Severity)> {
        judge(&mut f, facts);
        f.iter().map(|x| (x.id, x.severity)).collect()
    }

    #[test]
    fn a_delivered_message_through_a_site_relay_is_no_failure() {
        let relay = server(Provider::Other, Endpoint::Unknown);
        let facts = SessionFacts {
            outcome: Outcome::Delivered,
            deciding: None,
            server: &relay,
            on_site: true,
            sent_in_clear: true,
        };
        let got = judged(
            vec![
                finding(
                    FindingId::NoStarttls,
                    Severity::Error,
                    8,
                    "250-STARTTLS (offered)",
                ),
                finding(
                    FindingId::InvalidHelo,
                    Severity::Error,
                    6,
                    "501 5.5.4 Invalid domain name",
                ),
                finding(
                    FindingId::CleartextCredentials,
                    Severity::Error,
                    10,
                    "LOGIN password",
                ),
            ],
            &facts,
        );
        assert_eq!(
            got,
            [
                (FindingId::NoStarttls, Severity::Warning),
                (FindingId::InvalidHelo, Severity::Warning),
                (FindingId::CleartextCredentials, Severity::Error)
            ]
        );
    }

    #[test]
    fn the_reply_that_decided_a_failure_is_its_error() {
        let relay = server(Provider::Other, Endpoint::Unknown);
        let deciding = Evidence {
            frame: 14,
            text: "454 4.7.1 <x@example.org>: Relay access denied".into(),
        };
        let facts = rejected_on_site(&relay, &deciding);
        let got = judged(
            vec![
                finding(FindingId::RelayDenied, Severity::Error, 14, &deciding.text),
                finding(
                    FindingId::Greylisted,
                    Severity::Warning,
                    9,
                    "450 4.2.0 Greylisted",
                ),
                finding(
                    FindingId::NoStarttls,
                    Severity::Error,
                    8,
                    "250-STARTTLS (offered)",
                ),
            ],
            &facts,
        );
        assert_eq!(
            got,
            [
                (FindingId::RelayDenied, Severity::Error),
                (FindingId::Greylisted, Severity::Warning),
                (FindingId::NoStarttls, Severity::Warning)
            ]
        );
    }

    #[test]
    fn no_starttls_is_an_error_where_it_exposes_or_cannot_work() {
        let exo = server(Provider::ExchangeOnline, Endpoint::Submission);
        let remote = server(Provider::Other, Endpoint::Unknown);
        for (srv, on_site, in_clear, expected) in [
            (&exo, true, false, Severity::Error),
            (&remote, false, true, Severity::Error),
            (&remote, true, true, Severity::Warning),
            (&remote, false, false, Severity::Warning),
        ] {
            let facts = SessionFacts {
                outcome: Outcome::Incomplete,
                deciding: None,
                server: srv,
                on_site,
                sent_in_clear: in_clear,
            };
            let got = judged(
                vec![finding(FindingId::NoStarttls, Severity::Error, 8, "x")],
                &facts,
            );
            assert_eq!(
                got[0].1, expected,
                "{srv:?} on site {on_site} in clear {in_clear}"
            );
        }
    }

    #[test]
    fn the_site() {
        let c: IpAddr = "203.0.113.10".parse().unwrap();
        assert!(on_site(c, "10.1.2.3".parse().unwrap()));
        assert!(on_site(c, "192.168.1.5".parse().unwrap()));
        assert!(on_site(c, "203.0.113.25".parse().unwrap()));
        assert!(!on_site(c, "52.97.1.1".parse().unwrap()));
        let c6: IpAddr = "2001:db8::10".parse().unwrap();
        assert!(on_site(c6, "fd00::1".parse().unwrap()));
        assert!(on_site(c6, "2001:db8::25".parse().unwrap()));
        assert!(!on_site(c6, "2603:1026::1".parse().unwrap()));
    }

    #[test]
    fn no_starttls_is_the_cause_when_the_server_required_tls() {
        let relay = server(Provider::Other, Endpoint::Unknown);
        let deciding = Evidence {
            frame: 10,
            text: "530 5.7.0 Must issue a STARTTLS command first".into(),
        };
        let facts = rejected_on_site(&relay, &deciding);
        let got = judged(
            vec![
                finding(FindingId::MustStarttls, Severity::Error, 10, &deciding.text),
                finding(
                    FindingId::NoStarttls,
                    Severity::Error,
                    8,
                    "250-STARTTLS (offered)",
                ),
            ],
            &facts,
        );
        assert_eq!(
            got,
            [
                (FindingId::MustStarttls, Severity::Error),
                (FindingId::NoStarttls, Severity::Error)
            ]
        );
    }
}
