//! The JSON report's own types: schema 1 (`docs/json-schema.json`, `docs/json-format.md`).
//! Built from the stages' types but not those types, so that a refactor inside smtpcap
//! cannot change the output; every enum is named here by an exhaustive match, so a new
//! variant must be given its JSON name before it compiles.

use std::net::IpAddr;

use serde::Serialize;

mod dialogue;
mod tls;

use dialogue::DialogueEntry;
use tls::Tls;

use crate::analysis::{Analysis, CaptureProblem, DnsName, Protocol, Session};
use crate::base::{Endpoint, Side, Timestamp};
use crate::diagnosis::attempts::AttemptMark;
use crate::diagnosis::inside_tls::{Family, InsideTls, Mechanism};
use crate::diagnosis::outcome::{Recipient, Transaction};
use crate::diagnosis::server::{self, Cloud, Provider, Software};
use crate::diagnosis::{
    Basis, Evidence, Finding, Outcome, ServerIdentity, ServerRole, SessionDiagnosis, Severity,
    Stage,
};
use crate::dns::Lookup;
use crate::packet::DecodeStats;
use crate::tcp::{Close, CloseHow, Handshake, StreamStats, TableStats, TcpSummary};

/// The version of this format; raised when a field changes meaning or goes away (new
/// fields may come without it).
pub(super) const SCHEMA: u32 = 1;

/// Seconds since the epoch, to the microsecond (what pcap records hold).
#[derive(Clone, Copy, Serialize)]
#[serde(transparent)]
struct Seconds(f64);

fn seconds(t: Timestamp) -> Seconds {
    Seconds((t.as_secs_f64() * 1e6).round() / 1e6)
}

// serde's `skip_serializing_if` hands its test a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(b: &bool) -> bool {
    !b
}

/// The capture's own fields, before its `sessions` and `findings` (which the writer
/// streams after them).
#[derive(Serialize)]
pub(super) struct CaptureHead<'a> {
    schema: u32,
    file: &'a str,
    format: Option<&'a str>,
    compression: Option<&'a str>,
    link_types: &'a [String],
    packets: u64,
    first_time: Option<Seconds>,
    last_time: Option<Seconds>,
    error: Option<Problem<'a>>,
    decode: Decode,
    tcp: Table,
    dns: Vec<DnsLookup<'a>>,
    attempts_not_listed: u64,
    #[serde(skip_serializing_if = "is_zero")]
    sessions_out_of_order: u64,
}

impl<'a> CaptureHead<'a> {
    pub(super) fn new(a: &'a Analysis) -> Self {
        CaptureHead {
            schema: SCHEMA,
            file: &a.file,
            format: a.format,
            compression: a.compression,
            link_types: &a.link_types,
            packets: a.packets,
            first_time: a.first_time.map(seconds),
            last_time: a.last_time.map(seconds),
            error: a.error.as_ref().map(Problem::new),
            decode: Decode::new(&a.decode),
            tcp: Table::new(&a.tcp),
            dns: a.dns.iter().map(DnsLookup::new).collect(),
            attempts_not_listed: a.attempts_not_listed,
            sessions_out_of_order: a.sessions_out_of_order,
        }
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    offset: u64,
    message: &'a str,
}

impl<'a> Problem<'a> {
    fn new(p: &'a CaptureProblem) -> Self {
        Problem {
            offset: p.offset,
            message: &p.message,
        }
    }
}

#[derive(Serialize)]
struct Decode {
    non_ip: u64,
    malformed: u64,
    truncated: u64,
    fragments: u64,
    reassembled: u64,
    fragments_dropped: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_dropped_fragment: Option<u64>,
    #[serde(skip_serializing_if = "is_zero")]
    duplicate_fragments: u64,
}

impl Decode {
    fn new(d: &DecodeStats) -> Self {
        Decode {
            non_ip: d.non_ip,
            malformed: d.malformed,
            truncated: d.truncated,
            fragments: d.fragments,
            reassembled: d.reassembled,
            fragments_dropped: d.fragments_dropped,
            first_dropped_fragment: d.first_dropped_fragment,
            duplicate_fragments: d.duplicate_fragments,
        }
    }
}

#[derive(Serialize)]
struct Table {
    connections: u64,
    evicted_full: u64,
    evicted_idle: u64,
    #[serde(skip_serializing_if = "is_zero")]
    after_close: u64,
}

impl Table {
    fn new(t: &TableStats) -> Self {
        Table {
            connections: t.connections,
            evicted_full: t.evicted_full,
            evicted_idle: t.evicted_idle,
            after_close: t.after_close,
        }
    }
}

#[derive(Serialize)]
struct Address {
    ip: IpAddr,
    port: u16,
}

fn address(e: &Endpoint) -> Address {
    Address {
        ip: e.ip,
        port: e.port,
    }
}

#[derive(Serialize)]
struct DnsLookup<'a> {
    frame: u64,
    client: Address,
    server: Address,
    name: &'a str,
    qtype: &'a str,
    response_frame: Option<u64>,
    rcode: Option<String>,
    addresses: &'a [IpAddr],
    cnames: &'a [String],
    mx: &'a [String],
}

