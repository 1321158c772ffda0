//! Stage 6: from what was observed to what is wrong and what to change.
//!
//! Per session: its transactions, its outcome (and the reply that decided it) and which
//! Microsoft 365 endpoint the server is. Per capture: findings from the catalogue, each
//! with the frames and quoted lines that prove it.

mod catalogue;
pub mod outcome;
mod role;

use serde::Serialize;

pub use catalogue::{kind, FindingKind, Severity, CATALOGUE, SHARP_SMTP, SUPPORTED};
pub use outcome::{Outcome, Stage, Transaction};
pub use role::{classify_name, ServerRole};

use crate::analysis::{Analysis, Protocol, Session};
use crate::dialogue::EntryKind;
use crate::tcp::{GapReason, Handshake};

/// A frame and the quoted line (or fact) in it that a finding rests on.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Evidence {
    pub frame: u64,
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub explanation: &'static str,
    pub remediation: String,
    /// The session it belongs to (`id`), or null for the capture as a whole.
    pub session: Option<usize>,
    pub evidence: Vec<Evidence>,
}

/// What the diagnosis adds to a session.
#[derive(Clone, Debug, Serialize)]
pub struct SessionDiagnosis {
    pub outcome: Outcome,
    /// For `rejected`: the stage the rejection happened at.
    pub stage: Option<Stage>,
    /// The reply that decided a rejection.
    pub deciding_reply: Option<Evidence>,
    pub server_role: ServerRole,
    /// The name the server was recognised by, and where it was seen.
    pub server_name: Option<String>,
    pub server_name_source: &'static str,
    pub transactions: Vec<Transaction>,
}

