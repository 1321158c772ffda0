use std::collections::VecDeque;

use crate::base::{Side, Timestamp};
use crate::dialogue::{
    decode_base64, decode_response, display_text, Answered, Answers, AuthData, Body, BodyKind,
    Entry, EntryKind, Exposure, Line, LineSplitter, Recorder, Slot, Unparsed, Verb,
};
use crate::tcp::StreamEvent;

const MAX_ENTRIES: usize = 50_000;
const MAX_OUTSTANDING: usize = 4096;
const MAX_LISTED_LINES: usize = 1000;

#[derive(Debug)]
enum ServerMode {
    Status,
    /// A multi-line response up to the lone dot: listed (CAPA, LIST, UIDL) or counted (RETR, TOP).
    Multi {
        entry: Option<usize>,
        listed: bool,
    },
    Tls {
        entry: Slot,
    },
    Lost,
}

#[derive(Debug)]
enum ClientMode {
    Command,
    Sasl,
    Tls { entry: Slot },
    Lost,
}

/// The POP3 dialogue of one conversation, with passwords withheld.
#[derive(Debug)]
pub struct Pop3Session {
    /// The dialogue so far.
    pub record: Recorder,
    /// Passwords seen in the clear, for scrubbing any output.
    pub secrets: Vec<String>,
    client: ClientMode,
    client_lines: LineSplitter,
    server: ServerMode,
    server_lines: LineSplitter,
    outstanding: VecDeque<(String, u64)>,
    greeting_seen: bool,
    sasl: Option<(String, usize, Option<String>)>,
}

impl Pop3Session {
    pub fn new(mid_stream: bool) -> Self {
        Pop3Session {
            record: Recorder::new(MAX_ENTRIES),
            secrets: Vec::new(),
            client: if mid_stream {
                ClientMode::Lost
            } else {
                ClientMode::Command
            },
            client_lines: LineSplitter::default(),
            server: if mid_stream {
                ServerMode::Lost
            } else {
                ServerMode::Status
            },
            server_lines: LineSplitter::default(),
            outstanding: VecDeque::new(),
            greeting_seen: mid_stream,
            sasl: None,
        }
    }

    pub fn event(&mut self, side: Side, frame: u64, time: Timestamp, event: StreamEvent<'_>) {
        match event {
            StreamEvent::Data(d) => self.data(side, d, frame, time),
            StreamEvent::Gap { len, reason } => {
                self.record.gap(side, len, reason, frame, time);
                match side {
                    Side::Client if !matches!(self.client, ClientMode::Tls { .. }) => {
                        self.client_lines.reset();
                        self.client = ClientMode::Lost;
                    }
                    Side::Server if !matches!(self.server, ServerMode::Tls { .. }) => {
                        self.server_lines.reset();
                        self.server = ServerMode::Lost;
                        self.outstanding.clear();
                    }
                    _ => {}
                }
            }
        }
    }

    /// Bytes before the protocol began (a tunnel or proxy handshake), not parsed.
    pub fn note_prefix(&mut self, side: Side, bytes: u64, frame: u64, time: Timestamp) {
        self.record.prefix(side, bytes, frame, time);
    }

    pub fn finish(&mut self) {
        if let Some(line) = self.client_lines.take_partial() {
            self.client_line(line);
        }
        if let Some(line) = self.server_lines.take_partial() {
            self.server_line(line);
        }
    }

    fn push(&mut self, frame: u64, time: Timestamp, from: Side, kind: EntryKind) -> Option<usize> {
        self.record.push(frame, time, from, kind)
    }

    /// A line skipped while looking for the protocol again after missing data.
    fn skipped(&mut self, side: Side, line: &Line) {
        let unparsed = Unparsed {
            bytes: line.wire_len,
            reason: "resynchronising after missing data",
            text: None,
        };
        self.push(
            line.frame,
            line.time,
            side,
            EntryKind::Unparsed { unparsed },
        );
    }

    /// One side's bytes: TLS after STLS, lines before.
    fn data(&mut self, side: Side, mut data: &[u8], frame: u64, time: Timestamp) {
        while !data.is_empty() {
            let tls = match (side, &mut self.client, &mut self.server) {
                (Side::Client, ClientMode::Tls { entry }, _)
                | (Side::Server, _, ServerMode::Tls { entry }) => Some(entry),
                _ => None,
            };
            if let Some(entry) = tls {
                self.record.tls(entry, side, data, frame, time);
                return;
            }
            let lines = match side {
                Side::Client => &mut self.client_lines,
                Side::Server => &mut self.server_lines,
            };
            let (line, n) = lines.feed(data, frame, time);
            data = data.get(n..).unwrap_or_default();
            match (side, line) {
                (Side::Client, Some(line)) => self.client_line(line),
                (Side::Server, Some(line)) => self.server_line(line),
                (_, None) => {}
            }
        }
    }

