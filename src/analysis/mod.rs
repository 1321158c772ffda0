//! Stage 5: one capture, end to end: frames → packets → conversations → dialogues.

mod app;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::io::Read;
use std::path::Path;

use serde::Serialize;

use crate::capture::{CaptureError, CaptureReader, Timestamp};
use crate::dialogue::{seconds, Entry};
use crate::dns::{DnsLog, Lookup};
use crate::packet::{DecodeStats, PacketDecoder, Transport};
use crate::tcp::{
    Connection, ConnectionTable, Endpoint, SegmentMeta, TableLimits, TableStats, TcpSummary,
};
use crate::tls::TlsFacts;

pub use app::{is_server_port, App, Dialogue, Protocol};

/// Everything smtpcap learned from one capture.
#[derive(Debug, Serialize)]
pub struct Analysis {
    pub file: String,
    /// `pcap`, `pcap-ns` or `pcapng`; null when the file could not be read at all.
    pub format: Option<&'static str>,
    pub compression: Option<&'static str>,
    pub link_types: Vec<String>,
    pub packets: u64,
    #[serde(serialize_with = "opt_seconds")]
    pub first_time: Option<Timestamp>,
    #[serde(serialize_with = "opt_seconds")]
    pub last_time: Option<Timestamp>,
    /// Why the capture could not be read to its end (what was read is still analysed).
    pub error: Option<CaptureProblem>,
    pub decode: DecodeStats,
    pub tcp: TableStats,
    /// DNS lookups (UDP port 53).
    pub dns: Vec<Lookup>,
    /// Connection attempts that carried no data, beyond the first thousand listed as
    /// sessions (a SYN flood must not fill memory).
    pub attempts_not_listed: u64,
    /// Sessions numbered before an older conversation that was still open (more than
    /// 256 finished sessions waited for it); normally 0 and then not serialised.
    #[serde(skip_serializing_if = "is_zero")]
    pub sessions_out_of_order: u64,
    /// Serialised by the report, next to each session's diagnosis.
    #[serde(skip)]
    pub sessions: Vec<Session>,
    /// Passwords seen in the clear; never serialised, used to scrub every output.
    #[serde(skip)]
    pub secrets: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CaptureProblem {
    /// Byte offset in the (decompressed) capture.
    pub offset: u64,
    pub message: String,
}

impl From<&CaptureError> for CaptureProblem {
    fn from(e: &CaptureError) -> Self {
        CaptureProblem {
            offset: e.offset,
            message: e.kind.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DnsName {
    pub name: String,
    pub frame: u64,
}

/// One SMTP or POP3 conversation.
#[derive(Debug, Serialize)]
pub struct Session {
    pub id: usize,
    pub protocol: Protocol,
    pub client: Endpoint,
    pub server: Endpoint,
    #[serde(serialize_with = "seconds")]
    pub start_time: Timestamp,
    #[serde(serialize_with = "seconds")]
    pub end_time: Timestamp,
    pub tcp: TcpSummary,
    pub dialogue: Vec<Entry>,
    /// What the capture shows of the TLS session (after STARTTLS, or implicit TLS).
    pub tls: Option<TlsFacts>,
    /// The name the server's address was looked up as, and the frame of the answer.
    pub dns_name: Option<DnsName>,
    /// Dialogue entries not kept because the conversation exceeded the bound.
    #[serde(skip_serializing_if = "is_zero")]
    pub dropped_entries: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn opt_seconds<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => seconds(t, s),
        None => s.serialize_none(),
    }
}

/// Analyses the capture at `path` (`-` for standard input).
pub fn analyze_path(path: &Path) -> Analysis {
    let name = path.display().to_string();
    match CaptureReader::open(path) {
        Ok(reader) => analyze_reader(name, reader),
        Err(e) => Analysis::unreadable(name, &e),
    }
}

/// Analyses a capture from any byte source.
pub fn analyze_bytes(name: String, bytes: Box<dyn Read + Send>, gzip: bool) -> Analysis {
    match CaptureReader::from_reader(bytes, gzip) {
        Ok(reader) => analyze_reader(name, reader),
        Err(e) => Analysis::unreadable(name, &e),
    }
}

impl Analysis {
    /// What was dropped or cut short to keep memory bounded, one sentence each (none for
    /// an ordinary capture).
    pub fn bounds_reached(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.tcp.evicted_full > 0 {
            out.push(format!(
                "{} conversations were closed early because more than 32,768 were open at once",
                self.tcp.evicted_full
            ));
        }
        if self.attempts_not_listed > 0 {
            out.push(format!(
                "{} connection attempts without data were counted but not listed (beyond the first 1,000)",
                self.attempts_not_listed
            ));
        }
        if self.sessions_out_of_order > 0 {
            out.push(format!(
                "{} sessions were numbered before an older conversation that stayed open",
                self.sessions_out_of_order
            ));
        }
        out
    }

    /// `2026-11-27 08:53:47.654723 to 2026-11-27 08:53:47.657944 UTC (0.0 s)`.
    pub fn time_span(&self) -> Option<String> {
        let (f, l) = (self.first_time?, self.last_time?);
        Some(format!(
            "{} to {} UTC ({:.1} s)",
            f.utc_string(),
            l.utc_string(),
            l.since(f)
        ))
    }

    /// Keeps only the sessions (and DNS lookups) of hosts in `nets`: a device or a server.
    pub fn retain_hosts(&mut self, nets: &[ipnet::IpNet]) {
        self.sessions
            .retain(|s| involves_hosts(nets, &s.client, &s.server));
        self.dns
            .retain(|l| involves_hosts(nets, &l.client, &l.server));
    }

    fn unreadable(file: String, e: &CaptureError) -> Self {
        Analysis {
            file,
            format: None,
            compression: None,
            link_types: Vec::new(),
            packets: 0,
            first_time: None,
            last_time: None,
            error: Some(e.into()),
            decode: DecodeStats::default(),
            tcp: TableStats::default(),
            sessions: Vec::new(),
            dns: Vec::new(),
            attempts_not_listed: 0,
            sessions_out_of_order: 0,
            secrets: Vec::new(),
        }
    }
}

/// Analyses a capture and keeps every session in `Analysis::sessions`.
pub fn analyze_reader(file: String, reader: CaptureReader) -> Analysis {
    let mut sessions = Vec::new();
    let mut a = analyze_reader_with(file, reader, &mut |s| sessions.push(s));
    a.sessions = sessions;
    a
}

/// Whether a conversation between `a` and `b` concerns a host in `nets` (every one does
/// when `nets` is empty: no filter).
pub fn involves_hosts(nets: &[ipnet::IpNet], a: &Endpoint, b: &Endpoint) -> bool {
    nets.is_empty() || nets.iter().any(|n| n.contains(&a.ip) || n.contains(&b.ip))
}

/// Analyses the capture at `path`, handing each session to `on_session` as soon as it is
/// known (in order of first frame, numbered 1, 2, …) instead of keeping it: memory stays
/// bounded however many sessions the capture holds. The returned analysis has no sessions.
pub fn analyze_path_with(path: &Path, on_session: &mut dyn FnMut(Session)) -> Analysis {
    let name = path.display().to_string();
    match CaptureReader::open(path) {
        Ok(reader) => analyze_reader_with(name, reader, on_session),
        Err(e) => Analysis::unreadable(name, &e),
    }
}

/// Sessions finished but not handed on yet: a session is handed on once no conversation
/// that started before it is still open, so that the numbering follows the first frames.
#[derive(Default)]
struct Reorder {
    waiting: BinaryHeap<Reverse<Waiting>>,
    numbered: usize,
    out_of_order: u64,
}

/// At most this many finished sessions wait for an older, still open conversation; past
/// it the oldest are handed on anyway (and counted), so memory stays bounded.
const MAX_WAITING: usize = 256;
/// How many sessions may wait before the table is asked for its oldest open conversation.
const RELEASE_BATCH: usize = 32;
/// Segments between two such scans of the table: at least `SCAN_EVERY`, doubling while
/// the oldest open conversation stays where it was, up to `MAX_SCAN_EVERY` (which is also
/// how long a few waiting sessions may wait).
const SCAN_EVERY: u64 = 1024;
const MAX_SCAN_EVERY: u64 = 1 << 16;

struct Waiting(Session);

impl Waiting {
    fn key(&self) -> (u64, u16) {
        (self.0.tcp.first_frame, self.0.client.port)
    }
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl Reorder {
    /// Hands on the sessions that started before frame `open` (the oldest conversation
    /// still open; `u64::MAX` when none is), and the oldest beyond the bound.
    fn release(&mut self, open: u64, dns: &DnsLog, emit: &mut dyn FnMut(Session)) {
        while let Some(Reverse(top)) = self.waiting.peek() {
            let ready = top.0.tcp.first_frame < open;
            let over = self.waiting.len() > MAX_WAITING;
            if !ready && !over {
                break;
            }
            let Some(Reverse(Waiting(mut s))) = self.waiting.pop() else {
                break;
            };
            if !ready {
                self.out_of_order += 1;
            }
            self.numbered += 1;
            s.id = self.numbered;
            s.dns_name = dns.name_of(&s.server.ip).map(|(name, frame)| DnsName {
                name: name.clone(),
                frame: *frame,
            });
            emit(s);
        }
    }
}

/// Analyses a capture, handing each session to `on_session` (see [`analyze_path_with`]).
pub fn analyze_reader_with(
    file: String,
    mut reader: CaptureReader,
    on_session: &mut dyn FnMut(Session),
) -> Analysis {
    let mut decoder = PacketDecoder::default();
    let mut dns = DnsLog::default();
    let mut attempts = Attempts::default();
    let mut table: ConnectionTable<App> =
        ConnectionTable::new(TableLimits::default(), is_server_port);
    let mut reorder = Reorder::default();
    let mut secrets = Secrets::default();
    let mut first_time = None;
    let mut last_time = None;
    let mut error = None;
    let mut since_scan = 0u64;
    let mut scan_every = SCAN_EVERY;
    let mut open = 0u64;
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                error = Some(CaptureProblem::from(&e));
                break;
            }
        };
        first_time.get_or_insert(frame.time);
        last_time = Some(frame.time);
        let (number, time) = (frame.number, frame.time);
        let Some(packet) = decoder.decode(&frame) else {
            continue;
        };
        if let Transport::Udp(u) = &packet.transport {
            if u.src_port == 53 || u.dst_port == 53 {
                let src = Endpoint {
                    ip: packet.src,
                    port: u.src_port,
                };
                let dst = Endpoint {
                    ip: packet.dst,
                    port: u.dst_port,
                };
                dns.datagram(number, src, dst, u.payload);
            }
        }
        if let Transport::Tcp(seg) = &packet.transport {
            let meta = SegmentMeta {
                frame: number,
                time,
                src: Endpoint {
                    ip: packet.src,
                    port: seg.src_port,
                },
                dst: Endpoint {
                    ip: packet.dst,
                    port: seg.dst_port,
                },
            };
            table.segment(&meta, seg, App::new);
            since_scan += 1;
            if table.has_finished() {
                for conn in table.take_finished() {
                    if let Some(s) = collect(conn, &mut secrets, &mut dns, &mut attempts) {
                        reorder.waiting.push(Reverse(Waiting(s)));
                    }
                }
            } else if reorder.waiting.is_empty() || since_scan < MAX_SCAN_EVERY {
                // The common case: nothing finished, nothing due.
                continue;
            }
            let waiting = reorder.waiting.len();
            if waiting >= RELEASE_BATCH && since_scan >= scan_every
                || (waiting > 0 && since_scan >= MAX_SCAN_EVERY)
            {
                // The oldest open conversation only moves forward: between scans of the
                // table the last one found is a safe (early) bound.
                since_scan = 0;
                let before = open;
                open = table
                    .oldest_first_frame(App::may_be_session)
                    .unwrap_or(u64::MAX);
                reorder.release(open, &dns, on_session);
                // While it stays put (a flood of half-open connections), scan less often.
                scan_every = if open == before {
                    (scan_every * 2).min(MAX_SCAN_EVERY)
                } else {
                    SCAN_EVERY
                };
            } else if waiting > MAX_WAITING {
                reorder.release(open, &dns, on_session);
            }
        }
    }
    table.finish_all(|conn| {
        if let Some(s) = collect(conn, &mut secrets, &mut dns, &mut attempts) {
            reorder.waiting.push(Reverse(Waiting(s)));
        }
    });
    reorder.release(u64::MAX, &dns, on_session);
    decoder.finish();
    dns.lookups.sort_by_key(|l| l.frame);
    Analysis {
        file,
        format: Some(reader.format().name()),
        compression: reader.gzip().then_some("gzip"),
        link_types: reader.link_types().iter().map(|l| l.name()).collect(),
        packets: reader.frames(),
        first_time,
        last_time,
        error,
        decode: decoder.stats.clone(),
        tcp: table.stats.clone(),
        sessions: Vec::new(),
        sessions_out_of_order: reorder.out_of_order,
        dns: dns.lookups,
        attempts_not_listed: attempts.not_listed,
        secrets: secrets.list.into_iter().collect(),
    }
}

/// Passwords seen in the clear, each once.
#[derive(Default)]
struct Secrets {
    list: BTreeSet<String>,
}

/// Distinct passwords kept for scrubbing; the structured output never holds one, so
/// this bound only limits the second line of defence under a flood of logins.
const MAX_SECRETS: usize = 10_000;

impl Secrets {
    fn extend(&mut self, new: Vec<String>) {
        for s in new {
            if self.list.len() < MAX_SECRETS {
                self.list.insert(s);
            }
        }
    }
}

/// Sessions without data listed so far, and those beyond the limit.
#[derive(Default)]
struct Attempts {
    listed: u64,
    not_listed: u64,
}

const MAX_LISTED_ATTEMPTS: u64 = 1000;

fn collect(
    conn: Connection<App>,
    secrets: &mut Secrets,
    dns: &mut DnsLog,
    attempts: &mut Attempts,
) -> Option<Session> {
    let tcp = conn.summary();
    let Connection {
        client,
        server,
        sink,
        ..
    } = conn;
    if let App::Dns(d) = &sink {
        for (from_client, frame, message) in &d.messages {
            let (src, dst) = if *from_client {
                (client, server)
            } else {
                (server, client)
            };
            dns.datagram(*frame, src, dst, message);
        }
        return None;
    }
    let d = sink.into_dialogue()?;
    let empty =
        d.entries.is_empty() && tcp.client_stream.bytes == 0 && tcp.server_stream.bytes == 0;
    if empty && tcp.mid_stream {
        // The tail of a conversation already over (a last ACK, a late reset): no attempt.
        return None;
    }
    if empty {
        if attempts.listed >= MAX_LISTED_ATTEMPTS {
            attempts.not_listed += 1;
            return None;
        }
        attempts.listed += 1;
    }
    secrets.extend(d.secrets);
    Some(Session {
        id: 0,
        protocol: d.protocol,
        client,
        server,
        start_time: tcp.start,
        end_time: tcp.end,
        tcp,
        dialogue: d.entries,
        tls: d.tls,
        dns_name: None,
        dropped_entries: d.dropped_entries,
    })
}