impl SessionDiagnosis {
    /// The outcome as the reports show it: `rejected at rcpt`, `delivered`, ….
    pub fn outcome_label(&self) -> String {
        match (self.outcome, self.stage) {
            (Outcome::Rejected, Some(stage)) => format!("rejected at {}", stage.name()),
            (o, _) => o.name().to_string(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Diagnosis {
    pub sessions: Vec<SessionDiagnosis>,
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// Drops the findings below `min` (info < warning < error).
    pub fn retain_min_severity(&mut self, min: Severity) {
        self.findings.retain(|f| f.severity <= min);
    }

    /// Whether a finding's fix is a setting on the device.
    pub fn device_side(id: &str) -> bool {
        DEVICE_SIDE.contains(&id)
    }
}

/// Ids whose fix is on the device (the others are tenant-side or about the capture).
const DEVICE_SIDE: &[&str] = &[
    "mx-endpoint",
    "no-starttls",
    "auth-not-offered",
    "cleartext-credentials",
    "not-authenticated",
    "auth-failed",
    "send-as-denied",
    "ip-blocklisted",
    "relay-denied",
    "tls-version-too-old",
    "tls-handshake-failed",
    "connection-refused",
    "implicit-tls-port",
    "dns-failure",
    "pop-before-smtp",
    "wrong-region",
    "invalid-helo",
];

struct Findings {
    list: Vec<Finding>,
}

impl Findings {
    fn add(&mut self, id: &'static str, session: Option<usize>, evidence: Vec<Evidence>) {
        let Some(k) = kind(id) else { return };
        if let Some(f) = self
            .list
            .iter_mut()
            .find(|f| f.id == id && f.session == session)
        {
            for e in evidence {
                if !f.evidence.contains(&e) {
                    f.evidence.push(e);
                }
            }
            return;
        }
        let remediation = if DEVICE_SIDE.contains(&id) {
            format!("{SHARP_SMTP} {}", k.remediation)
        } else {
            k.remediation.to_string()
        };
        self.list.push(Finding {
            id,
            severity: k.severity,
            title: k.title,
            explanation: k.explanation,
            remediation,
            session,
            evidence,
        });
    }
}

pub fn diagnose(a: &Analysis) -> Diagnosis {
    let mut findings = Findings { list: Vec::new() };
    let mut sessions = Vec::new();
    for s in &a.sessions {
        let txs = outcome::transactions(s);
        let (out, stage, deciding) = outcome::outcome(s, &txs);
        let deciding = deciding.map(|d| Evidence {
            frame: d.frame,
            text: d.line,
        });
        let mut clue = role::classify(s, s.dns_name.as_ref().map(|n| (n.name.as_str(), n.frame)));
        if s.protocol == Protocol::Pop3 {
            // The roles name SMTP endpoints; a POP3 server is none of them.
            clue.role = ServerRole::Other;
        }
        session_findings(
            &mut findings,
            s,
            out,
            clue.role,
            clue.frame,
            clue.name.as_deref(),
        );
        sessions.push(SessionDiagnosis {
            outcome: out,
            stage,
            deciding_reply: deciding,
            server_role: clue.role,
            server_name: clue.name,
            server_name_source: clue.source,
            transactions: txs,
        });
    }
    capture_findings(&mut findings, a, &sessions);
    let mut list = findings.list;
    list.sort_by_key(|f| (f.severity, f.session.unwrap_or(0)));
    Diagnosis {
        sessions,
        findings: list,
    }
}

/// Each reply of a session: (frame, code, enhanced code, lines, command answered).
fn replies(s: &Session) -> impl Iterator<Item = (u64, u16, &str, &[String], &str)> {
    s.dialogue.iter().filter_map(|e| match &e.kind {
        EntryKind::Reply {
            code,
            enhanced,
            lines,
            answers,
            ..
        } => Some((
            e.frame,
            *code,
            enhanced.as_deref().unwrap_or(""),
            lines.as_slice(),
            answers.as_ref().map_or("", |a| a.command.as_str()),
        )),
        _ => None,
    })
}

fn quote(lines: &[String]) -> String {
    lines.first().cloned().unwrap_or_default()
}

fn enhanced_in(enhanced: &str, class_subject: &str, lo: u16, hi: u16) -> bool {
    enhanced
        .strip_prefix(class_subject)
        .and_then(|d| d.parse::<u16>().ok())
        .is_some_and(|d| (lo..=hi).contains(&d))
}

fn session_findings(
    f: &mut Findings,
    s: &Session,
    out: Outcome,
    role: ServerRole,
    role_frame: Option<u64>,
    role_name: Option<&str>,
) {
    let id = Some(s.id);
    let first = s.tcp.first_frame;
    match s.tcp.handshake {
        Handshake::SynUnanswered => {
            let frames: Vec<String> = s.tcp.syn_frames.iter().map(u64::to_string).collect();
            let text = format!(
                "{} SYN(s) to {} in frames {}, no answer",
                s.tcp.syn_frames.len(),
                s.server,
                frames.join(", ")
            );
            f.add(
                "port-blocked",
                id,
                vec![Evidence {
                    frame: s.tcp.syn_frames.first().copied().unwrap_or(first),
                    text,
                }],
            );
        }
        Handshake::Refused => {
            let rst = s.tcp.reset_frames.first().copied().unwrap_or(first);
            f.add(
                "connection-refused",
                id,
                vec![Evidence {
                    frame: rst,
                    text: format!("{} answered the SYN with RST", s.server),
                }],
            );
        }
        _ => {}
    }
    if role == ServerRole::ExoInboundMx {
        let text = format!(
            "{} is a tenant MX host{}",
            role_name.unwrap_or("the server"),
            if s.server.port == 25 { ", port 25" } else { "" }
        );
        f.add(
            "mx-endpoint",
            id,
            vec![Evidence {
                frame: role_frame.unwrap_or(first),
                text,
            }],
        );
    }
    if s.server.port == 465 {
        f.add(
            "implicit-tls-port",
            id,
            vec![Evidence {
                frame: first,
                text: format!("connection to {}", s.server),
            }],
        );
    }

    // STARTTLS offered and not used; AUTH where the last EHLO reply did not offer it.
    let mut offered_starttls: Option<(u64, String)> = None;
    let mut ehlo_frame: Option<u64> = None;
    let mut offered_auth = false;
    let mut used_starttls = false;
    let mut cleartext_after_ehlo: Option<(u64, String)> = None;
    let mut auth_frame: Option<(u64, String)> = None;
    let mut unoffered_auth: Vec<Evidence> = Vec::new();
    for e in &s.dialogue {
        match &e.kind {
            EntryKind::Reply {
                code: 250,
                lines,
                answers: Some(a),
                ..
            } if a.command == "EHLO" => {
                ehlo_frame = Some(e.frame);
                offered_auth = lines.iter().any(|l| {
                    l.get(4..)
                        .is_some_and(|t| t.to_ascii_uppercase().starts_with("AUTH"))
                });
                if let Some(l) = lines.iter().find(|l| {
                    l.get(4..)
                        .is_some_and(|t| t.eq_ignore_ascii_case("STARTTLS"))
                }) {
                    offered_starttls = Some((e.frame, l.clone()));
                }
            }
            EntryKind::Command {
                command, argument, ..
            } => {
                let line = format!("{command} {argument}").trim().to_string();
                match command.as_str() {
                    "STARTTLS" => used_starttls = true,
                    "AUTH" => {
                        auth_frame.get_or_insert((e.frame, line.clone()));
                        if let (Some(ef), false) = (ehlo_frame, offered_auth) {
                            unoffered_auth.push(Evidence {
                                frame: e.frame,
                                text: format!("{line} (sent)"),
                            });
                            unoffered_auth.push(Evidence {
                                frame: ef,
                                text: "the EHLO reply lists no AUTH".into(),
                            });
                        }
                    }
                    _ => {}
                }
                if matches!(command.as_str(), "MAIL" | "AUTH") && cleartext_after_ehlo.is_none() {
                    cleartext_after_ehlo = Some((e.frame, line));
                }
            }
            _ => {}
        }
    }
    if let (Some((sf, sl)), false, Some((cf, cl))) =
        (&offered_starttls, used_starttls, &cleartext_after_ehlo)
    {
        f.add(
            "no-starttls",
            id,
            vec![
                Evidence {
                    frame: *sf,
                    text: format!("{sl} (offered)"),
                },
                Evidence {
                    frame: *cf,
                    text: format!("{cl} (sent without TLS)"),
                },
            ],
        );
    }
    if !unoffered_auth.is_empty() {
        f.add("auth-not-offered", id, unoffered_auth);
    }

    for (frame, code, enh, lines, answered) in replies(s) {
        let text = quote(lines);
        let lower = text.to_ascii_lowercase();
        let ev = || {
            vec![Evidence {
                frame,
                text: text.clone(),
            }]
        };
        if answered == "AUTH"
            && (enh == "5.7.4" || code == 504 || (code == 503 && lower.contains("not advertised")))
        {
            let mut evidence = Vec::new();
            if let Some((af, at)) = &auth_frame {
                evidence.push(Evidence {
                    frame: *af,
                    text: format!("{at} (sent)"),
                });
            }
            evidence.extend(ev());
            f.add("auth-not-offered", id, evidence);
        }
        if code == 530 && (enh == "5.7.57" || lower.contains("not authenticated")) {
            f.add("not-authenticated", id, ev());
        }
        if code == 535 && enh == "5.7.139" {
            f.add("smtp-auth-disabled", id, ev());
        } else if code == 535 {
            f.add("auth-failed", id, ev());
        }
        if enh == "5.7.30" {
            f.add("basic-auth-retired", id, ev());
        }
        if enh == "5.2.252" || enh == "5.7.60" || lower.contains("sendasdenied") {
            f.add("send-as-denied", id, ev());
        }
        let listed = (enh == "5.7.1"
            && (lower.contains("spamhaus")
                || lower.contains("blocklist")
                || lower.contains("blocked using")))
            || enhanced_in(enh, "5.7.", 606, 649)
            || enh == "5.7.708"
            || enh == "5.7.750";
        if listed {
            f.add("ip-blocklisted", id, ev());
        }
        if matches!(enh, "5.7.54" | "5.7.64" | "5.7.68") || (code >= 500 && lower.contains("relay"))
        {
            f.add("relay-denied", id, ev());
        }
        if enh == "4.4.62" {
            f.add("wrong-region", id, ev());
        } else if code == 421 && enh == "4.7.66" {
            f.add("tls-version-too-old", id, ev());
        } else if (400..500).contains(&code) && answered != "not a command" {
            f.add("temporary-failure", id, ev());
        }
        if enh == "5.1.8" || enhanced_in(enh, "5.7.", 501, 503) {
            f.add("restricted-sender", id, ev());
        }
        if matches!(answered, "EHLO" | "HELO") && code == 501 {
            f.add("invalid-helo", id, ev());
        }
    }

    // The user name lines (shown) and password lines (withheld) of exchanges in clear.
    let auth_lines: Vec<(bool, Evidence)> = s
        .dialogue
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Auth { auth } if auth.redacted || auth.username.is_some() => {
                let user = auth
                    .username
                    .as_ref()
                    .map(|u| format!("user {u} "))
                    .unwrap_or_default();
                let secret = if auth.redacted {
                    "password (withheld here) "
                } else {
                    ""
                };
                let text = format!("{} {user}{secret}sent in clear text", auth.mechanism);
                Some((
                    auth.redacted,
                    Evidence {
                        frame: e.frame,
                        text,
                    },
                ))
            }
            _ => None,
        })
        .collect();
    if auth_lines.iter().any(|(redacted, _)| *redacted) {
        f.add(
            "cleartext-credentials",
            id,
            auth_lines.into_iter().map(|(_, e)| e).collect(),
        );
    }

    if let Some(tls) = &s.tls {
        if let Some(ch) = &tls.client_hello {
            if matches!(
                ch.highest_version.as_str(),
                "TLS 1.0" | "TLS 1.1" | "SSL 3.0" | "SSL 2.0"
            ) {
                let text = format!(
                    "ClientHello offers at most {} ({})",
                    ch.highest_version,
                    ch.versions.join(", ")
                );
                f.add(
                    "tls-version-too-old",
                    id,
                    vec![Evidence {
                        frame: ch.frame,
                        text,
                    }],
                );
            }
        }
        if out == Outcome::TlsFailed
            && !f
                .list
                .iter()
                .any(|x| x.id == "tls-version-too-old" && x.session == id)
        {
            let mut evidence: Vec<Evidence> = tls
                .alerts
                .iter()
                .filter(|a| a.level == "fatal")
                .map(|a| Evidence {
                    frame: a.frame,
                    text: format!(
                        "{:?} sent fatal alert {}",
                        a.from,
                        a.description.clone().unwrap_or_default()
                    )
                    .to_lowercase(),
                })
                .collect();
            if let Some(ch) = &tls.client_hello {
                if !ch.offers_exo_cipher {
                    evidence.push(Evidence {
                        frame: ch.frame,
                        text: "ClientHello offers no cipher suite Exchange Online accepts".into(),
                    });
                }
                if tls.server_hello.is_none() {
                    let close = s.tcp.close.map_or(s.tcp.last_frame, |c| c.frame);
                    evidence.push(Evidence {
                        frame: ch.frame,
                        text: "ClientHello sent".into(),
                    });
                    evidence.push(Evidence {
                        frame: close,
                        text: "no ServerHello: the connection ended here".into(),
                    });
                }
            }
            if evidence.is_empty() {
                evidence.push(Evidence {
                    frame: s.tcp.last_frame,
                    text: "the handshake did not complete".into(),
                });
            }
            f.add("tls-handshake-failed", id, evidence);
        }
        if out == Outcome::EncryptedNoMessage {
            let frame = tls.client_data_frame.unwrap_or(s.tcp.first_frame);
            let text = format!(
                "TLS established; then only {} small encrypted records ({} bytes) from the client before the end",
                tls.client_records, tls.client_bytes
            );
            f.add("encrypted-no-message", id, vec![Evidence { frame, text }]);
        }
        if matches!(
            out,
            Outcome::EncryptedMessageTransferred | Outcome::EncryptedNoMessage
        ) {
            let frame = tls.client_data_frame.unwrap_or(s.tcp.first_frame);
            let text = format!(
                "after the TLS handshake the client sent {} encrypted records ({} bytes, largest {}), the server {} ({} bytes)",
                tls.client_records, tls.client_bytes, tls.largest_client_record, tls.server_records, tls.server_bytes
            );
            f.add(
                "encrypted-outcome-unknown",
                id,
                vec![Evidence { frame, text }],
            );
        }
    }

    let st = [&s.tcp.client_stream, &s.tcp.server_stream];
    if st.iter().any(|x| x.snaplen_bytes > 0) {
        let ev = gap_evidence(s, GapReason::Snaplen);
        f.add("capture-truncated", id, ev);
    }
    let one_sided = s.tcp.server_packets == 0 && s.tcp.client_stream.bytes > 0;
    if s.tcp.mid_stream || one_sided || st.iter().any(|x| x.gap_bytes > x.snaplen_bytes) {
        let mut ev = Vec::new();
        if s.tcp.mid_stream {
            ev.push(Evidence {
                frame: first,
                text: "the capture starts after this conversation began".into(),
            });
        }
        if one_sided {
            ev.push(Evidence {
                frame: first,
                text: "the capture holds only the client's packets; no server reply can be seen"
                    .into(),
            });
        }
        ev.extend(gap_evidence(s, GapReason::NotCaptured));
        f.add("capture-incomplete", id, ev);
    }
}

/// A name a device would use for its mail server.
fn mail_server_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "smtp",
        "mail",
        "mx",
        "outlook",
        "office365",
        "exchange",
        "relay",
    ]
    .iter()
    .any(|w| n.contains(w))
}