    fn client_line(&mut self, line: Line) {
        match self.client {
            ClientMode::Sasl => {
                let (mech, step, prompt) = self.sasl.clone().unwrap_or(("UNKNOWN".into(), 0, None));
                let (auth, secrets) = decode_response(&mech, step, prompt.as_deref(), &line.text);
                self.secrets.extend(secrets);
                if let Some(s) = &mut self.sasl {
                    s.1 += 1;
                }
                self.client = ClientMode::Command;
                self.push(
                    line.frame,
                    line.time,
                    Side::Client,
                    EntryKind::Auth { auth },
                );
                return;
            }
            ClientMode::Lost => {
                let verb = first_word(&line.text);
                if !is_pop3_verb(&verb) {
                    self.skipped(Side::Client, &line);
                    return;
                }
                self.client = ClientMode::Command;
            }
            _ => {}
        }
        let text = &line.text;
        let split = text.iter().position(|&b| b == b' ').unwrap_or(text.len());
        let verb = display_text(&text[..split]).to_ascii_uppercase();
        let rest = text.get(split + 1..).unwrap_or_default();
        let argument = match verb.as_str() {
            "PASS" => {
                self.secrets
                    .push(String::from_utf8_lossy(rest).into_owned());
                self.secrets.push(display_text(rest));
                String::new()
            }
            "APOP" => {
                let (user, digest) = match rest.iter().rposition(|&b| b == b' ') {
                    Some(i) => (&rest[..i], &rest[i + 1..]),
                    None => (rest, &rest[..0]),
                };
                self.secrets.push(display_text(digest));
                display_text(user)
            }
            "AUTH" => {
                let mut words = rest.splitn(2, |&b| b == b' ');
                let mech = display_text(words.next().unwrap_or_default()).to_ascii_uppercase();
                self.sasl = Some((mech.clone(), 0, None));
                if let Some(ir) = words.next().filter(|r| !r.is_empty() && *r != b"=") {
                    let (auth, secrets) = decode_response(&mech, 0, None, ir);
                    self.secrets.extend(secrets);
                    self.push(
                        line.frame,
                        line.time,
                        Side::Client,
                        EntryKind::Auth { auth },
                    );
                    if let Some(s) = &mut self.sasl {
                        s.1 = 1;
                    }
                }
                mech
            }
            _ => display_text(rest),
        };
        // PASS sends the password itself; APOP a digest of it and the greeting's stamp.
        let exposure = match verb.as_str() {
            "PASS" => Some(Exposure::Password),
            "APOP" => Some(Exposure::Digest),
            _ => None,
        };
        let end_frame = (line.end_frame != line.frame).then_some(line.end_frame);
        let command = EntryKind::Command {
            command: verb.clone(),
            argument,
            truncated: line.truncated,
            end_frame,
            repeated: 0,
        };
        self.push(line.frame, line.time, Side::Client, command);
        if let Some(exposure) = exposure {
            let auth = AuthData {
                mechanism: verb.clone(),
                username: None,
                redacted: true,
                exposure,
                cancelled: false,
            };
            self.push(
                line.frame,
                line.time,
                Side::Client,
                EntryKind::Auth { auth },
            );
        }
        if self.outstanding.len() >= MAX_OUTSTANDING {
            self.outstanding.pop_front();
        }
        self.outstanding.push_back((verb, line.frame));
    }

    fn server_line(&mut self, line: Line) {
        match &mut self.server {
            ServerMode::Multi { entry, listed } => {
                let (entry, listed) = (*entry, *listed);
                self.multi_line(&line, entry, listed);
                return;
            }
            ServerMode::Lost => {
                if !(line.text.starts_with(b"+OK") || line.text.starts_with(b"-ERR")) {
                    self.skipped(Side::Server, &line);
                    return;
                }
                self.server = ServerMode::Status;
            }
            _ => {}
        }
        let text = display_text(&line.text);
        let status = if line.text.starts_with(b"+OK") {
            "+OK"
        } else if line.text.starts_with(b"-ERR") {
            "-ERR"
        } else if line.text.starts_with(b"+") {
            "+"
        } else {
            self.push(
                line.frame,
                line.time,
                Side::Server,
                EntryKind::Unparsed {
                    unparsed: Unparsed {
                        bytes: line.wire_len,
                        reason: "not a POP3 response",
                        text: Some(text),
                    },
                },
            );
            return;
        };
        let answers = if !self.greeting_seen {
            self.greeting_seen = true;
            Some(Answers {
                command: Answered::Greeting,
                frame: 0,
            })
        } else if status == "+" {
            // A SASL challenge: the exchange goes on.
            let prompt =
                decode_base64(line.text.get(2..).unwrap_or_default()).map(|p| display_text(&p));
            if let Some(s) = &mut self.sasl {
                s.2 = prompt;
            }
            self.client = ClientMode::Sasl;
            self.outstanding.front().map(|(v, f)| Answers {
                command: Answered::Command(Verb::parse(v)),
                frame: *f,
            })
        } else {
            self.outstanding.pop_front().map(|(v, f)| Answers {
                command: Answered::Command(Verb::parse(&v)),
                frame: f,
            })
        };
        let verb = answers
            .as_ref()
            .map(|a| a.command.as_str().to_string())
            .unwrap_or_default();
        let idx = self.push(
            line.frame,
            line.time,
            Side::Server,
            EntryKind::Status {
                status: status.to_string(),
                lines: vec![text],
                answers,
            },
        );
        if status == "+OK" {
            self.after_ok(&verb, idx, &line);
        }
    }

