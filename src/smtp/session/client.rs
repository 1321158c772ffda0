//! The client's side: commands, AUTH lines, message bodies, and what missing client
//! bytes do to them.

use super::{
    clip, decode_base64, decode_response, display_text, is_command_line, new_body, parse_bdat,
    plausible_verb, split_command, starts_like_command, to_next_line, Answered, AuthState,
    Awaiting, BodyKind, ClientMode, DotScanner, Entry, EntryKind, GapReason, Held, Line,
    Outstanding, Side, Slot, SmtpSession, Timestamp, Unparsed, Verb, MAX_HELD, MAX_OUTSTANDING,
    RESYNC, TLS_HANDSHAKE, VERBS,
};

impl SmtpSession {
    pub(super) fn client_data(&mut self, mut data: &[u8], frame: u64, time: Timestamp) {
        while !data.is_empty() {
            match &mut self.client {
                ClientMode::Command => {
                    if self.commands == 0
                        && self.client_lines.is_empty()
                        && data[0] == TLS_HANDSHAKE
                        && !self.inside_tls()
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
                ClientMode::Body { .. } => {
                    let used = self.body_data(data, frame, time);
                    data = data.get(used..).unwrap_or_default();
                }
                ClientMode::Chunk { .. } => {
                    let used = self.chunk_data(data, frame, time);
                    data = data.get(used..).unwrap_or_default();
                }
                ClientMode::Tls { entry } => {
                    let entry = *entry;
                    if entry == Slot::Unmade {
                        self.start_tls(Side::Client, frame, time);
                        continue;
                    }
                    self.add_tls(Side::Client, entry, data, frame, time);
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

    /// DATA's body, counted up to the lone dot; returns the bytes it took.
    fn body_data(&mut self, data: &[u8], frame: u64, time: Timestamp) -> usize {
        if let ClientMode::Body {
            entry: Slot::Unmade,
            ..
        } = self.client
        {
            let body = new_body(BodyKind::Data, frame);
            let made = self.push(frame, time, Side::Client, EntryKind::Body { body });
            if let ClientMode::Body { entry, .. } = &mut self.client {
                *entry = made.into();
            }
        }
        let ClientMode::Body { entry, scan, gaps } = &mut self.client else {
            return 0;
        };
        let (used, done) = scan.scan(data);
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
        used
    }

    /// A BDAT chunk, counted by its announced size; returns the bytes it took.
    fn chunk_data(&mut self, data: &[u8], frame: u64, time: Timestamp) -> usize {
        let ClientMode::Chunk {
            entry,
            size,
            remaining,
            last,
            gaps,
        } = &mut self.client
        else {
            return 0;
        };
        let take = data
            .len()
            .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
        *remaining -= take as u64;
        let (size, remaining, last, gaps) = (*size, *remaining, *last, *gaps);
        let slot = match *entry {
            Slot::Unmade => {
                let mut body = new_body(BodyKind::Bdat, frame);
                body.last = last;
                let made = self.push(frame, time, Side::Client, EntryKind::Body { body });
                if let ClientMode::Chunk { entry, .. } = &mut self.client {
                    *entry = made.into();
                }
                made.into()
            }
            made => made,
        };
        if let Some(body) = self.record.body_mut(slot) {
            body.bytes = size - remaining;
            body.end_frame = frame;
            body.complete = remaining == 0;
            body.gaps = gaps;
        }
        if remaining == 0 {
            self.client = ClientMode::Command;
        }
        take
    }

    pub(super) fn resync_client_line(&mut self, line: Line) {
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

    /// A command repeating the one just before in the same segment (a flood of NOOPs,
    /// say) is counted on it: each frame still shows what it holds.
    fn fold_repeat(&mut self, line: &Line) -> bool {
        let Some((at, raw, verb)) = &self.last_command else {
            return false;
        };
        let same_frame = self
            .record
            .entries
            .last()
            .is_some_and(|e| e.frame == line.frame);
        let folds = !matches!(*verb, "DATA" | "BDAT" | "AUTH" | "STARTTLS");
        if *at + 1 != self.record.entries.len() || !same_frame || !folds || *raw != line.text {
            return false;
        }
        let verb = *verb;
        if let Some(Entry {
            kind: EntryKind::Command { repeated, .. },
            ..
        }) = self.record.entries.last_mut()
        {
            *repeated += 1;
        }
        self.expect_reply(Answered::Command(Verb::parse(verb)), line.frame);
        true
    }

    pub(super) fn client_line(&mut self, line: Line) {
        self.commands += 1;
        if self.fold_repeat(&line) {
            return;
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
                .map(<[u8]>::trim_ascii)
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

    pub(super) fn expect_reply(&mut self, answers: Answered, frame: u64) {
        if self.outstanding.len() >= MAX_OUTSTANDING {
            self.outstanding.pop_front();
        }
        self.outstanding.push_back(Outstanding { answers, frame });
    }

    pub(super) fn await_reply(&mut self, what: Awaiting) {
        self.client = ClientMode::Await {
            what,
            held: Vec::new(),
            held_bytes: 0,
        };
    }

    pub(super) fn auth_line(&mut self, line: Line) {
        self.record_auth(line);
        self.await_reply(Awaiting::Auth);
    }

    pub(super) fn record_auth(&mut self, line: Line) {
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
    pub(super) fn resolve_await(&mut self, code: Option<u16>) {
        let ClientMode::Await { what, held, .. } =
            std::mem::replace(&mut self.client, ClientMode::Command)
        else {
            return;
        };
        let first = held.first().map(|h| h.data.as_slice()).unwrap_or_default();
        // Inside a decrypted TLS session, a second STARTTLS starts nothing we could follow.
        let inside = self.inside_tls();
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
            (Awaiting::StartTls, Some(220)) if !inside => ClientMode::Tls {
                entry: Slot::Unmade,
            },
            (Awaiting::StartTls, None) if !inside && first.first() == Some(&TLS_HANDSHAKE) => {
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

    pub(super) fn client_gap(&mut self, len: u64, reason: GapReason, frame: u64, time: Timestamp) {
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
        self.record.gap(Side::Client, len, reason, frame, time);
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
            _ if self.sealed[Side::Client.index()].is_some() => self.tls.gap(Side::Client),
            _ => {
                self.client_lines.reset();
                self.client = ClientMode::Resync {
                    at_line_start: false,
                };
            }
        }
    }
}