impl<'a> DnsLookup<'a> {
    fn new(l: &'a Lookup) -> Self {
        DnsLookup {
            frame: l.frame,
            client: address(&l.client),
            server: address(&l.server),
            name: &l.name,
            qtype: &l.qtype,
            response_frame: l.response_frame,
            rcode: l.rcode.map(|r| r.to_string()),
            addresses: &l.addresses,
            cnames: &l.cnames,
            mx: &l.mx,
        }
    }
}

/// One element of `sessions`: the session and its diagnosis.
#[derive(Serialize)]
pub(super) struct SessionView<'a> {
    id: usize,
    protocol: &'static str,
    client: Address,
    server: Address,
    start_time: Seconds,
    end_time: Seconds,
    tcp: Tcp<'a>,
    dialogue: Vec<DialogueEntry<'a>>,
    tls: Option<Tls<'a>>,
    dns_name: Option<ServerName<'a>>,
    #[serde(skip_serializing_if = "is_zero")]
    dropped_entries: u64,
    outcome: &'static str,
    outcome_basis: &'static str,
    stage: Option<&'static str>,
    deciding_reply: Option<Quote<'a>>,
    server_role: &'static str,
    server_identity: Identity<'a>,
    server_name: Option<&'a str>,
    server_name_source: &'a str,
    transactions: Vec<MailTransaction<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inside_tls: Option<InsideTlsView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<AttemptView<'a>>,
}

/// Where an SMTP session stands among its device's attempts to its server.
#[derive(Serialize)]
struct AttemptView<'a> {
    device: &'a str,
    server: &'a str,
    number: usize,
    /// The other sessions of the same attempt (another address of the server).
    #[serde(skip_serializing_if = "<[usize]>::is_empty")]
    with: &'a [usize],
    superseded_by: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    supersedes: Vec<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    changed: Vec<ChangeView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after_pop3_frame: Option<u64>,
}

#[derive(Serialize)]
struct ChangeView<'a> {
    field: &'a str,
    from: &'a str,
    to: &'a str,
}

impl<'a> AttemptView<'a> {
    fn new(m: &'a AttemptMark) -> Self {
        AttemptView {
            device: &m.device,
            server: &m.server,
            number: m.number,
            with: &m.with,
            superseded_by: m.superseded_by,
            supersedes: m.supersedes.iter().map(|x| x.session).collect(),
            changed: m
                .changed
                .iter()
                .map(|c| ChangeView {
                    field: c.field,
                    from: &c.from,
                    to: &c.to,
                })
                .collect(),
            after_pop3_frame: m.after_pop3,
        }
    }
}

/// The dialogue inside TLS as the record lengths show it, and where the reading stopped.
#[derive(Serialize)]
struct InsideTlsView<'a> {
    family: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mechanism: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    login: Option<&'static str>,
    steps: Vec<InsideStep<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    declined: Option<DeclinedView<'a>>,
}