    /// A line of a multi-line response: listed (CAPA, LIST, UIDL) or counted (RETR, TOP)
    /// in the entry at `entry`, up to the lone dot.
    fn multi_line(&mut self, line: &Line, entry: Option<usize>, listed: bool) {
        if line.text == b"." {
            if let Some(Entry {
                kind: EntryKind::Body { body },
                ..
            }) = entry.and_then(|i| self.record.entries.get_mut(i))
            {
                body.complete = true;
                body.end_frame = line.frame;
            }
            self.server = ServerMode::Status;
            return;
        }
        match entry.and_then(|i| self.record.entries.get_mut(i)) {
            Some(Entry {
                kind: EntryKind::Status { lines, .. },
                ..
            }) if listed && lines.len() < MAX_LISTED_LINES => {
                lines.push(display_text(&line.text));
            }
            Some(Entry {
                kind: EntryKind::Body { body },
                ..
            }) => {
                body.bytes += line.wire_len;
                body.lines += 1;
                body.end_frame = line.frame;
            }
            _ => {}
        }
    }

    /// What a `+OK` to `verb` starts: a multi-line response, or TLS.
    fn after_ok(&mut self, verb: &str, idx: Option<usize>, line: &Line) {
        match verb {
            "CAPA" | "LIST" | "UIDL" => {
                self.server = ServerMode::Multi {
                    entry: idx,
                    listed: true,
                }
            }
            "RETR" | "TOP" => {
                let body = Body {
                    kind: BodyKind::Data,
                    bytes: 0,
                    lines: 0,
                    end_frame: line.frame,
                    complete: false,
                    gaps: false,
                    last: false,
                };
                let i = self.push(
                    line.frame,
                    line.time,
                    Side::Server,
                    EntryKind::Body { body },
                );
                self.server = ServerMode::Multi {
                    entry: i,
                    listed: false,
                };
            }
            "STLS" => {
                self.server = ServerMode::Tls {
                    entry: Slot::Unmade,
                };
                self.client = ClientMode::Tls {
                    entry: Slot::Unmade,
                };
            }
            _ => {}
        }
    }
}

fn first_word(text: &[u8]) -> String {
    let end = text.iter().position(|&b| b == b' ').unwrap_or(text.len());
    display_text(&text[..end]).to_ascii_uppercase()
}

fn is_pop3_verb(verb: &str) -> bool {
    matches!(
        verb,
        "USER"
            | "PASS"
            | "APOP"
            | "AUTH"
            | "STAT"
            | "LIST"
            | "RETR"
            | "DELE"
            | "NOOP"
            | "RSET"
            | "QUIT"
            | "TOP"
            | "UIDL"
            | "CAPA"
            | "STLS"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_password_withheld_and_listing_kept() {
        let mut s = Pop3Session::new(false);
        let t = Timestamp::default();
        s.event(Side::Server, 1, t, StreamEvent::Data(b"+OK POP3 ready\r\n"));
        s.event(
            Side::Client,
            2,
            t,
            StreamEvent::Data(b"USER office@domain.com\r\n"),
        );
        s.event(Side::Server, 3, t, StreamEvent::Data(b"+OK\r\n"));
        s.event(
            Side::Client,
            4,
            t,
            StreamEvent::Data(b"PASS Winter2026!\r\n"),
        );
        s.event(
            Side::Server,
            5,
            t,
            StreamEvent::Data(b"-ERR authentication failed\r\n"),
        );
        s.event(Side::Client, 6, t, StreamEvent::Data(b"CAPA\r\n"));
        s.event(
            Side::Server,
            7,
            t,
            StreamEvent::Data(b"+OK\r\nUSER\r\nSTLS\r\n.\r\n"),
        );
        s.finish();
        let json = format!("{:?}", s.record.entries);
        assert!(!json.contains("Winter2026"), "{json}");
        assert!(json.contains("office@domain.com"));
        assert!(json.contains("\"STLS\""));
        assert!(s.secrets.iter().any(|x| x == "Winter2026!"));
        assert_eq!(s.record.entries.len(), 8);
    }
}
