use std::collections::VecDeque;

use super::wire::{
    enhanced_code, first_line, is_command_line, parse_bdat, parse_reply_line, plausible_verb,
    split_command, starts_like_command, to_next_line, DotScanner, TLS_HANDSHAKE, VERBS,
};
use crate::base::{Side, Timestamp};
use crate::dialogue::{
    clip, display_text, Answers, Body, BodyKind, Entry, EntryKind, Gap, Line, LineSplitter,
    Recorder, Slot, Unparsed,
};
use crate::dialogue::{decode_base64, decode_response, Answered, Verb};
use crate::tcp::{GapReason, StreamEvent};
use crate::tls::{TlsFacts, TlsObserver};

/// Entries kept per session (real ones have well under a hundred); a hostile peer can
/// send millions of commands.
const MAX_ENTRIES: usize = 2_000;
const MAX_OUTSTANDING: usize = 4096;
const MAX_REPLY_LINES: usize = 1000;
/// Client bytes held while the reply that decides their meaning is awaited.
const MAX_HELD: usize = 64 * 1024;
/// A server line this long without a reply code will not become a reply (RFC 5321 allows
/// 512 octets): the server side has stopped making sense.
const MAX_REPLY_GARBAGE: usize = 4096;

/// Why bytes after missing data were skipped.
const RESYNC: &str = "resynchronising after missing data";

/// Why server bytes that are no reply were not parsed.
const NOT_A_REPLY: &str = "not an SMTP reply";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaiting {
    Data,
    Auth,
    StartTls,
}

impl Awaiting {
    /// Whether a reply to `answered` is the one awaited.
    fn answered_by(self, answered: &Answered) -> bool {
        answered.is(match self {
            Awaiting::Data => &Verb::Data,
            Awaiting::Auth => &Verb::Auth,
            Awaiting::StartTls => &Verb::Starttls,
        })
    }
}

#[derive(Debug)]
struct Held {
    data: Vec<u8>,
    frame: u64,
    time: Timestamp,
}

#[derive(Debug)]
enum ClientMode {
    Command,
    Await {
        what: Awaiting,
        held: Vec<Held>,
        held_bytes: usize,
    },
    Body {
        entry: Slot,
        scan: DotScanner,
        /// Part of the body is missing from the capture.
        gaps: bool,
    },
    Chunk {
        entry: Slot,
        size: u64,
        remaining: u64,
        last: bool,
        gaps: bool,
    },
    AuthLine,
    /// `entry` is made when the first TLS byte comes.
    Tls {
        entry: Slot,
    },
    Resync {
        at_line_start: bool,
    },
}

#[derive(Debug)]
enum ServerMode {
    Replies,
    Tls { entry: Slot },
    Resync { at_line_start: bool },
}

#[derive(Debug)]
struct PendingReply {
    code: u16,
    lines: Vec<String>,
    first_text: Vec<u8>,
    frame: u64,
    end_frame: u64,
    time: Timestamp,
}

#[derive(Debug)]
struct AuthState {
    mechanism: String,
    step: usize,
    prompt: Option<String>,
}

#[derive(Debug)]
struct Outstanding {
    /// What the awaited reply will answer (only unknown verbs allocate).
    answers: Answered,
    frame: u64,
}

/// The SMTP dialogue of one conversation, built from both stream directions as their
/// bytes become known. Bodies are counted, TLS is not parsed, passwords are withheld.
#[derive(Debug)]
pub struct SmtpSession {
    /// The dialogue so far.
    pub record: Recorder,
    /// Passwords and their encodings seen in the clear, for scrubbing any output.
    pub secrets: Vec<String>,
    client: ClientMode,
    client_lines: LineSplitter,
    commands: u64,
    auth: Option<AuthState>,
    server: ServerMode,
    server_lines: LineSplitter,
    reply: Option<PendingReply>,
    replies: u64,
    outstanding: VecDeque<Outstanding>,
    greeting_seen: bool,
    server_spoke: bool,
    /// The server side stopped making sense (a long line that is no reply): the client
    /// no longer waits for replies to tell what its bytes mean.
    server_lost: bool,
    /// The last AUTH was refused; base64 lines that follow are still credentials.
    after_failed_auth: bool,
    /// Frame where the last complete reply ended.
    last_reply_frame: Option<u64>,
    tls: TlsObserver,
    tls_seen: bool,
    /// The last command entry: its index, its bytes and its verb, for folding repeats.
    last_command: Option<(usize, Vec<u8>, &'static str)>,
}

impl SmtpSession {
    /// `mid_stream`: the conversation's start is not in the capture.
    pub fn new(mid_stream: bool) -> Self {
        SmtpSession {
            record: Recorder::new(MAX_ENTRIES),
            secrets: Vec::new(),
            client: if mid_stream {
                ClientMode::Resync {
                    at_line_start: false,
                }
            } else {
                ClientMode::Command
            },
            client_lines: LineSplitter::default(),
            commands: 0,
            auth: None,
            server: if mid_stream {
                ServerMode::Resync {
                    at_line_start: false,
                }
            } else {
                ServerMode::Replies
            },
            server_lines: LineSplitter::default(),
            reply: None,
            replies: 0,
            outstanding: VecDeque::new(),
            greeting_seen: mid_stream,
            server_spoke: false,
            server_lost: false,
            after_failed_auth: false,
            last_reply_frame: None,
            tls: TlsObserver::default(),
            tls_seen: false,
            last_command: None,
        }
    }