#[derive(Serialize)]
struct InsideStep<'a> {
    from: &'static str,
    frame: u64,
    bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_max: Option<u64>,
    meaning: &'a str,
}

#[derive(Serialize)]
struct DeclinedView<'a> {
    frame: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<usize>,
    reason: &'static str,
    detail: &'a str,
}

impl<'a> InsideTlsView<'a> {
    fn new(i: &'a InsideTls) -> Self {
        InsideTlsView {
            family: match i.family {
                Family::Unknown => "unknown",
                f => f.name(),
            },
            mechanism: i.mechanism.map(Mechanism::name),
            login: i.login.map(|ok| if ok { "accepted" } else { "refused" }),
            steps: i
                .steps
                .iter()
                .map(|st| InsideStep {
                    from: side(st.side),
                    frame: st.frame,
                    bytes: st.bytes.lo,
                    bytes_max: (!st.bytes.is_exact()).then_some(st.bytes.hi),
                    meaning: &st.meaning,
                })
                .collect(),
            declined: i.declined.as_ref().map(|d| DeclinedView {
                frame: d.frame,
                step: d.step,
                reason: d.reason.name(),
                detail: &d.detail,
            }),
        }
    }
}

impl<'a> SessionView<'a> {
    pub(super) fn new(s: &'a Session, d: &'a SessionDiagnosis) -> Self {
        SessionView {
            id: s.id,
            protocol: protocol(s.protocol),
            client: address(&s.client),
            server: address(&s.server),
            start_time: seconds(s.start_time),
            end_time: seconds(s.end_time),
            tcp: Tcp::new(&s.tcp),
            dialogue: d.dialogue(s).into_iter().map(DialogueEntry::new).collect(),
            tls: s.tls.as_ref().map(Tls::new),
            dns_name: s.dns_name.as_ref().map(ServerName::new),
            dropped_entries: s.dropped_entries,
            outcome: outcome(d.outcome),
            outcome_basis: match d.basis {
                Basis::Observed => "observed",
                Basis::Inferred => "inferred",
                Basis::Decrypted => "decrypted",
            },
            stage: d.stage.map(stage),
            deciding_reply: d.deciding_reply.as_ref().map(Quote::new),
            server_role: server_role(d.server_role),
            server_identity: Identity::new(&d.server_identity),
            server_name: d.server_name.as_deref(),
            server_name_source: d.server_name_source,
            transactions: d.transactions.iter().map(MailTransaction::new).collect(),
            inside_tls: d.inside_tls.as_ref().map(InsideTlsView::new),
            attempt: d.attempt.as_ref().map(AttemptView::new),
        }
    }
}

#[derive(Serialize)]
struct ServerName<'a> {
    name: &'a str,
    frame: u64,
}

impl<'a> ServerName<'a> {
    fn new(n: &'a DnsName) -> Self {
        ServerName {
            name: &n.name,
            frame: n.frame,
        }
    }
}

#[derive(Serialize)]
struct Tcp<'a> {
    first_frame: u64,
    last_frame: u64,
    handshake: &'static str,
    syn_frames: &'a [u64],
    syn_ack_frame: Option<u64>,
    mid_stream: bool,
    close: Option<TcpClose>,
    client_fin_frame: Option<u64>,
    server_fin_frame: Option<u64>,
    reset_frames: &'a [u64],
    client_packets: u64,
    server_packets: u64,
    client_stream: Stream,
    server_stream: Stream,
}

