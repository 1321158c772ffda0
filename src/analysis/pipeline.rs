use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};
use std::sync::Arc;

use super::app::{is_server_port, App};
use super::{Analysis, CaptureProblem, DnsName, Session};
use crate::base::{Endpoint, Timestamp};
use crate::capture::Frame;
use crate::dns::DnsLog;
use crate::packet::{PacketDecoder, Transport};
use crate::tcp::{Connection, ConnectionTable, SegmentMeta, TableLimits};
use crate::tls::KeyLog;

/// One capture's analysis, without input or output of its own (sans-IO): frames and
/// clock ticks go in, finished sessions come out in order of their first frame.
pub(crate) struct Pipeline {
    decoder: PacketDecoder,
    dns: DnsLog,
    attempts: Attempts,
    table: ConnectionTable<App>,
    reorder: Reorder,
    ready: VecDeque<Session>,
    secrets: Secrets,
    first_time: Option<Timestamp>,
    last_time: Option<Timestamp>,
    since_scan: u64,
    scan_every: u64,
    /// The first frame of the oldest conversation still open, as last scanned.
    open: u64,
    /// TLS secrets: the key log given, and those the capture carries.
    keys: Option<Arc<KeyLog>>,
    /// Live: each session is handed on as soon as its conversation is over, numbered in
    /// that order (not held back behind older conversations still open).
    live: bool,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline {
            decoder: PacketDecoder::default(),
            dns: DnsLog::default(),
            attempts: Attempts::default(),
            table: ConnectionTable::new(TableLimits::default(), is_server_port),
            reorder: Reorder::default(),
            ready: VecDeque::new(),
            secrets: Secrets::default(),
            first_time: None,
            last_time: None,
            since_scan: 0,
            scan_every: SCAN_EVERY,
            open: 0,
            keys: None,
            live: false,
        }
    }
}

impl Pipeline {
    /// A pipeline that decrypts the TLS sessions `keys` has secrets for.
    pub(crate) fn with_keys(keys: Option<Arc<KeyLog>>) -> Self {
        Pipeline {
            keys,
            ..Pipeline::default()
        }
    }

    /// Key log text the capture carries (a pcapng Decryption Secrets Block): it decrypts
    /// the conversations that begin after it.
    pub(crate) fn secrets(&mut self, text: &[u8]) {
        let keys = self.keys.get_or_insert_with(Arc::default);
        Arc::make_mut(keys).add(text);
    }