    pub fn event(&mut self, side: Side, frame: u64, time: Timestamp, event: StreamEvent<'_>) {
        match (side, event) {
            (Side::Client, StreamEvent::Data(d)) => self.client_data(d, frame, time),
            (Side::Server, StreamEvent::Data(d)) => self.server_data(d, frame, time),
            (Side::Client, StreamEvent::Gap { len, reason }) => {
                self.client_gap(len, reason, frame, time)
            }
            (Side::Server, StreamEvent::Gap { len, reason }) => {
                self.server_gap(len, reason, frame, time)
            }
        }
    }

    /// The streams have ended: settle what is still open.
    /// What the capture shows of the TLS session, when there was one.
    pub fn tls_facts(&self) -> Option<TlsFacts> {
        self.tls_seen.then(|| self.tls.facts.clone())
    }

    /// Bytes before the protocol began (a tunnel or proxy handshake), not parsed.
    pub fn note_prefix(&mut self, side: Side, bytes: u64, frame: u64, time: Timestamp) {
        let unparsed = Unparsed {
            bytes,
            reason: "before the protocol began (tunnel or proxy)",
            text: None,
        };
        self.push(frame, time, side, EntryKind::Unparsed { unparsed });
    }

    pub fn finish(&mut self) {
        // Each resolution reads the held bytes, which may wait again (AUTH, then DATA):
        // every byte is read before the session ends.
        while let ClientMode::Await { .. } = self.client {
            self.resolve_await(None);
        }
        if let Some(line) = self.client_lines.take_partial() {
            match self.client {
                ClientMode::Command => self.client_line(line),
                ClientMode::AuthLine => self.auth_line(line),
                ClientMode::Resync { .. } => self.resync_client_line(line),
                _ => {}
            }
        }
        if let Some(line) = self.server_lines.take_partial() {
            match self.server {
                ServerMode::Replies => self.server_line(line),
                ServerMode::Resync { .. } => self.resync_server_line(line),
                ServerMode::Tls { .. } => {}
            }
        }
        self.flush_reply();
    }

    fn push(&mut self, frame: u64, time: Timestamp, from: Side, kind: EntryKind) -> Option<usize> {
        self.record.push(frame, time, from, kind)
    }

    /// Bytes skipped while looking for the next line start after missing data.
    fn note_resync(&mut self, side: Side, bytes: usize, frame: u64, time: Timestamp) {
        let reason = if side == Side::Server && self.server_lost {
            NOT_A_REPLY
        } else {
            RESYNC
        };
        self.note_unparsed(side, bytes as u64, reason, None, frame, time);
    }

    fn note_unparsed(
        &mut self,
        from: Side,
        bytes: u64,
        reason: &'static str,
        text: Option<String>,
        frame: u64,
        time: Timestamp,
    ) {
        let unparsed = Unparsed {
            bytes,
            reason,
            text,
        };
        self.record.unparsed(from, unparsed, frame, time);
    }

    // ---- client side ----