impl<'a> Tcp<'a> {
    fn new(t: &'a TcpSummary) -> Self {
        let f = &t.facts;
        Tcp {
            first_frame: f.first_frame,
            last_frame: f.last_frame,
            handshake: handshake(f.handshake),
            syn_frames: &f.syn_frames,
            syn_ack_frame: f.syn_ack_frame,
            mid_stream: f.mid_stream,
            close: f.close.map(TcpClose::new),
            client_fin_frame: f.client_fin_frame,
            server_fin_frame: f.server_fin_frame,
            reset_frames: &f.reset_frames,
            client_packets: f.client_packets,
            server_packets: f.server_packets,
            client_stream: Stream::new(&t.client_stream),
            server_stream: Stream::new(&t.server_stream),
        }
    }
}

#[derive(Serialize)]
struct TcpClose {
    by: &'static str,
    how: &'static str,
    frame: u64,
}

impl TcpClose {
    fn new(c: Close) -> Self {
        TcpClose {
            by: side(c.by),
            how: match c.how {
                CloseHow::Fin => "fin",
                CloseHow::Rst => "rst",
            },
            frame: c.frame,
        }
    }
}

#[derive(Serialize)]
struct Stream {
    bytes: u64,
    segments: u64,
    retransmissions: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_retransmission_frame: Option<u64>,
    #[serde(skip_serializing_if = "is_zero")]
    duplicates: u64,
    out_of_order: u64,
    gap_bytes: u64,
    gaps: u64,
    snaplen_bytes: u64,
    conflicting_overlaps: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_conflict_frame: Option<u64>,
    out_of_window: u64,
    #[serde(skip_serializing_if = "is_zero")]
    late_segments: u64,
    #[serde(skip_serializing_if = "is_zero")]
    late_max_packets: u64,
    #[serde(skip_serializing_if = "is_zero")]
    late_max_micros: u64,
}

impl Stream {
    fn new(s: &StreamStats) -> Self {
        Stream {
            bytes: s.bytes,
            segments: s.segments,
            retransmissions: s.retransmissions,
            first_retransmission_frame: s.first_retransmission_frame,
            duplicates: s.duplicates,
            out_of_order: s.out_of_order,
            gap_bytes: s.gap_bytes,
            gaps: s.gaps,
            snaplen_bytes: s.snaplen_bytes,
            conflicting_overlaps: s.conflicting_overlaps,
            first_conflict_frame: s.first_conflict_frame,
            out_of_window: s.out_of_window,
            late_segments: s.late_segments,
            late_max_packets: s.late_max_packets,
            late_max_micros: s.late_max_micros,
        }
    }
}

#[derive(Serialize)]
struct Quote<'a> {
    frame: u64,
    text: &'a str,
}

impl<'a> Quote<'a> {
    fn new(e: &'a Evidence) -> Self {
        Quote {
            frame: e.frame,
            text: &e.text,
        }
    }
}

#[derive(Serialize)]
struct Identity<'a> {
    provider: &'static str,
    software: &'static str,
    endpoint: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cloud: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frame: Option<u64>,
    source: &'a str,
}

impl<'a> Identity<'a> {
    fn new(i: &'a ServerIdentity) -> Self {
        Identity {
            provider: match i.provider {
                Provider::ExchangeOnline => "exchange-online",
                Provider::ExchangeOnPremises => "exchange-on-premises",
                Provider::Google => "google",
                Provider::Other => "other",
            },
            software: match i.software {
                Software::Exchange => "exchange",
                Software::Gmail => "gmail",
                Software::Postfix => "postfix",
                Software::Exim => "exim",
                Software::Sendmail => "sendmail",
                Software::OpenSmtpd => "open-smtpd",
                Software::IisSmtp => "iis-smtp",
                Software::Unknown => "unknown",
            },
            endpoint: match i.endpoint {
                server::Endpoint::Submission => "submission",
                server::Endpoint::LegacySubmission => "legacy-submission",
                server::Endpoint::InboundMx => "inbound-mx",
                server::Endpoint::Relay => "relay",
                server::Endpoint::Unknown => "unknown",
            },
            cloud: i.cloud.map(|c| match c {
                Cloud::Worldwide => "worldwide",
                Cloud::UsGovernment => "us-government",
                Cloud::China => "china",
            }),
            name: i.name.as_deref(),
            frame: i.frame,
            source: i.source,
        }
    }
}

