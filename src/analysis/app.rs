use std::sync::Arc;

use crate::base::Timestamp;
use crate::base::{Endpoint, Side};
use crate::dialogue::Entry;
use crate::dns::DnsOverTcp;
use crate::pop3::Pop3Session;
use crate::smtp::SmtpSession;
use crate::tcp::{StreamEvent, StreamSink, TcpFacts};
use crate::tls::{KeyLog, TlsFacts};

/// The mail protocol of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// SMTP (ports 25, 587, 465, 2525, or recognised by its greeting).
    Smtp,
    /// POP3 (POP before SMTP).
    Pop3,
}

impl Protocol {
    /// `smtp` or `pop3`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Pop3 => "pop3",
        }
    }
}

const SMTP_PORTS: [u16; 4] = [25, 587, 465, 2525];
const POP3_PORT: u16 = 110;
/// Bytes of each direction looked at before deciding a conversation on another port
/// is neither SMTP nor POP3.
const PROBE_LIMIT: usize = 4096;

/// Ports a server listens on, for telling client from server without a handshake.
pub fn is_server_port(port: u16) -> bool {
    SMTP_PORTS.contains(&port)
        || matches!(
            port,
            53 | 80 | 110 | 143 | 443 | 993 | 995 | 1080 | 3128 | 8080 | 9100
        )
}

/// What a finished conversation's protocol state hands on.
pub struct Dialogue {
    pub protocol: Protocol,
    pub entries: Vec<Entry>,
    pub tls: Option<TlsFacts>,
    pub secrets: Vec<String>,
    pub dropped_entries: u64,
}

/// The protocol state of one TCP conversation.
pub enum App {
    Probe(Probe),
    /// An SMTP port, no byte yet: the session is made when data comes (a SYN flood to
    /// port 25 costs no session state).
    SmtpIdle {
        mid_stream: bool,
        keys: Option<Arc<KeyLog>>,
    },
    // Boxed: most conversations are neither, and carry only the small variants.
    Smtp(Box<SmtpSession>),
    Pop3(Box<Pop3Session>),
    /// DNS over TCP: its messages join the capture's DNS lookups.
    Dns(Box<DnsOverTcp>),
    /// Not SMTP or POP3: only TCP facts are kept.
    Other,
}

/// A stream event held by the probe: data, or a gap of `gap` bytes.
struct Buffered {
    side: Side,
    frame: u64,
    time: Timestamp,
    data: Option<Vec<u8>>,
    gap: u64,
}

/// Buffers the first bytes of a conversation on an unknown port until its content tells.
pub struct Probe {
    mid_stream: bool,
    keys: Option<Arc<KeyLog>>,
    events: Vec<Buffered>,
    client: Vec<u8>,
    server: Vec<u8>,
    /// Offsets in `client` / `server` where a segment's data began.
    client_starts: Vec<usize>,
    server_starts: Vec<usize>,
    /// The buffers were flipped: the connection's roles must be swapped to match.
    swap: bool,
}

impl App {
    /// The state for a new conversation; `keys` decrypt its TLS sessions.
    pub fn new(server: &Endpoint, syn_seen: bool, keys: Option<&Arc<KeyLog>>) -> App {
        let mid_stream = !syn_seen;
        let keys = keys.cloned();
        if SMTP_PORTS.contains(&server.port) {
            App::SmtpIdle { mid_stream, keys }
        } else if server.port == POP3_PORT {
            App::Pop3(Box::new(Pop3Session::new(mid_stream)))
        } else if server.port == 53 {
            App::Dns(Box::default())
        } else {
            App::Probe(Probe {
                mid_stream,
                keys,
                events: Vec::new(),
                client: Vec::new(),
                server: Vec::new(),
                client_starts: Vec::new(),
                server_starts: Vec::new(),
                swap: false,
            })
        }
    }

    /// Whether the conversation may still turn out to be an SMTP or POP3 session.
    pub fn may_be_session(&self) -> bool {
        matches!(
            self,
            App::Probe(_) | App::SmtpIdle { .. } | App::Smtp(_) | App::Pop3(_)
        )
    }

    /// The dialogue, for SMTP and POP3 conversations.
    pub fn into_dialogue(self) -> Option<Dialogue> {
        match self {
            App::Smtp(s) => Some(Dialogue {
                protocol: Protocol::Smtp,
                tls: s.tls_facts(),
                entries: s.record.entries,
                secrets: s.secrets,
                dropped_entries: s.record.dropped,
            }),
            App::Pop3(s) => Some(Dialogue {
                protocol: Protocol::Pop3,
                tls: None,
                entries: s.record.entries,
                secrets: s.secrets,
                dropped_entries: s.record.dropped,
            }),
            App::SmtpIdle { .. } => Some(Dialogue {
                protocol: Protocol::Smtp,
                tls: None,
                entries: Vec::new(),
                secrets: Vec::new(),
                dropped_entries: 0,
            }),
            App::Probe(_) | App::Dns(_) | App::Other => None,
        }
    }
}