    fn client_data(&mut self, mut data: &[u8], frame: u64, time: Timestamp) {
        while !data.is_empty() {
            match &mut self.client {
                ClientMode::Command => {
                    if self.commands == 0
                        && self.client_lines.is_empty()
                        && data[0] == TLS_HANDSHAKE
                    {
                        // Implicit TLS: a ClientHello where a command should be.
                        self.start_tls(Side::Client, frame, time);
                        continue;
                    }
                    let (line, n) = self.client_lines.feed(data, frame, time);
                    data = &data[n..];
                    if let Some(line) = line {
                        self.client_line(line);
                    }
                }
                ClientMode::AuthLine => {
                    let (line, n) = self.client_lines.feed(data, frame, time);
                    data = &data[n..];
                    if let Some(line) = line {
                        self.auth_line(line);
                    }
                }
                ClientMode::Await {
                    held, held_bytes, ..
                } => {
                    held.push(Held {
                        data: data.to_vec(),
                        frame,
                        time,
                    });
                    *held_bytes += data.len();
                    data = &[];
                    // Without a server voice (one-sided capture, or a server that stopped
                    // making sense) or past the bound, decide now.
                    if !self.server_spoke || self.server_lost || *held_bytes > MAX_HELD {
                        self.resolve_await(None);
                    }
                }
                ClientMode::Body { entry, scan, gaps } => {
                    if *entry == Slot::Unmade {
                        let i = self.push(
                            frame,
                            time,
                            Side::Client,
                            EntryKind::Body {
                                body: new_body(BodyKind::Data, frame),
                            },
                        );
                        if let ClientMode::Body { entry, .. } = &mut self.client {
                            *entry = i.into();
                        }
                        continue;
                    }
                    let (used, done) = scan.scan(data);
                    data = &data[used..];
                    let (entry, bytes, lines, gaps) = (*entry, scan.bytes, scan.lines, *gaps);
                    if let Some(body) = self.record.body_mut(entry) {
                        body.bytes = bytes;
                        body.lines = lines;
                        body.end_frame = frame;
                        body.gaps = gaps;
                        body.complete = done;
                    }
                    if done {
                        self.client = ClientMode::Command;
                        self.expect_reply(Answered::EndOfData, frame);
                    }
                }
                ClientMode::Chunk {
                    entry,
                    size,
                    remaining,
                    last,
                    gaps,
                } => {
                    let take = (*remaining).min(data.len() as u64);
                    *remaining -= take;
                    data = &data[take as usize..];
                    let (size, remaining, last, gaps) = (*size, *remaining, *last, *gaps);
                    let idx = match *entry {
                        Slot::Unmade => {
                            let mut body = new_body(BodyKind::Bdat, frame);
                            body.last = last;
                            let i = self.push(frame, time, Side::Client, EntryKind::Body { body });
                            if let ClientMode::Chunk { entry, .. } = &mut self.client {
                                *entry = i.into();
                            }
                            i.into()
                        }
                        made => made,
                    };
                    if let Some(body) = self.record.body_mut(idx) {
                        body.bytes = size - remaining;
                        body.end_frame = frame;
                        body.complete = remaining == 0;
                        body.gaps = gaps;
                    }
                    if remaining == 0 {
                        self.client = ClientMode::Command;
                    }
                }
                ClientMode::Tls { entry } => {
                    let entry = *entry;
                    if entry == Slot::Unmade {
                        self.start_tls(Side::Client, frame, time);
                        continue;
                    }
                    self.add_tls(Side::Client, entry, data, frame);
                    data = &[];
                }
                ClientMode::Resync { at_line_start } => {
                    if !*at_line_start && self.client_lines.is_empty() {
                        if starts_like_command(data) {
                            *at_line_start = true;
                            continue;
                        }
                        let (skip, line_end) = to_next_line(data);
                        *at_line_start = line_end;
                        self.note_resync(Side::Client, skip, frame, time);
                        data = &data[skip..];
                        continue;
                    }
                    let (line, n) = self.client_lines.feed(data, frame, time);
                    data = &data[n..];
                    if let Some(line) = line {
                        self.resync_client_line(line);
                    }
                }
            }
        }
    }

    fn resync_client_line(&mut self, line: Line) {
        if is_command_line(&line.text) {
            self.client = ClientMode::Command;
            self.client_line(line);
        } else {
            self.note_unparsed(
                Side::Client,
                line.wire_len,
                RESYNC,
                None,
                line.frame,
                line.time,
            );
        }
    }