#[derive(Serialize)]
struct MailTransaction<'a> {
    mail_frame: u64,
    sender: &'a str,
    sender_reply: Option<u16>,
    recipients: Vec<MailRecipient<'a>>,
    data_reply: Option<u16>,
    data_reply_frame: Option<u64>,
    accepted: bool,
    /// Read from the record lengths inside TLS: the addresses (empty) are not known.
    #[serde(skip_serializing_if = "is_false")]
    inferred: bool,
}

impl<'a> MailTransaction<'a> {
    fn new(t: &'a Transaction) -> Self {
        MailTransaction {
            mail_frame: t.mail_frame,
            sender: &t.sender,
            sender_reply: t.sender_reply,
            recipients: t.recipients.iter().map(MailRecipient::new).collect(),
            data_reply: t.data_reply,
            data_reply_frame: t.data_reply_frame,
            accepted: t.accepted,
            inferred: t.inferred,
        }
    }
}

#[derive(Serialize)]
struct MailRecipient<'a> {
    address: &'a str,
    frame: u64,
    reply: Option<u16>,
}

impl<'a> MailRecipient<'a> {
    fn new(r: &'a Recipient) -> Self {
        MailRecipient {
            address: &r.address,
            frame: r.frame,
            reply: r.reply,
        }
    }
}

/// One element of `findings`.
#[derive(Serialize)]
pub(super) struct FindingView<'a> {
    id: &'static str,
    severity: &'static str,
    title: &'a str,
    explanation: &'a str,
    remediation: &'a str,
    session: Option<usize>,
    evidence: Vec<Quote<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    superseded_by: Option<usize>,
}

impl<'a> FindingView<'a> {
    pub(super) fn new(f: &'a Finding) -> Self {
        FindingView {
            id: f.id.as_str(),
            severity: match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            },
            title: f.title,
            explanation: f.explanation,
            remediation: &f.remediation,
            session: f.session,
            evidence: f.evidence.iter().map(Quote::new).collect(),
            superseded_by: f.superseded_by,
        }
    }
}

// The JSON names of the stages' enums. Some enums have a `name()` that reads the same
// today (for the text view); these are written again on purpose: they belong to schema 1
// and must not change when the text view rewords something.

pub(super) fn side(s: Side) -> &'static str {
    match s {
        Side::Client => "client",
        Side::Server => "server",
    }
}

fn protocol(p: Protocol) -> &'static str {
    match p {
        Protocol::Smtp => "smtp",
        Protocol::Pop3 => "pop3",
    }
}

fn handshake(h: Handshake) -> &'static str {
    match h {
        Handshake::Complete => "complete",
        Handshake::SynUnanswered => "syn-unanswered",
        Handshake::Refused => "refused",
        Handshake::NotSeen => "not-seen",
    }
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Delivered => "delivered",
        Outcome::Rejected => "rejected",
        Outcome::NoConnection => "no-connection",
        Outcome::TlsFailed => "tls-failed",
        Outcome::EncryptedMessageTransferred => "encrypted-message-transferred",
        Outcome::EncryptedNoMessage => "encrypted-no-message",
        Outcome::TestOnly => "test-only",
        Outcome::Incomplete => "incomplete",
        Outcome::LoginAccepted => "login-accepted",
        Outcome::LoginRefused => "login-refused",
    }
}

fn stage(s: Stage) -> &'static str {
    match s {
        Stage::Greeting => "greeting",
        Stage::Helo => "helo",
        Stage::Starttls => "starttls",
        Stage::Auth => "auth",
        Stage::Mail => "mail",
        Stage::Rcpt => "rcpt",
        Stage::Data => "data",
    }
}

fn server_role(r: ServerRole) -> &'static str {
    match r {
        ServerRole::ExoSubmission => "exo-submission",
        ServerRole::ExoInboundMx => "exo-inbound-mx",
        ServerRole::Other => "other",
    }
}
