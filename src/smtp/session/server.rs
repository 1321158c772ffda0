//! The server's side: replies, matched to the commands they answer.

use super::{
    clip, decode_base64, display_text, enhanced_code, first_line, parse_reply_line, to_next_line,
    Answered, Answers, ClientMode, DotScanner, EntryKind, GapReason, Line, PendingReply,
    ServerMode, Side, Slot, SmtpSession, Timestamp, Verb, MAX_REPLY_GARBAGE, MAX_REPLY_LINES,
    NOT_A_REPLY, RESYNC, TLS_HANDSHAKE,
};

impl SmtpSession {
    pub(super) fn server_data(&mut self, mut data: &[u8], frame: u64, time: Timestamp) {
        self.server_spoke = true;
        while !data.is_empty() {
            match &mut self.server {
                ServerMode::Replies => {
                    if self.replies == 0
                        && self.reply.is_none()
                        && self.server_lines.is_empty()
                        && data[0] == TLS_HANDSHAKE
                        && !self.inside_tls()
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
                    self.add_tls(Side::Server, entry, data, frame, time);
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
    pub(super) fn server_garbage(&mut self) {
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
    pub(super) fn note_not_a_reply(&mut self, line: &Line, text: String) {
        self.note_unparsed(
            Side::Server,
            line.wire_len,
            NOT_A_REPLY,
            Some(text),
            line.frame,
            line.time,
        );
    }

    pub(super) fn resync_server_line(&mut self, line: Line) {
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

    pub(super) fn server_line(&mut self, line: Line) {
        let Some(r) = parse_reply_line(&line.text) else {
            if line.wire_len > MAX_REPLY_GARBAGE as u64 {
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
    pub(super) fn flush_reply(&mut self) {
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
    pub(super) fn answer_for(&mut self, code: u16, text: &[u8]) -> Option<Answers> {
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

    pub(super) fn apply_reply(&mut self, code: u16, answered: Option<&Answered>) {
        if answered.is_some_and(|a| a.is(&Verb::Quit)) && (200..300).contains(&code) {
            self.quit_answered = true;
        }
        let awaited = match &self.client {
            ClientMode::Await { what, .. } => Some(*what),
            _ => None,
        };

        if answered.is_some_and(|a| a.is(&Verb::Starttls)) && code == 220 && !self.inside_tls() {
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
    pub(super) fn answered(&mut self, code: Option<u16>) {
        self.greeting_seen = true;
        let answered = self.outstanding.pop_front().map(|o| o.answers);
        if let (ClientMode::Await { what, .. }, Some(a)) = (&self.client, &answered) {
            if what.answered_by(a) {
                self.resolve_await(Some(code.unwrap_or(0)));
            }
        }
    }

    pub(super) fn server_gap(&mut self, len: u64, reason: GapReason, frame: u64, time: Timestamp) {
        if matches!(self.server, ServerMode::Tls { .. })
            || self.sealed[Side::Server.index()].is_some()
        {
            self.tls.gap(Side::Server);
            self.record.gap(Side::Server, len, reason, frame, time);
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
        self.record.gap(Side::Server, len, reason, frame, time);
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
