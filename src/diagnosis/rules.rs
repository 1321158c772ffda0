//! The session findings, each a small rule over what was read of the session once.

use super::inside_tls::Family;
use super::refusal::{self, RefusalKind};
use super::server::{Endpoint, ServerIdentity};
use super::{Evidence, FindingId, Findings, Outcome, ServerRole, SHARP_SMTP};
use crate::analysis::{Protocol, Session};
use crate::dialogue::{reply_sentence, Answered, EntryKind, Exposure, Provenance, Verb};
use crate::tcp::{GapReason, Handshake};
use crate::tls::AlertLevel;

/// Retransmissions of one direction that make a network-quality finding, when they are
/// also at least a tenth of its segments.
const MIN_RETRANSMISSIONS: u64 = 3;

/// What every rule reads: the session, its outcome and server, and the dialogue's offers.
pub(super) struct Rule<'a> {
    s: &'a Session,
    out: Outcome,
    role: ServerRole,
    server: &'a ServerIdentity,
    id: Option<usize>,
    first: u64,
    offers: Offers,
}

/// The rules, in the order their findings are listed.
const RULES: &[fn(&mut Findings, &Rule<'_>)] = &[
    connection,
    endpoint,
    starttls_and_auth,
    refusals,
    credentials,
    tls,
    capture,
];

pub(super) fn session_findings(
    f: &mut Findings,
    s: &Session,
    out: Outcome,
    role: ServerRole,
    server: &ServerIdentity,
) {
    let r = Rule {
        s,
        out,
        role,
        server,
        id: Some(s.id),
        first: s.tcp.first_frame,
        offers: Offers::of(s),
    };
    for rule in RULES {
        rule(f, &r);
    }
}

/// What the EHLO reply offered and what the client then did, read once per session.
#[derive(Default)]
struct Offers {
    offered_starttls: Option<(u64, String)>,
    used_starttls: bool,
    cleartext_after_ehlo: Option<(u64, String)>,
    auth_frame: Option<(u64, String)>,
    unoffered_auth: Vec<Evidence>,
}

impl Offers {
    fn of(s: &Session) -> Offers {
        let mut offered_starttls: Option<(u64, String)> = None;
        let mut ehlo_frame: Option<u64> = None;
        let mut offered_auth = false;
        let mut used_starttls = false;
        let mut cleartext_after_ehlo: Option<(u64, String)> = None;
        let mut auth_frame: Option<(u64, String)> = None;
        let mut unoffered_auth: Vec<Evidence> = Vec::new();
        // What the server offered is read from its EHLO reply's text, which an entry read
        // from the record lengths does not have.
        for e in s.dialogue.iter().filter(|e| !e.provenance.inferred()) {
            match &e.kind {
                EntryKind::Reply {
                    code: 250,
                    lines,
                    answers: Some(a),
                    ..
                } if a.command.is(&Verb::Ehlo) => {
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
                    if matches!(command.as_str(), "MAIL" | "AUTH") && cleartext_after_ehlo.is_none()
                    {
                        cleartext_after_ehlo = Some((e.frame, line));
                    }
                }
                _ => {}
            }
        }
        Offers {
            offered_starttls,
            used_starttls,
            cleartext_after_ehlo,
            auth_frame,
            unoffered_auth,
        }
    }
}

/// No connection: SYNs unanswered, or refused.
fn connection(f: &mut Findings, r: &Rule<'_>) {
    let Rule { s, id, first, .. } = *r;
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
                FindingId::PortBlocked,
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
                FindingId::ConnectionRefused,
                id,
                vec![Evidence {
                    frame: rst,
                    text: format!("{} answered the SYN with RST", s.server),
                }],
            );
        }
        _ => {}
    }
}