    fn client_line(&mut self, line: Line) {
        self.commands += 1;
        // A command repeating the one just before in the same segment (a flood of NOOPs,
        // say) is counted on it: each frame still shows what it holds.
        if let Some((at, raw, verb)) = &self.last_command {
            let same_frame = self
                .record
                .entries
                .last()
                .is_some_and(|e| e.frame == line.frame);
            let folds = !matches!(*verb, "DATA" | "BDAT" | "AUTH" | "STARTTLS");
            if *at + 1 == self.record.entries.len() && same_frame && folds && *raw == line.text {
                let verb = *verb;
                if let Some(Entry {
                    kind: EntryKind::Command { repeated, .. },
                    ..
                }) = self.record.entries.last_mut()
                {
                    *repeated += 1;
                }
                self.expect_reply(Answered::Command(Verb::parse(verb)), line.frame);
                return;
            }
        }
        if self.record.is_full() {
            // Past the bound only the reply matching goes on; nothing is allocated.
            self.record.dropped += 1;
            self.expect_reply(Answered::NotACommand, line.frame);
            return;
        }
        let (verb, rest) = split_command(&line.text);
        let known = VERBS.contains(&verb.as_str());
        if known {
            self.after_failed_auth = false;
        } else if self.after_failed_auth && decode_base64(&line.text).is_some() {
            // Credentials sent on although AUTH was refused: still credentials.
            let end = line.end_frame;
            self.record_auth(line);
            self.expect_reply(Answered::NotACommand, end);
            return;
        }
        if !known && !plausible_verb(&verb) {
            // Not a command (binary junk, or text the client meant as a message body),
            // but the server answers it like one.
            let text = clip(&display_text(&line.text), 200);
            let unparsed = Unparsed {
                bytes: line.wire_len,
                reason: "not an SMTP command",
                text: Some(text),
            };
            self.push(
                line.frame,
                line.time,
                Side::Client,
                EntryKind::Unparsed { unparsed },
            );
            self.expect_reply(Answered::NotACommand, line.frame);
            return;
        }
        let argument_text = display_text(rest);
        let mut argument = argument_text;
        let mut initial_response: Option<&[u8]> = None;
        if verb == "AUTH" {
            let mut parts = rest.splitn(2, |&b| b == b' ');
            let mech = parts.next().unwrap_or_default();
            argument = display_text(mech).to_ascii_uppercase();
            initial_response = parts
                .next()
                .map(|r| r.trim_ascii())
                .filter(|r| !r.is_empty());
        }
        let at = self.push(
            line.frame,
            line.time,
            Side::Client,
            EntryKind::Command {
                command: verb.clone(),
                argument: argument.clone(),
                truncated: line.truncated,
                end_frame: (line.end_frame != line.frame).then_some(line.end_frame),
                repeated: 0,
            },
        );
        self.last_command = VERBS
            .iter()
            .find(|v| **v == verb)
            .zip(at)
            .map(|(v, at)| (at, line.text.clone(), *v));
        self.expect_reply(Answered::Command(Verb::parse(&verb)), line.frame);
        match verb.as_str() {
            "DATA" => self.await_reply(Awaiting::Data),
            "STARTTLS" => self.await_reply(Awaiting::StartTls),
            "AUTH" => {
                self.auth = Some(AuthState {
                    mechanism: argument,
                    step: 0,
                    prompt: None,
                });
                if let Some(ir) = initial_response {
                    // "=" is an empty initial response (RFC 4954).
                    if ir != b"=" {
                        let fake = Line {
                            text: ir.to_vec(),
                            ..line
                        };
                        self.record_auth(fake);
                    }
                }
                self.await_reply(Awaiting::Auth);
            }
            "BDAT" => {
                if let Some((size, last)) = parse_bdat(rest) {
                    self.client = ClientMode::Chunk {
                        entry: Slot::Unmade,
                        size,
                        remaining: size,
                        last,
                        gaps: false,
                    };
                    if size == 0 {
                        let mut body = new_body(BodyKind::Bdat, line.frame);
                        body.last = last;
                        body.complete = true;
                        self.push(
                            line.frame,
                            line.time,
                            Side::Client,
                            EntryKind::Body { body },
                        );
                        self.client = ClientMode::Command;
                    }
                }
            }
            _ => {}
        }
    }

    fn expect_reply(&mut self, answers: Answered, frame: u64) {
        if self.outstanding.len() >= MAX_OUTSTANDING {
            self.outstanding.pop_front();
        }
        self.outstanding.push_back(Outstanding { answers, frame });
    }

    fn await_reply(&mut self, what: Awaiting) {
        self.client = ClientMode::Await {
            what,
            held: Vec::new(),
            held_bytes: 0,
        };
    }

    fn auth_line(&mut self, line: Line) {
        self.record_auth(line);
        self.await_reply(Awaiting::Auth);
    }

    fn record_auth(&mut self, line: Line) {
        let (mechanism, step, prompt) = match &self.auth {
            Some(a) => (a.mechanism.clone(), a.step, a.prompt.clone()),
            None => ("UNKNOWN".to_string(), 0, None),
        };
        let (data, secrets) = decode_response(&mechanism, step, prompt.as_deref(), &line.text);
        self.secrets.extend(secrets);
        if let Some(a) = &mut self.auth {
            a.step += 1;
        }
        self.push(
            line.frame,
            line.time,
            Side::Client,
            EntryKind::Auth { auth: data },
        );
    }

    /// The reply the client was waiting for came (`code`), or will not (`None`: guess
    /// from the held bytes). Then the held bytes are read in the mode now known.
    fn resolve_await(&mut self, code: Option<u16>) {
        let ClientMode::Await { what, held, .. } =
            std::mem::replace(&mut self.client, ClientMode::Command)
        else {
            return;
        };
        let first = held.first().map(|h| h.data.as_slice()).unwrap_or_default();
        self.client = match (what, code) {
            (Awaiting::Data, Some(354)) => ClientMode::Body {
                entry: Slot::Unmade,
                scan: DotScanner::default(),
                gaps: false,
            },
            (Awaiting::Data, None) if !first.is_empty() && !is_command_line(first) => {
                ClientMode::Body {
                    entry: Slot::Unmade,
                    scan: DotScanner::default(),
                    gaps: false,
                }
            }
            (Awaiting::StartTls, Some(220)) => ClientMode::Tls {
                entry: Slot::Unmade,
            },
            (Awaiting::StartTls, None) if first.first() == Some(&TLS_HANDSHAKE) => {
                ClientMode::Tls {
                    entry: Slot::Unmade,
                }
            }
            (Awaiting::Auth, Some(334)) => ClientMode::AuthLine,
            // Unsure whether these are credentials: reading them as such withholds them.
            (Awaiting::Auth, None) if !first.is_empty() && !is_command_line(first) => {
                ClientMode::AuthLine
            }
            _ => ClientMode::Command,
        };
        if !matches!(self.client, ClientMode::AuthLine) && what == Awaiting::Auth && code.is_some()
        {
            self.auth = None;
            self.after_failed_auth = !code.is_some_and(|c| (200..300).contains(&c));
        }
        for h in held {
            self.client_data(&h.data, h.frame, h.time);
        }
    }

