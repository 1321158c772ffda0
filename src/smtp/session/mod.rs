use std::collections::VecDeque;

use super::wire::{
    enhanced_code, first_line, is_command_line, parse_bdat, parse_reply_line, plausible_verb,
    split_command, starts_like_command, to_next_line, DotScanner, TLS_HANDSHAKE, VERBS,
};
use crate::base::{Side, Timestamp};
use crate::dialogue::{
    clip, display_text, Answers, Body, BodyKind, Entry, EntryKind, Line, LineSplitter, Recorder,
    Slot, Unparsed,
};
use crate::dialogue::{decode_base64, decode_response, Answered, Verb};
use crate::tcp::{GapReason, StreamEvent};
use std::sync::Arc;

use crate::tls::{KeyLog, Plaintext, TlsFacts, TlsObserver};

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
    /// Per side (client, server): the TLS entry whose records are decrypted; the SMTP
    /// state above reads their plaintext.
    sealed: [Option<Slot>; 2],
    /// The server answered QUIT: the dialogue is over, whatever TCP still does.
    quit_answered: bool,
    /// The last command entry: its index, its bytes and its verb, for folding repeats.
    last_command: Option<(usize, Vec<u8>, &'static str)>,
}

mod client;
mod server;
#[cfg(test)]
mod tests;

impl SmtpSession {
    /// `mid_stream`: the conversation's start is not in the capture.
    #[cfg_attr(not(any(test, feature = "internals")), allow(dead_code))] // tests, fuzzing
    pub fn new(mid_stream: bool) -> Self {
        SmtpSession::with_keys(mid_stream, None)
    }

    /// A session that decrypts its TLS part when `keys` has the secrets.
    pub fn with_keys(mid_stream: bool, keys: Option<Arc<KeyLog>>) -> Self {
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
            tls: TlsObserver::with_keys(keys),
            tls_seen: false,
            sealed: [None, None],
            quit_answered: false,
            last_command: None,
        }
    }

    pub fn event(&mut self, side: Side, frame: u64, time: Timestamp, event: StreamEvent<'_>) {
        if let (Some(entry), StreamEvent::Data(d)) = (self.sealed[side.index()], &event) {
            self.add_tls(side, entry, d, frame, time);
            return;
        }
        match (side, event) {
            (Side::Client, StreamEvent::Data(d)) => self.client_data(d, frame, time),
            (Side::Server, StreamEvent::Data(d)) => self.server_data(d, frame, time),
            (Side::Client, StreamEvent::Gap { len, reason }) => {
                self.client_gap(len, reason, frame, time);
            }
            (Side::Server, StreamEvent::Gap { len, reason }) => {
                self.server_gap(len, reason, frame, time);
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
        self.record.prefix(side, bytes, frame, time);
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

    fn start_tls(&mut self, side: Side, frame: u64, time: Timestamp) {
        // Past the entry bound the TLS part is still TLS, just not listed.
        let entry = self.record.start_tls(side, frame, time);
        match side {
            Side::Client => self.client = ClientMode::Tls { entry },
            Side::Server => self.server = ServerMode::Tls { entry },
        }
    }

    fn add_tls(&mut self, side: Side, entry: Slot, data: &[u8], frame: u64, time: Timestamp) {
        self.tls_seen = true;
        self.tls.feed(side, data, frame, time);
        self.record.add_tls(entry, data, frame);
        for plain in self.tls.take_plaintext() {
            self.decrypted(plain, time);
        }
    }

    /// Decrypted application data: the dialogue goes on inside TLS, from where it was at
    /// STARTTLS (RFC 3207: the client starts again with EHLO).
    fn decrypted(&mut self, plain: Plaintext, time: Timestamp) {
        let side = plain.side;
        if self.sealed[side.index()].is_none() {
            let entry = match (&self.client, &self.server, side) {
                (ClientMode::Tls { entry }, _, Side::Client)
                | (_, ServerMode::Tls { entry }, Side::Server) => *entry,
                _ => return,
            };
            self.sealed[side.index()] = Some(entry);
            self.record.inside_tls = true;
            match side {
                Side::Client => self.client = ClientMode::Command,
                Side::Server => self.server = ServerMode::Replies,
            }
        }
        match side {
            Side::Client => self.client_data(&plain.data, plain.frame, time),
            Side::Server => self.server_data(&plain.data, plain.frame, time),
        }
    }

    /// The server has answered QUIT: nothing more can happen in this dialogue.
    pub fn is_over(&self) -> bool {
        self.quit_answered
    }

    /// The dialogue has gone on inside a decrypted TLS session.
    fn inside_tls(&self) -> bool {
        self.sealed.iter().any(Option::is_some)
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