/// The endpoint itself: the tenant MX, implicit TLS on 465.
fn endpoint(f: &mut Findings, r: &Rule<'_>) {
    let Rule {
        s,
        out,
        role,
        server,
        id,
        first,
        ..
    } = *r;
    let (role_frame, role_name) = (server.frame, server.name.as_deref());
    if role == ServerRole::ExoInboundMx {
        let text = format!(
            "{} is a tenant MX host{}",
            role_name.unwrap_or("the server"),
            if s.server.port == 25 { ", port 25" } else { "" }
        );
        f.add(
            FindingId::MxEndpoint,
            id,
            vec![Evidence {
                frame: role_frame.unwrap_or(first),
                text,
            }],
        );
    }
    // 465 is implicit TLS (RFC 8314), which most servers offer; Exchange Online does not.
    if s.server.port == 465 && (server.is_exchange_online() || out == Outcome::TlsFailed) {
        f.add(
            FindingId::ImplicitTlsPort,
            id,
            vec![Evidence {
                frame: first,
                text: format!("connection to {}", s.server),
            }],
        );
    }
}

/// STARTTLS offered and not used; AUTH where the EHLO reply did not offer it.
fn starttls_and_auth(f: &mut Findings, r: &Rule<'_>) {
    let Rule { id, .. } = *r;
    if let (Some((sf, sl)), false, Some((cf, cl))) = (
        &r.offers.offered_starttls,
        r.offers.used_starttls,
        &r.offers.cleartext_after_ehlo,
    ) {
        f.add(
            FindingId::NoStarttls,
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
    if !r.offers.unoffered_auth.is_empty() {
        f.add(
            FindingId::AuthNotOffered,
            id,
            r.offers.unoffered_auth.clone(),
        );
    }
}

/// Every refusal reply, read by code, enhanced code, text and server.
fn refusals(f: &mut Findings, r: &Rule<'_>) {
    let Rule { s, server, .. } = *r;
    let auth_frame = &r.offers.auth_frame;
    for e in &s.dialogue {
        let EntryKind::Reply {
            code,
            enhanced,
            lines,
            answers,
            ..
        } = &e.kind
        else {
            continue;
        };
        // A reply to bytes that were no command says nothing of the configuration.
        if answers
            .as_ref()
            .is_some_and(|a| a.command == Answered::NotACommand)
        {
            continue;
        }
        // Read from the record lengths without a text: nothing to classify by.
        if e.provenance.inferred() && lines.is_empty() {
            continue;
        }
        let frame = e.frame;
        let Some(r) = reply_refusal(*code, enhanced.as_deref(), lines, server) else {
            continue;
        };
        let mut evidence = vec![Evidence {
            frame,
            text: e.quote().unwrap_or_default(),
        }];
        if r.kind == RefusalKind::AuthNotOffered {
            if let Some((af, at)) = auth_frame {
                evidence.insert(
                    0,
                    Evidence {
                        frame: *af,
                        text: format!("{at} (sent)"),
                    },
                );
            }
        }
        // Unexplained permanent refusals matter where they decided the outcome, which
        // `explain_refusal` covers; a protocol complaint the session got past does not.
        let Some(id) = finding_for(r) else {
            continue;
        };
        f.add(id, Some(s.id), evidence);
        if e.provenance.inferred() {
            confirm_inferred(f, s, id, server);
        }
    }
}

/// What a reply refuses, read from its code, enhanced code and every line's text.
pub(super) fn reply_refusal(
    code: u16,
    enhanced: Option<&str>,
    lines: &[String],
    server: &ServerIdentity,
) -> Option<refusal::Refusal> {
    let text = reply_sentence(code, enhanced, lines);
    let body = text.get(4..).unwrap_or_default();
    refusal::classify(code, enhanced, body, server)
}

/// The finding a refusal calls for; `None` for one no specific finding describes and that
/// is no passing condition.
pub(super) fn finding_for(r: refusal::Refusal) -> Option<FindingId> {
    Some(match r.kind {
        RefusalKind::RelayDenied => FindingId::RelayDenied,
        RefusalKind::MustStartTls => FindingId::MustStarttls,
        RefusalKind::AuthRequired => FindingId::NotAuthenticated,
        RefusalKind::AuthNotOffered => FindingId::AuthNotOffered,
        RefusalKind::AuthFailed => FindingId::AuthFailed,
        RefusalKind::AuthDisabled => FindingId::SmtpAuthDisabled,
        RefusalKind::AppPasswordRequired => FindingId::AppPasswordRequired,
        RefusalKind::BasicAuthRetired => FindingId::BasicAuthRetired,
        RefusalKind::SenderNotAllowed => FindingId::SendAsDenied,
        RefusalKind::SenderDomainUnknown => FindingId::SenderDomainUnknown,
        RefusalKind::SenderRestricted => FindingId::RestrictedSender,
        RefusalKind::MailboxUnknown => FindingId::MailboxUnknown,
        RefusalKind::MailboxFull => FindingId::MailboxFull,
        RefusalKind::MessageTooLarge => FindingId::MessageTooLarge,
        RefusalKind::TooManyRecipients => FindingId::TooManyRecipients,
        RefusalKind::Greylisted => FindingId::Greylisted,
        RefusalKind::RateLimited => FindingId::RateLimited,
        RefusalKind::IpBlocklisted => FindingId::IpBlocklisted,
        RefusalKind::WrongRegion => FindingId::WrongRegion,
        RefusalKind::HeloRejected => FindingId::InvalidHelo,
        RefusalKind::TlsTooOld => FindingId::TlsVersionTooOld,
        RefusalKind::ContentRejected => FindingId::ContentRejected,
        RefusalKind::Other if r.transient => FindingId::TemporaryFailure,
        RefusalKind::Other => return None,
    })
}

/// Credentials that crossed in clear: a password or token (error), or a
/// challenge-response digest (warning).
fn credentials(f: &mut Findings, r: &Rule<'_>) {
    let Rule { s, id, .. } = *r;
    // The user name lines (shown) and secret lines (withheld) of exchanges in clear;
    // those read from a decrypted TLS session crossed encrypted.
    let auth_lines: Vec<(Exposure, Evidence)> = s
        .dialogue
        .iter()
        .filter(|e| e.provenance.in_clear())
        .filter_map(|e| match &e.kind {
            EntryKind::Auth { auth } if auth.redacted || auth.username.is_some() => {
                let user = auth
                    .username
                    .as_ref()
                    .map(|u| format!("user {u} "))
                    .unwrap_or_default();
                let secret = auth
                    .exposure
                    .withheld()
                    .map(|w| format!("{w} (withheld here) "))
                    .unwrap_or_default();
                let text = format!("{} {user}{secret}sent in clear text", auth.mechanism);
                Some((
                    auth.exposure,
                    Evidence {
                        frame: e.frame,
                        text,
                    },
                ))
            }
            _ => None,
        })
        .collect();
    let replayable = auth_lines.iter().any(|(x, _)| x.replayable());
    let digest = auth_lines.iter().any(|(x, _)| *x == Exposure::Digest);
    let finding = if replayable {
        FindingId::CleartextCredentials
    } else if digest {
        FindingId::CleartextChallengeResponse
    } else {
        return;
    };
    f.add(
        finding,
        id,
        auth_lines.into_iter().map(|(_, e)| e).collect(),
    );
    if s.protocol == Protocol::Pop3 {
        // The POP3 login is only there for POP before SMTP: the fix is to drop it.
        if let Some(remediation) = f.remediation_mut(finding, id) {
            *remediation = if replayable {
                format!(
                    "{SHARP_SMTP} Set POP before SMTP to Disabled (SMTP Authentication replaces it), then change the mailbox password."
                )
            } else {
                format!(
                    "{SHARP_SMTP} Set POP before SMTP to Disabled (SMTP Authentication replaces it); if it must stay, use POP3 over TLS (port 995)."
                )
            };
        }
    }
}

/// What the TLS handshake shows.
fn tls(f: &mut Findings, r: &Rule<'_>) {
    let Rule { s, out, id, .. } = *r;
    if let Some(tls) = &s.tls {
        if let Some(ch) = &tls.client_hello {
            if ch.highest_version.is_legacy() {
                let offered: Vec<String> = ch.versions.iter().map(ToString::to_string).collect();
                let text = format!(
                    "ClientHello offers at most {} ({})",
                    ch.highest_version,
                    offered.join(", ")
                );
                f.add(
                    FindingId::TlsVersionTooOld,
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
                .any(|x| x.id == FindingId::TlsVersionTooOld && x.session == id)
        {
            let mut evidence: Vec<Evidence> = tls
                .alerts
                .iter()
                .filter(|a| a.level == AlertLevel::Fatal)
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
            f.add(FindingId::TlsHandshakeFailed, id, evidence);
        }
        if out == Outcome::EncryptedNoMessage {
            let frame = tls.client_data_frame.unwrap_or(s.tcp.first_frame);
            let text = format!(
                "TLS established; then only {} small encrypted records ({} bytes) from the client before the end",
                tls.client_records, tls.client_bytes
            );
            f.add(
                FindingId::EncryptedNoMessage,
                id,
                vec![Evidence { frame, text }],
            );
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
                FindingId::EncryptedOutcomeUnknown,
                id,
                vec![Evidence { frame, text }],
            );
        }
    }
}

/// What the capture shows of the streams: copies that disagree, loss, truncation, gaps.
fn capture(f: &mut Findings, r: &Rule<'_>) {
    let Rule { s, id, first, .. } = *r;
    let st = [&s.tcp.client_stream, &s.tcp.server_stream];
    let conflicts: Vec<Evidence> = [
        ("client", &s.tcp.client_stream),
        ("server", &s.tcp.server_stream),
    ]
    .iter()
    .filter_map(|(who, x)| {
        x.first_conflict_frame.map(|frame| Evidence {
            frame,
            text: format!(
                "{} segment(s) from the {who} disagree with bytes seen before (the first found)",
                x.conflicting_overlaps
            ),
        })
    })
    .collect();
    if !conflicts.is_empty() {
        f.add(FindingId::ConflictingRetransmission, id, conflicts);
    }
    let lossy: Vec<Evidence> = [
        ("client", &s.tcp.client_stream),
        ("server", &s.tcp.server_stream),
    ]
    .iter()
    // Where the capture holds many copies of segments (a mirror of both ports, merged
    // captures), not every copy can be told from a retransmission: no finding then.
    .filter(|(_, x)| {
        x.duplicates * 10 < x.segments
            && x.retransmissions >= MIN_RETRANSMISSIONS
            && x.retransmissions * 10 >= x.segments
    })
    .map(|(who, x)| Evidence {
        frame: x.first_retransmission_frame.unwrap_or(first),
        text: format!(
            "the {who} sent {} of its {} data segments again ({}%), the first here",
            x.retransmissions,
            x.segments,
            x.retransmissions * 100 / x.segments.max(1)
        ),
    })
    .collect();
    if !lossy.is_empty() {
        f.add(FindingId::NetworkLoss, id, lossy);
    }
    if st.iter().any(|x| x.snaplen_bytes > 0) {
        let ev = gap_evidence(s, GapReason::Snaplen);
        f.add(FindingId::CaptureTruncated, id, ev);
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
        f.add(FindingId::CaptureIncomplete, id, ev);
    }
}

/// Each reply of a session: (frame, code, enhanced code, lines, command answered).
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

/// A Basic login (AUTH LOGIN) that Exchange Online's submission endpoint accepted, in
/// clear, decrypted or read from the record lengths, on a session that did not fail: it
/// works today, and Microsoft is
/// switching it off. Never beside `basic-auth-retired`, never for another server or
/// mechanism.
pub(super) fn basic_auth_deadline(
    f: &mut Findings,
    s: &Session,
    out: Outcome,
    server: &ServerIdentity,
) {
    let submission = matches!(
        server.endpoint,
        Endpoint::Submission | Endpoint::LegacySubmission
    );
    // A setup that works today: a session that failed has a problem of its own first.
    let works = matches!(
        out,
        Outcome::Delivered
            | Outcome::TestOnly
            | Outcome::EncryptedMessageTransferred
            | Outcome::EncryptedNoMessage
    );
    if !server.is_exchange_online() || !submission || !works || s.protocol != Protocol::Smtp {
        return;
    }
    if f.list.iter().any(|x| x.id == FindingId::BasicAuthRetired) {
        return;
    }
    let Some((frame, how)) = accepted_login(s) else {
        return;
    };
    let text = match how {
        Provenance::Clear => "AUTH LOGIN accepted: 235 (in clear)",
        Provenance::Decrypted => "AUTH LOGIN accepted: 235 (decrypted)",
        Provenance::Inferred { .. } => {
            "AUTH LOGIN accepted (read from the encrypted record lengths)"
        }
    };
    f.add(
        FindingId::BasicAuthDeadline,
        Some(s.id),
        vec![Evidence {
            frame,
            text: text.into(),
        }],
    );
}

/// The frame of the 235 that accepted an AUTH LOGIN, and how it is known.
fn accepted_login(s: &Session) -> Option<(u64, Provenance)> {
    let mut login = false;
    for e in &s.dialogue {
        match &e.kind {
            EntryKind::Command {
                command, argument, ..
            } if command == "AUTH" => {
                let mechanism = argument.split_whitespace().next().unwrap_or_default();
                login = mechanism.eq_ignore_ascii_case("LOGIN");
            }
            EntryKind::Reply {
                code: 235, answers, ..
            } if login
                && answers
                    .as_ref()
                    .is_some_and(|a| matches!(a.command, Answered::Command(Verb::Auth))) =>
            {
                return Some((e.frame, e.provenance));
            }
            _ => {}
        }
    }
    None
}

/// A finding read from the encrypted record lengths against Exchange Online's texts: its
/// fix says where the tenant's administrator confirms it.
fn confirm_inferred(f: &mut Findings, s: &Session, id: FindingId, server: &ServerIdentity) {
    let exchange_online = super::inside_tls::family(s, server) == Family::ExchangeOnline;
    let Some(ask) = confirm_with_admin(id).filter(|_| exchange_online) else {
        return;
    };
    if let Some(remediation) = f.remediation_mut(id, Some(s.id)) {
        if !remediation.contains(ask) {
            *remediation = format!("{remediation} Read from the encrypted record lengths, so confirm it with the tenant's administrator: {ask}");
        }
    }
}

/// A refusal read from the record lengths whose text they do not tell: the fix gives
/// each candidate's title and fix, and where to read which it was.
pub(super) fn open_cause(f: &mut Findings, s: &Session, candidates: &[FindingId]) {
    let candidates: Vec<String> = candidates
        .iter()
        .map(|c| {
            let t = c.kind().texts(f.exchange_online);
            format!("{} [{}]: {}", t.title, c.as_str(), t.remediation)
        })
        .collect();
    if let Some(remediation) = f.remediation_mut(FindingId::Refused, Some(s.id)) {
        *remediation = format!(
            "The refusal is encrypted, and its length fits more than one of the server's texts; the server's log for the time of the session says which. If it is {}",
            candidates.join(" If it is ")
        );
    }
}

/// Where Microsoft 365 logs what an inferred refusal says, and what its administrator can
/// check or change.
fn confirm_with_admin(id: FindingId) -> Option<&'static str> {
    Some(match id {
        FindingId::AuthFailed => {
            "the Entra ID sign-in logs for the mailbox at the time of the session (they give the reason: wrong password, MFA, Conditional Access, a blocked account)."
        }
        FindingId::SmtpAuthDisabled => {
            "`Get-TransportConfig | fl SmtpClientAuthenticationDisabled` (tenant) and `Get-CASMailbox <mailbox> | fl SmtpClientAuthenticationDisabled` (mailbox); `Set-CASMailbox <mailbox> -SmtpClientAuthenticationDisabled $false` allows it for the device's mailbox; security defaults block it for every account."
        }
        FindingId::SendAsDenied => {
            "the message trace for the time of the session, and the Send As permission of the login's mailbox on the sender address."
        }
        _ => return None,
    })
}