    fn client_gap(&mut self, len: u64, reason: GapReason, frame: u64, time: Timestamp) {
        if let ClientMode::Await { .. } = self.client {
            self.resolve_await(None);
        }
        // The start of a command cut by the gap (a snapshot length) is still worth showing.
        if matches!(
            self.client,
            ClientMode::Command
                | ClientMode::Resync {
                    at_line_start: true
                }
        ) {
            if let Some(mut line) = self.client_lines.take_partial() {
                if matches!(self.client, ClientMode::Command) || is_command_line(&line.text) {
                    line.truncated = true;
                    self.client = ClientMode::Command;
                    self.client_line(line);
                }
            }
        }
        self.push(
            frame,
            time,
            Side::Client,
            EntryKind::Gap {
                gap: Gap { bytes: len, reason },
            },
        );
        match &mut self.client {
            ClientMode::Body { entry, scan, gaps } => {
                *gaps = true;
                scan.lose_place();
                let entry = *entry;
                if let Some(b) = self.record.body_mut(entry) {
                    b.gaps = true;
                }
            }
            ClientMode::Chunk {
                entry,
                remaining,
                gaps,
                ..
            } if len < *remaining => {
                *remaining -= len;
                *gaps = true;
                let entry = *entry;
                if let Some(b) = self.record.body_mut(entry) {
                    b.gaps = true;
                }
            }
            ClientMode::Chunk { entry, .. } => {
                let entry = *entry;
                if let Some(b) = self.record.body_mut(entry) {
                    b.gaps = true;
                }
                self.client_lines.reset();
                self.client = ClientMode::Resync {
                    at_line_start: false,
                };
            }
            ClientMode::Tls { .. } => self.tls.gap(Side::Client),
            _ => {
                self.client_lines.reset();
                self.client = ClientMode::Resync {
                    at_line_start: false,
                };
            }
        }
    }

    // ---- TLS ----

    fn start_tls(&mut self, side: Side, frame: u64, time: Timestamp) {
        // Past the entry bound the TLS part is still TLS, just not listed.
        let entry = self.record.start_tls(side, frame, time);
        match side {
            Side::Client => self.client = ClientMode::Tls { entry },
            Side::Server => self.server = ServerMode::Tls { entry },
        }
    }

    fn add_tls(&mut self, side: Side, entry: Slot, data: &[u8], frame: u64) {
        self.tls_seen = true;
        self.tls.feed(side, data, frame);
        self.record.add_tls(entry, data, frame);
    }

    // ---- server side ----

    fn server_data(&mut self, mut data: &[u8], frame: u64, time: Timestamp) {
        self.server_spoke = true;
        while !data.is_empty() {
            match &mut self.server {
                ServerMode::Replies => {
                    if self.replies == 0
                        && self.reply.is_none()
                        && self.server_lines.is_empty()
                        && data[0] == TLS_HANDSHAKE
                    {
                        self.start_tls(Side::Server, frame, time);
                        continue;
                    }
                    let (line, n) = self.server_lines.feed(data, frame, time);
                    data = &data[n..];
                    if let Some(line) = line {
                        self.server_line(line);
                    } else if self.server_lines.pending_len() > MAX_REPLY_GARBAGE {
                        self.server_garbage();
                    }
                }
                ServerMode::Tls { entry } => {
                    let entry = *entry;
                    if entry == Slot::Unmade {
                        self.start_tls(Side::Server, frame, time);
                        continue;
                    }
                    self.add_tls(Side::Server, entry, data, frame);
                    data = &[];
                }
                ServerMode::Resync { at_line_start } => {
                    if !*at_line_start && self.server_lines.is_empty() {
                        if parse_reply_line(first_line(data)).is_some() {
                            *at_line_start = true;
                            continue;
                        }
                        let (skip, line_end) = to_next_line(data);
                        *at_line_start = line_end;
                        self.note_resync(Side::Server, skip, frame, time);
                        data = &data[skip..];
                        continue;
                    }
                    let (line, n) = self.server_lines.feed(data, frame, time);
                    data = &data[n..];
                    if let Some(line) = line {
                        self.resync_server_line(line);
                    }
                }
            }
        }
    }