fn gap_evidence(s: &Session, reason: GapReason) -> Vec<Evidence> {
    s.dialogue
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Gap { gap } if gap.reason == reason => Some(Evidence {
                frame: e.frame,
                text: format!(
                    "missing from the capture: {} bytes sent by the {:?}",
                    gap.bytes, e.from
                )
                .to_lowercase(),
            }),
            _ => None,
        })
        .collect()
}

fn capture_findings(f: &mut Findings, a: &Analysis, diags: &[SessionDiagnosis]) {
    let smtp: Vec<(&Session, &SessionDiagnosis)> = a
        .sessions
        .iter()
        .zip(diags)
        .filter(|(s, _)| s.protocol == Protocol::Smtp)
        .collect();
    let connected: Vec<_> = smtp
        .iter()
        .filter(|(_, d)| d.outcome != Outcome::NoConnection)
        .collect();
    if !connected.is_empty()
        && connected
            .iter()
            .all(|(_, d)| d.outcome == Outcome::TestOnly)
    {
        let ev = connected
            .iter()
            .map(|(s, _)| Evidence {
                frame: s.tcp.first_frame,
                text: format!(
                    "session {}: greeting and EHLO, then QUIT without MAIL",
                    s.id
                ),
            })
            .collect();
        f.add("connection-test-only", None, ev);
    }
    for pop in a.sessions.iter().filter(|s| s.protocol == Protocol::Pop3) {
        let login = pop
            .dialogue
            .iter()
            .find(|e| matches!(e.command(), Some("USER" | "APOP" | "AUTH" | "PASS")));
        let Some(login) = login else { continue };
        let later_smtp = smtp
            .iter()
            .find(|(s, _)| s.client.ip == pop.client.ip && s.tcp.first_frame > login.frame);
        if let Some((smtp_session, _)) = later_smtp {
            f.add(
                "pop-before-smtp",
                Some(pop.id),
                vec![
                    Evidence {
                        frame: login.frame,
                        text: format!("POP3 login to {}", pop.server),
                    },
                    Evidence {
                        frame: smtp_session.tcp.first_frame,
                        text: format!(
                            "then SMTP to {} (session {})",
                            smtp_session.server, smtp_session.id
                        ),
                    },
                ],
            );
        }
    }
    // A name fails when no lookup of it (of any type) succeeded: AAAA without records is normal.
    let resolved = |name: &str| {
        a.dns
            .iter()
            .any(|l| l.name.eq_ignore_ascii_case(name) && !l.failed())
    };
    for l in a
        .dns
        .iter()
        .filter(|l| l.failed() && mail_server_like(&l.name) && !resolved(&l.name))
    {
        let mut ev = vec![Evidence {
            frame: l.frame,
            text: format!("DNS query for {} ({})", l.name, l.qtype),
        }];
        ev.push(match (l.response_frame, &l.rcode) {
            (Some(rf), Some(rc)) if rc != "NOERROR" => Evidence {
                frame: rf,
                text: format!("answer: {rc}"),
            },
            (Some(rf), _) => Evidence {
                frame: rf,
                text: "answer: no address".into(),
            },
            (None, _) => Evidence {
                frame: l.frame,
                text: "no answer in the capture".into(),
            },
        });
        f.add("dns-failure", None, ev);
    }
    if a.decode.truncated > 0 && !f.list.iter().any(|x| x.id == "capture-truncated") {
        let text = format!(
            "{} packets are shorter in the capture than on the wire",
            a.decode.truncated
        );
        f.add("capture-truncated", None, vec![Evidence { frame: 1, text }]);
    }
}