impl StreamSink for App {
    fn is_over(&self) -> bool {
        matches!(self, App::Smtp(s) if s.is_over())
    }

    fn event(&mut self, side: Side, frame: u64, time: Timestamp, event: StreamEvent<'_>) {
        if let App::SmtpIdle { mid_stream, keys } = self {
            *self = App::Smtp(Box::new(SmtpSession::with_keys(*mid_stream, keys.take())));
        }
        match self {
            App::Smtp(s) => s.event(side, frame, time, event),
            App::Pop3(s) => s.event(side, frame, time, event),
            App::SmtpIdle { .. } | App::Other => {}
            App::Dns(d) => match event {
                StreamEvent::Data(data) => d.data(side == Side::Client, data, frame),
                StreamEvent::Gap { .. } => d.gap(side == Side::Client),
            },
            App::Probe(p) => {
                // Until the table has swapped the roles, events arrive with the old sides.
                let side = if p.swap { side.other() } else { side };
                p.push(side, frame, time, &event);
                if let Some(decided) = p.decide(false) {
                    *self = decided;
                }
            }
        }
    }

    fn wants_data(&self) -> bool {
        !matches!(self, App::Other)
    }

    fn take_role_swap(&mut self) -> bool {
        match self {
            App::Probe(p) => std::mem::take(&mut p.swap),
            _ => false,
        }
    }

    fn finish(&mut self, _facts: &TcpFacts) {
        if let App::Probe(p) = self {
            *self = p.decide(true).unwrap_or(App::Other);
        }
        match self {
            App::Smtp(s) => s.finish(),
            App::Pop3(s) => s.finish(),
            _ => {}
        }
    }
}

impl Probe {
    fn push(&mut self, side: Side, frame: u64, time: Timestamp, event: &StreamEvent<'_>) {
        match event {
            StreamEvent::Data(d) => {
                let (buf, starts) = match side {
                    Side::Client => (&mut self.client, &mut self.client_starts),
                    Side::Server => (&mut self.server, &mut self.server_starts),
                };
                starts.push(buf.len());
                let room = PROBE_LIMIT.saturating_sub(buf.len());
                buf.extend_from_slice(&d[..d.len().min(room)]);
                self.events.push(Buffered {
                    side,
                    frame,
                    time,
                    data: Some(d.to_vec()),
                    gap: 0,
                });
            }
            StreamEvent::Gap { len, .. } => self.events.push(Buffered {
                side,
                frame,
                time,
                data: None,
                gap: *len,
            }),
        }
    }

    /// SMTP when the server greets with 2xx and the client says EHLO or HELO (at a line
    /// start, or after a binary prefix such as a SOCKS handshake); POP3 likewise with
    /// `+OK` and a POP3 command. `None`: not yet known.
    fn decide(&mut self, at_end: bool) -> Option<App> {
        // SMTP and POP3 servers speak first: a client that has sent a full segment's worth
        // before any server byte (a print job, say) is neither. A proxy handshake is short.
        if self.server.is_empty() && self.client.len() > 1024 {
            return Some(App::Other);
        }
        let smtp = find_smtp_greeting(&self.server, &self.server_starts).zip(find_word(
            &self.client,
            &self.client_starts,
            &[b"EHLO ", b"HELO ", b"ehlo ", b"helo "],
        ));
        if let Some((s, c)) = smtp {
            let session =
                std::cell::RefCell::new(SmtpSession::with_keys(self.mid_stream, self.keys.take()));
            self.replay(
                s,
                c,
                |side, bytes, f, t| session.borrow_mut().note_prefix(side, bytes, f, t),
                |side, f, t, ev| session.borrow_mut().event(side, f, t, ev),
            );
            let session = session.into_inner();
            return Some(App::Smtp(Box::new(session)));
        }
        let pop3 = self.server.starts_with(b"+OK").then_some(0).zip(find_word(
            &self.client,
            &self.client_starts,
            &[b"USER ", b"CAPA", b"APOP ", b"AUTH ", b"STLS"],
        ));
        if let Some((s, c)) = pop3 {
            let session = std::cell::RefCell::new(Pop3Session::new(self.mid_stream));
            self.replay(
                s,
                c,
                |side, bytes, f, t| session.borrow_mut().note_prefix(side, bytes, f, t),
                |side, f, t, ev| session.borrow_mut().event(side, f, t, ev),
            );
            let session = session.into_inner();
            return Some(App::Pop3(Box::new(session)));
        }
        // Picked up mid-stream with the roles guessed wrong: the greeting came from the
        // side taken for the client. Flip, and let the table swap the connection's roles.
        if self.mid_stream && !self.swap {
            let greeting = find_smtp_greeting(&self.client, &self.client_starts);
            let ehlo = find_word(
                &self.server,
                &self.server_starts,
                &[b"EHLO ", b"HELO ", b"ehlo ", b"helo "],
            );
            if greeting.is_some() && ehlo.is_some() {
                self.flip();
                self.swap = true;
                return None;
            }
        }
        let gave_up = self.client.len() >= PROBE_LIMIT
            || self.server.len() >= PROBE_LIMIT
            || self.events.len() > 64;
        (at_end || gave_up).then_some(App::Other)
    }