    /// A server line grew far beyond any reply without a code: it is recorded as not
    /// parsed, the rest of it skipped, and the client is read without waiting for replies.
    fn server_garbage(&mut self) {
        let Some(line) = self.server_lines.take_partial() else {
            return;
        };
        if parse_reply_line(&line.text).is_some() {
            // An overlong reply line: it is still a reply when it ends.
            self.server_line(line);
            return;
        }
        self.flush_reply();
        self.note_not_a_reply(&line, clip(&display_text(&line.text), 200));
        self.server = ServerMode::Resync {
            at_line_start: false,
        };
        self.server_lost = true;
        if let ClientMode::Await { .. } = self.client {
            self.resolve_await(None);
        }
    }

    /// A server line that is no reply, recorded as not parsed with its text.
    fn note_not_a_reply(&mut self, line: &Line, text: String) {
        self.note_unparsed(
            Side::Server,
            line.wire_len,
            NOT_A_REPLY,
            Some(text),
            line.frame,
            line.time,
        );
    }

    fn resync_server_line(&mut self, line: Line) {
        if parse_reply_line(&line.text).is_some() {
            self.server = ServerMode::Replies;
            self.server_line(line);
        } else {
            self.note_unparsed(
                Side::Server,
                line.wire_len,
                RESYNC,
                None,
                line.frame,
                line.time,
            );
        }
    }

    fn server_line(&mut self, line: Line) {
        let Some(r) = parse_reply_line(&line.text) else {
            if line.wire_len as usize > MAX_REPLY_GARBAGE {
                self.server_lost = true;
            }
            self.flush_reply();
            let text = display_text(&line.text);
            // Right after a reply in the same segment, it is a piece of that reply (a raw
            // line break inside echoed text); otherwise it answers the oldest open command.
            let continues_reply = self.last_reply_frame == Some(line.frame);
            self.note_not_a_reply(&line, text);
            if !continues_reply {
                self.answered(None);
            }
            return;
        };
        self.server_lost = false;
        match &mut self.reply {
            Some(p) if p.code == r.code => {
                if p.lines.len() < MAX_REPLY_LINES {
                    p.lines.push(display_text(&line.text));
                }
                p.end_frame = line.end_frame;
            }
            _ => {
                self.flush_reply();
                self.reply = Some(PendingReply {
                    code: r.code,
                    lines: vec![display_text(&line.text)],
                    first_text: r.text.to_vec(),
                    frame: line.frame,
                    end_frame: line.end_frame,
                    time: line.time,
                });
            }
        }
        if !r.more {
            self.flush_reply();
        }
    }

    /// Completes the reply being read (its last line came, or it was cut short).
    fn flush_reply(&mut self) {
        let Some(p) = self.reply.take() else { return };
        self.replies += 1;
        self.last_reply_frame = Some(p.end_frame);
        // A server says nothing during a message body but at its end: when the capture
        // missed the lone dot, a reply still ends the body.
        if let ClientMode::Body { gaps, .. } = &self.client {
            if *gaps {
                self.client = ClientMode::Command;
                self.client_lines.reset();
                self.expect_reply(Answered::EndOfData, p.frame);
            }
        }
        let enhanced = enhanced_code(&p.first_text);
        let answers = self.answer_for(p.code, &p.first_text);
        self.push(
            p.frame,
            p.time,
            Side::Server,
            EntryKind::Reply {
                code: p.code,
                enhanced,
                lines: p.lines,
                end_frame: (p.end_frame != p.frame).then_some(p.end_frame),
                answers: answers.clone(),
            },
        );
        self.apply_reply(p.code, answers.as_ref().map(|a| &a.command));
    }

    /// Which command a reply with `code` answers; takes it off the queue unless the
    /// exchange goes on (334 during AUTH).
    fn answer_for(&mut self, code: u16, text: &[u8]) -> Option<Answers> {
        // The server speaks first: its first reply is the greeting, even when the client
        // sent something before it arrived.
        if !self.greeting_seen {
            self.greeting_seen = true;
            return Some(Answers {
                command: Answered::Greeting,
                frame: 0,
            });
        }
        let front = self.outstanding.front()?;
        let answers = Answers {
            command: front.answers.clone(),
            frame: front.frame,
        };
        if front.answers.is(&Verb::Auth) && code == 334 {
            let prompt = decode_base64(text).map(|p| display_text(&p));
            if let Some(a) = &mut self.auth {
                a.prompt = prompt;
            }
        } else {
            self.outstanding.pop_front();
        }
        Some(answers)
    }