    /// Takes one captured frame.
    pub(crate) fn frame(&mut self, frame: &Frame<'_>) {
        self.first_time.get_or_insert(frame.time);
        self.last_time = Some(frame.time);
        let (number, time) = (frame.number, frame.time);
        let Some(packet) = self.decoder.decode(frame) else {
            return;
        };
        match &packet.transport {
            Transport::Udp(u) if u.src_port == 53 || u.dst_port == 53 => {
                let src = Endpoint {
                    ip: packet.src,
                    port: u.src_port,
                };
                let dst = Endpoint {
                    ip: packet.dst,
                    port: u.dst_port,
                };
                self.dns.datagram(number, src, dst, u.payload);
            }
            Transport::Tcp(seg) => {
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
                    // Read where a side's address is kept: its first packet, the SYN.
                    src_mac: seg
                        .flags
                        .syn
                        .then(|| crate::packet::source_mac(frame.link_type, frame.data))
                        .flatten(),
                };
                let keys = self.keys.as_ref();
                self.table
                    .segment(&meta, seg, |_, server, syn| App::new(server, syn, keys));
                self.since_scan += 1;
                self.after_segment();
            }
            _ => {}
        }
    }

    /// Collects finished conversations and, when due, hands on the sessions no older
    /// open conversation holds back.
    fn after_segment(&mut self) {
        if self.table.has_finished() {
            self.collect_finished();
        } else if self.reorder.waiting.is_empty() || self.since_scan < MAX_SCAN_EVERY {
            // The common case: nothing finished, nothing due.
            return;
        }
        let waiting = self.reorder.waiting.len();
        if waiting >= RELEASE_BATCH && self.since_scan >= self.scan_every
            || (waiting > 0 && self.since_scan >= MAX_SCAN_EVERY)
        {
            // The oldest open conversation only moves forward: between scans of the
            // table the last one found is a safe (early) bound.
            let before = self.open;
            self.scan_and_release();
            // While it stays put (a flood of half-open connections), scan less often.
            self.scan_every = if self.open == before {
                (self.scan_every * 2).min(MAX_SCAN_EVERY)
            } else {
                SCAN_EVERY
            };
        } else if waiting > MAX_WAITING {
            self.reorder.release(self.open, &self.dns, &mut self.ready);
        }
    }

    fn collect_finished(&mut self) {
        for conn in self.table.take_finished() {
            if let Some(s) = collect(conn, &mut self.secrets, &mut self.dns, &mut self.attempts) {
                self.reorder.waiting.push(Reverse(Waiting(s)));
            }
        }
        if self.live {
            self.reorder.release(u64::MAX, &self.dns, &mut self.ready);
        }
    }

    /// Hands on each session as soon as its conversation is over (a live capture).
    pub(crate) fn set_live(&mut self) {
        self.live = true;
    }

    /// How many conversations that may be SMTP or POP3 are open, and the newest of them.
    pub(crate) fn open_conversations(&self) -> (usize, Option<(Endpoint, Endpoint, u64)>) {
        self.table.open_conversations(App::may_be_session)
    }

    fn scan_and_release(&mut self) {
        self.since_scan = 0;
        self.open = self
            .table
            .oldest_first_frame(App::may_be_session)
            .unwrap_or(u64::MAX);
        self.reorder.release(self.open, &self.dns, &mut self.ready);
    }

    /// The clock reads `now` (a live capture between frames): conversations idle or
    /// waiting for data that has not come by `now` are concluded, and every finished
    /// session that no older open conversation holds back is handed on.
    pub(crate) fn tick(&mut self, now: Timestamp) {
        self.table.tick(now);
        self.collect_finished();
        self.scan_and_release();
    }

    /// The input is over: every conversation is concluded and handed on.
    pub(crate) fn end(&mut self) {
        let (secrets, dns, attempts, reorder) = (
            &mut self.secrets,
            &mut self.dns,
            &mut self.attempts,
            &mut self.reorder,
        );
        self.table.finish_all(|conn| {
            if let Some(s) = collect(conn, secrets, dns, attempts) {
                reorder.waiting.push(Reverse(Waiting(s)));
            }
        });
        self.reorder.release(u64::MAX, &self.dns, &mut self.ready);
        self.decoder.finish();
    }

    /// The next finished session, in order of first frame.
    pub(crate) fn pop(&mut self) -> Option<Session> {
        self.ready.pop_front()
    }

    /// What the capture showed as a whole (its sessions are handed on, not kept).
    pub(crate) fn summary(self, file: String, error: Option<CaptureProblem>) -> Analysis {
        let mut dns = self.dns.lookups;
        dns.sort_by_key(|l| l.frame);
        Analysis {
            file,
            format: None,
            compression: None,
            link_types: Vec::new(),
            packets: 0,
            first_time: self.first_time,
            last_time: self.last_time,
            error,
            decode: self.decoder.stats.clone(),
            tcp: self.table.stats.clone(),
            sessions: Vec::new(),
            sessions_out_of_order: self.reorder.out_of_order,
            dns,
            attempts_not_listed: self.attempts.not_listed,
            secrets: self.secrets.list.into_iter().collect(),
            digest: None,
        }
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
    fn release(&mut self, open: u64, dns: &DnsLog, out: &mut VecDeque<Session>) {
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
            out.push_back(s);
        }
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