    /// Exchanges the two directions of what is buffered.
    fn flip(&mut self) {
        std::mem::swap(&mut self.client, &mut self.server);
        std::mem::swap(&mut self.client_starts, &mut self.server_starts);
        for e in &mut self.events {
            e.side = e.side.other();
        }
    }

    /// Feeds the buffered events to `sink`, skipping what precedes the protocol.
    fn replay(
        &mut self,
        server_skip: usize,
        client_skip: usize,
        mut prefix: impl FnMut(Side, u64, u64, Timestamp),
        mut sink: impl FnMut(Side, u64, Timestamp, StreamEvent<'_>),
    ) {
        let mut skip = [client_skip, server_skip];
        for Buffered {
            side,
            frame,
            time,
            data,
            gap,
        } in std::mem::take(&mut self.events)
        {
            let i = usize::from(side == Side::Server);
            match data {
                Some(d) => {
                    let cut = skip[i].min(d.len());
                    skip[i] -= cut;
                    if cut > 0 {
                        prefix(side, cut as u64, frame, time);
                    }
                    if cut < d.len() {
                        sink(side, frame, time, StreamEvent::Data(&d[cut..]));
                    }
                }
                None => sink(
                    side,
                    frame,
                    time,
                    StreamEvent::Gap {
                        len: gap,
                        reason: crate::tcp::GapReason::NotCaptured,
                    },
                ),
            }
        }
    }
}

/// Where a message can begin: the stream start, a line start, or a segment start (the
/// end of a binary prefix such as a SOCKS handshake).
fn message_start(buf: &[u8], starts: &[usize], i: usize) -> bool {
    i == 0 || buf[i - 1] == b'\n' || starts.binary_search(&i).is_ok()
}

/// Offset of a 2xx reply line at a message start.
fn find_smtp_greeting(buf: &[u8], starts: &[usize]) -> Option<usize> {
    (0..buf.len().saturating_sub(3)).find(|&i| {
        message_start(buf, starts, i)
            && buf[i] == b'2'
            && buf[i + 1].is_ascii_digit()
            && buf[i + 2].is_ascii_digit()
            && matches!(buf.get(i + 3), Some(b' ' | b'-'))
    })
}

fn find_word(buf: &[u8], starts: &[usize], words: &[&[u8]]) -> Option<usize> {
    (0..buf.len())
        .find(|&i| message_start(buf, starts, i) && words.iter().any(|w| buf[i..].starts_with(w)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{TcpFlags, TcpSegment};
    use crate::tcp::{ConnectionTable, SegmentMeta, TableLimits};

    #[test]
    fn roles_picked_up_mid_stream_on_unknown_ports_are_told_by_content() {
        let low = Endpoint {
            ip: [192, 0, 2, 10].into(),
            port: 40000,
        };
        let high = Endpoint {
            ip: [192, 0, 2, 25].into(),
            port: 40001,
        };
        let mut t: ConnectionTable<App> =
            ConnectionTable::new(TableLimits::default(), is_server_port);
        let ack = TcpFlags {
            syn: false,
            ack: true,
            fin: false,
            rst: false,
        };
        // The server is on the higher port, so the port rule guesses wrong.
        let packets: [(Endpoint, Endpoint, u32, u32, &[u8]); 3] = [
            (high, low, 1000, 5000, b"220 mail.example ESMTP\r\n"),
            (low, high, 5000, 1024, b"EHLO copier\r\n"),
            (high, low, 1024, 5013, b"250 mail.example\r\n"),
        ];
        for (i, (src, dst, seq, a, payload)) in packets.into_iter().enumerate() {
            let meta = SegmentMeta {
                frame: i as u64 + 1,
                time: Timestamp::default(),
                src,
                dst,
                src_mac: None,
            };
            let seg = TcpSegment {
                src_port: src.port,
                dst_port: dst.port,
                seq,
                ack: a,
                flags: ack,
                payload,
                missing: 0,
            };
            t.segment(&meta, &seg, |_, server, syn| App::new(server, syn, None));
        }
        let mut all = Vec::new();
        t.finish_all(|c| all.push(c));
        assert_eq!(all.len(), 1);
        let c = all.pop().unwrap();
        assert_eq!((c.client, c.server), (low, high));
        assert_eq!((c.facts.client_packets, c.facts.server_packets), (1, 2));
        let d = c.sink.into_dialogue().expect("an SMTP session");
        let summary: Vec<(Side, Option<&str>, Option<u16>)> = d
            .entries
            .iter()
            .map(|e| (e.from, e.command(), e.reply_code()))
            .collect();
        assert_eq!(
            summary,
            [
                (Side::Server, None, Some(220)),
                (Side::Client, Some("EHLO"), None),
                (Side::Server, None, Some(250))
            ]
        );
    }
}