    fn apply_reply(&mut self, code: u16, answered: Option<&Answered>) {
        let awaited = match &self.client {
            ClientMode::Await { what, .. } => Some(*what),
            _ => None,
        };

        if answered.is_some_and(|a| a.is(&Verb::Starttls)) && code == 220 {
            self.server_lines.reset();
            self.server = ServerMode::Tls {
                entry: Slot::Unmade,
            };
        }
        match awaited {
            Some(w) if answered.is_some_and(|v| w.answered_by(v)) => self.resolve_await(Some(code)),
            None if answered.is_none() => {
                // Unmatched (picked up mid-stream): the code tells what the client sends next.
                if let ClientMode::Resync { .. } = self.client {
                    match code {
                        354 => {
                            self.client = ClientMode::Body {
                                entry: Slot::Unmade,
                                scan: DotScanner::default(),
                                gaps: false,
                            }
                        }
                        334 => self.client = ClientMode::AuthLine,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// An answer that is not a valid reply still closes the oldest open command.
    fn answered(&mut self, code: Option<u16>) {
        self.greeting_seen = true;
        let answered = self.outstanding.pop_front().map(|o| o.answers);
        if let (ClientMode::Await { what, .. }, Some(a)) = (&self.client, &answered) {
            if what.answered_by(a) {
                self.resolve_await(Some(code.unwrap_or(0)));
            }
        }
    }

    fn server_gap(&mut self, len: u64, reason: GapReason, frame: u64, time: Timestamp) {
        if let ServerMode::Tls { .. } = self.server {
            self.tls.gap(Side::Server);
            self.push(
                frame,
                time,
                Side::Server,
                EntryKind::Gap {
                    gap: Gap { bytes: len, reason },
                },
            );
            return;
        }
        // The start of a reply line cut by the gap still carries its code.
        if matches!(
            self.server,
            ServerMode::Replies
                | ServerMode::Resync {
                    at_line_start: true
                }
        ) {
            if let Some(mut line) = self.server_lines.take_partial() {
                if parse_reply_line(&line.text).is_some() {
                    line.truncated = true;
                    self.server = ServerMode::Replies;
                    self.server_line(line);
                }
            }
        }
        self.flush_reply();
        self.push(
            frame,
            time,
            Side::Server,
            EntryKind::Gap {
                gap: Gap { bytes: len, reason },
            },
        );
        self.server_lines.reset();
        self.server = ServerMode::Resync {
            at_line_start: false,
        };
        // The replies in the gap are lost: which commands they answered is unknown.
        self.outstanding.clear();
        if let ClientMode::Await { .. } = self.client {
            self.resolve_await(None);
        }
    }
}

fn new_body(kind: BodyKind, frame: u64) -> Body {
    Body {
        kind,
        bytes: 0,
        lines: 0,
        end_frame: frame,
        complete: false,
        gaps: false,
        last: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(s: &mut SmtpSession, side: Side, frame: u64, data: &[u8]) {
        s.event(side, frame, Timestamp::default(), StreamEvent::Data(data));
    }

    fn summary(s: &SmtpSession) -> Vec<String> {
        s.record
            .entries
            .iter()
            .map(|e| match &e.kind {
                EntryKind::Command { command, .. } => format!("{} C:{command}", e.frame),
                EntryKind::Reply { code, .. } => format!("{} S:{code}", e.frame),
                EntryKind::Auth { auth } => format!(
                    "{} auth:{}",
                    e.frame,
                    auth.username.clone().unwrap_or("*".into())
                ),
                EntryKind::Body { body } => format!("{} body:{}", e.frame, body.bytes),
                EntryKind::Tls { tls } => format!("{} tls:{}", e.frame, tls.bytes),
                EntryKind::Gap { gap } => format!("{} gap:{}", e.frame, gap.bytes),
                EntryKind::Unparsed { unparsed } => format!("{} ?:{}", e.frame, unparsed.bytes),
                EntryKind::Status { status, .. } => format!("{} S:{status}", e.frame),
            })
            .collect()
    }

    #[test]
    fn pipelined_commands_and_rejected_data_are_not_a_body() {
        let mut s = SmtpSession::new(false);
        feed(&mut s, Side::Server, 1, b"220 mx ESMTP\r\n");
        feed(
            &mut s,
            Side::Client,
            2,
            b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
        );
        feed(&mut s, Side::Server, 3, b"553 no\r\n503 no\r\n503 no\r\n");
        feed(&mut s, Side::Client, 4, b"RSET\r\n");
        s.finish();
        assert_eq!(
            summary(&s),
            [
                "1 S:220", "2 C:MAIL", "2 C:RCPT", "2 C:DATA", "3 S:553", "3 S:503", "3 S:503",
                "4 C:RSET"
            ]
        );
    }

    #[test]
    fn auth_login_password_is_withheld() {
        let mut s = SmtpSession::new(false);
        feed(&mut s, Side::Server, 1, b"220 x\r\n");
        feed(&mut s, Side::Client, 2, b"AUTH LOGIN\r\n");
        feed(&mut s, Side::Server, 3, b"334 VXNlcm5hbWU6\r\n");
        feed(&mut s, Side::Client, 4, b"dXNlckBleGFtcGxlLmNvbQ==\r\n");
        feed(&mut s, Side::Server, 5, b"334 UGFzc3dvcmQ6\r\n");
        feed(&mut s, Side::Client, 6, b"aHVudGVyMg==\r\n");
        feed(&mut s, Side::Server, 7, b"235 2.7.0 ok\r\n");
        feed(&mut s, Side::Client, 8, b"QUIT\r\n");
        s.finish();
        assert_eq!(
            summary(&s),
            [
                "1 S:220",
                "2 C:AUTH",
                "3 S:334",
                "4 auth:user@example.com",
                "5 S:334",
                "6 auth:*",
                "7 S:235",
                "8 C:QUIT"
            ]
        );
        let json = format!("{:?}", s.record.entries);
        assert!(!json.contains("hunter2") && !json.contains("aHVudGVyMg"));
        assert!(s.secrets.contains(&"hunter2".to_string()));
    }

    #[test]
    fn starttls_switches_both_sides_to_tls() {
        let mut s = SmtpSession::new(false);
        feed(&mut s, Side::Server, 1, b"220 x\r\n");
        feed(&mut s, Side::Client, 2, b"STARTTLS\r\n");
        feed(&mut s, Side::Server, 3, b"220 2.0.0 SMTP server ready\r\n");
        feed(&mut s, Side::Client, 4, b"\x16\x03\x01\x00\x05hello");
        feed(&mut s, Side::Server, 5, b"\x16\x03\x03\x00\x02hi");
        s.finish();
        assert_eq!(
            summary(&s),
            ["1 S:220", "2 C:STARTTLS", "3 S:220", "4 tls:10", "5 tls:7"]
        );
    }

    #[test]
    fn bdat_chunks_are_counted_by_length() {
        let mut s = SmtpSession::new(false);
        feed(&mut s, Side::Server, 1, b"220 x\r\n");
        feed(&mut s, Side::Client, 2, b"BDAT 6\r\nQUIT\r");
        feed(&mut s, Side::Client, 3, b"\nBDAT 0 LAST\r\nQUIT\r\n");
        s.finish();
        assert_eq!(
            summary(&s),
            ["1 S:220", "2 C:BDAT", "2 body:6", "3 C:BDAT", "3 body:0", "3 C:QUIT"]
        );
    }

    #[test]
    fn a_server_turned_to_garbage_does_not_hide_the_client() {
        let mut s = SmtpSession::new(false);
        feed(&mut s, Side::Server, 1, b"220 mx ESMTP\r\n");
        feed(&mut s, Side::Client, 2, b"EHLO MX-4070N\r\n");
        for f in 3..7 {
            feed(&mut s, Side::Server, f, &[b'x'; 1225]);
        }
        let user = "b2ZmaWNlQGRvbWFpbi5jb20="; // office@domain.com
        let pass = "U2NhbjJNYWlsITIwMjY="; // Scan2Mail!2026
        let lines = [
            "AUTH LOGIN\r\n".to_string(),
            format!("{user}\r\n"),
            format!("{pass}\r\n"),
            "MAIL FROM:<office@domain.com>\r\n".into(),
            "RCPT TO:<scans@domain.com>\r\n".into(),
            "DATA\r\n".into(),
            format!("Subject: scan\r\n\r\n{}\r\n.\r\n", "y".repeat(6000)),
            "QUIT\r\n".into(),
        ];
        for (i, l) in lines.iter().enumerate() {
            feed(&mut s, Side::Client, 7 + i as u64, l.as_bytes());
        }
        s.finish();
        let cmds: Vec<&str> = s
            .record
            .entries
            .iter()
            .filter_map(|e| e.command())
            .collect();
        assert_eq!(cmds, ["EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"]);
        assert!(
            s.secrets.iter().any(|p| p == "Scan2Mail!2026"),
            "{:?}",
            s.secrets
        );
        let auth = s
            .record
            .entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::Auth { .. }))
            .count();
        assert_eq!(auth, 2);
        let body = s.record.entries.iter().find_map(|e| match &e.kind {
            EntryKind::Body { body } => Some(body.complete),
            _ => None,
        });
        assert_eq!(body, Some(true));
        // Every server byte is accounted for: the greeting and one unparsed run.
        let unparsed: u64 = s
            .record
            .entries
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::Unparsed { unparsed } if e.from == Side::Server => Some(unparsed.bytes),
                _ => None,
            })
            .sum();
        assert_eq!(unparsed, 4 * 1225);
    }

    #[test]
    fn one_sided_capture_reads_the_body() {
        let mut s = SmtpSession::new(false);
        feed(
            &mut s,
            Side::Client,
            1,
            b"ehlo x\r\nmail FROM:<a>\r\nrcpt TO:<b>\r\ndata\r\n",
        );
        feed(
            &mut s,
            Side::Client,
            2,
            b"From: a\r\n\r\nbody\r\n.\r\nquit\r\n",
        );
        s.finish();
        assert_eq!(
            summary(&s),
            [
                "1 C:EHLO",
                "1 C:MAIL",
                "1 C:RCPT",
                "1 C:DATA",
                "2 body:17",
                "2 C:QUIT"
            ]
        );
    }
}
