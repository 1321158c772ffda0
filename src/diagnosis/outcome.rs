use crate::analysis::{Protocol, Session};
use crate::base::Side;
use crate::dialogue::{Answered, EntryKind, Provenance, Verb};
use crate::tcp::Handshake;
use crate::tls::{DecryptionStatus, TlsFacts};

/// How a session ended, as far as the capture shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A message was accepted in clear text.
    Delivered,
    /// A 4xx/5xx reply stopped the attempt (see `stage`).
    Rejected,
    /// SYNs unanswered, or refused.
    NoConnection,
    /// The STARTTLS or implicit-TLS handshake did not complete.
    TlsFailed,
    /// TLS was established and the client sent a message-sized volume (whether it was
    /// accepted cannot be seen).
    EncryptedMessageTransferred,
    /// TLS was established but no message-sized transfer followed.
    EncryptedNoMessage,
    /// Greeting and EHLO (maybe STARTTLS, AUTH) then QUIT, no MAIL: a connection test.
    TestOnly,
    /// The capture ends, or a gap hides the result.
    Incomplete,
    /// POP3 (POP before SMTP): the server accepted the login.
    LoginAccepted,
    /// POP3: the server refused the login (`-ERR`).
    LoginRefused,
}

impl Outcome {
    /// The name the reports use.
    pub fn name(self) -> &'static str {
        match self {
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
}

/// The step of the dialogue a rejection happened at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The server's greeting.
    Greeting,
    /// EHLO or HELO.
    Helo,
    /// STARTTLS.
    Starttls,
    /// AUTH and the credentials.
    Auth,
    /// MAIL FROM (the sender).
    Mail,
    /// RCPT TO (a recipient).
    Rcpt,
    /// DATA or BDAT and the message.
    Data,
}

impl Stage {
    /// The name the reports use.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Greeting => "greeting",
            Stage::Helo => "helo",
            Stage::Starttls => "starttls",
            Stage::Auth => "auth",
            Stage::Mail => "mail",
            Stage::Rcpt => "rcpt",
            Stage::Data => "data",
        }
    }
}

/// The stage of the dialogue a reply to `answered` belongs to.
pub fn stage_of(answered: &Answered) -> Option<Stage> {
    Some(match answered {
        Answered::Greeting => Stage::Greeting,
        Answered::EndOfData => Stage::Data,
        Answered::NotACommand => return None,
        Answered::Command(v) => match v {
            Verb::Ehlo | Verb::Helo | Verb::Lhlo => Stage::Helo,
            Verb::Starttls | Verb::Stls => Stage::Starttls,
            Verb::Auth | Verb::User | Verb::Pass | Verb::Apop => Stage::Auth,
            Verb::Mail => Stage::Mail,
            Verb::Rcpt => Stage::Rcpt,
            Verb::Data | Verb::Bdat => Stage::Data,
            _ => return None,
        },
    })
}

/// One message attempt: MAIL up to the end of the data, or a reset.
#[derive(Clone, Debug)]
pub struct Transaction {
    pub mail_frame: u64,
    pub sender: String,
    pub sender_reply: Option<u16>,
    pub recipients: Vec<Recipient>,
    /// Reply to the end of the data (DATA's lone dot, or BDAT LAST).
    pub data_reply: Option<u16>,
    pub data_reply_frame: Option<u64>,
    pub accepted: bool,
    /// Read from the record lengths inside TLS: the addresses are not known.
    pub inferred: bool,
}

#[derive(Clone, Debug)]
pub struct Recipient {
    pub address: String,
    pub frame: u64,
    pub reply: Option<u16>,
}

/// Client application data after the handshake that shows a message went through TLS:
/// a record of this size (commands are far smaller), or this many bytes in all, or as
/// many records as EHLO, AUTH (3), MAIL, RCPT, DATA, body and QUIT make. A refused login
/// takes at most six small records (EHLO, AUTH LOGIN, user, password, retry or QUIT).
const MESSAGE_RECORD: u64 = 512;
const MESSAGE_BYTES: u64 = 4096;
const MESSAGE_RECORDS: u64 = 8;
const MESSAGE_RECORDS_BYTES: u64 = 400;

pub fn transactions(session: &Session) -> Vec<Transaction> {
    let mut out: Vec<Transaction> = Vec::new();
    let mut open: Option<Transaction> = None;
    for e in &session.dialogue {
        match &e.kind {
            EntryKind::Command {
                command, argument, ..
            } => match command.as_str() {
                "MAIL" => {
                    if let Some(t) = open.take() {
                        out.push(t);
                    }
                    open = Some(Transaction {
                        mail_frame: e.frame,
                        sender: address(argument),
                        sender_reply: None,
                        recipients: Vec::new(),
                        data_reply: None,
                        data_reply_frame: None,
                        accepted: false,
                        inferred: e.provenance.inferred(),
                    });
                }
                "RCPT" => {
                    if let Some(t) = &mut open {
                        t.recipients.push(Recipient {
                            address: address(argument),
                            frame: e.frame,
                            reply: None,
                        });
                    }
                }
                "RSET" => {
                    if let Some(t) = open.take() {
                        out.push(t);
                    }
                }
                _ => {}
            },
            EntryKind::Reply {
                code,
                answers: Some(a),
                ..
            } => {
                let Some(t) = &mut open else { continue };
                match &a.command {
                    Answered::Command(Verb::Mail) if a.frame == t.mail_frame => {
                        t.sender_reply = Some(*code);
                    }
                    Answered::Command(Verb::Rcpt) => {
                        if let Some(r) = t
                            .recipients
                            .iter_mut()
                            .find(|r| r.frame == a.frame && r.reply.is_none())
                        {
                            r.reply = Some(*code);
                        }
                    }
                    Answered::EndOfData | Answered::Command(Verb::Bdat | Verb::Data)
                        if *code != 354 =>
                    {
                        // BDAT chunks other than LAST are answered 250 too; the last reply counts.
                        t.data_reply = Some(*code);
                        t.data_reply_frame = Some(e.frame);
                        t.accepted = (200..300).contains(code) && !a.command.is(&Verb::Data);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    out.extend(open);
    out
}

fn address(argument: &str) -> String {
    let rest = argument.split_once(':').map_or(argument, |(_, r)| r).trim();
    let end = rest
        .find('>')
        .map_or_else(|| rest.find(' ').unwrap_or(rest.len()), |i| i + 1);
    rest[..end]
        .trim_matches(|c| c == '<' || c == '>')
        .to_string()
}

/// The decisive reply: the last 4xx/5xx the client did not get past.
pub struct Deciding {
    pub frame: u64,
    pub line: String,
    pub stage: Option<Stage>,
}

fn deciding_reply(session: &Session) -> Option<Deciding> {
    let mut last: Option<Deciding> = None;
    // The last refusal refused the login's credentials (RFC 4954: 535, 534, 454). It stands
    // until a login is accepted or the server takes a recipient without one: a client that
    // sends on after it (some firmware does) is refused further on for want of the login,
    // which is the cause. (A refused AUTH command, 504 or 503, stands for nothing more.)
    let mut login_refused = false;
    for e in &session.dialogue {
        if let EntryKind::Reply {
            code,
            enhanced,
            answers,
            ..
        } = &e.kind
        {
            let stage = answers.as_ref().and_then(|a| stage_of(&a.command));
            // A pipelining client's later commands are refused as out of sequence once
            // an earlier one was refused: that follows from the first refusal.
            let follows = last.is_some()
                && (*code == 503 || matches!(enhanced.as_deref(), Some("5.5.1" | "5.5.2")));
            if *code >= 400 && stage.is_some() && !follows {
                if !login_refused || stage == Some(Stage::Auth) {
                    last = Some(Deciding {
                        frame: e.frame,
                        line: e.quote().unwrap_or_default(),
                        stage,
                    });
                    login_refused = stage == Some(Stage::Auth) && matches!(code, 454 | 534 | 535);
                }
            } else if (200..400).contains(code) {
                // A later success at the same or a later stage means the client got past it.
                if let (Some(d), Some(s)) = (&last, stage) {
                    let past = if login_refused {
                        (s == Stage::Auth && (200..300).contains(code))
                            || s as u8 >= Stage::Rcpt as u8
                    } else {
                        s as u8 >= d.stage.map_or(0, |x| x as u8)
                    };
                    if past {
                        last = None;
                        login_refused = false;
                    }
                }
            }
        }
    }
    last
}

pub fn message_sized(tls: &TlsFacts) -> bool {
    tls.largest_client_record >= MESSAGE_RECORD
        || tls.client_bytes >= MESSAGE_BYTES
        || (tls.client_records >= MESSAGE_RECORDS && tls.client_bytes >= MESSAGE_RECORDS_BYTES)
}

/// The session's outcome, the stage of a rejection, and the reply that decided it.
/// `inside_read`: the dialogue inside TLS is in `session.dialogue` as far as its outcome
/// (decrypted, or read from the record lengths), so it decides as one in clear would.
pub fn outcome(
    session: &Session,
    txs: &[Transaction],
    inside_read: bool,
) -> (Outcome, Option<Stage>, Option<Deciding>) {
    match session.tcp.handshake {
        Handshake::SynUnanswered | Handshake::Refused => {
            return (Outcome::NoConnection, None, None)
        }
        _ => {}
    }
    if session.protocol == Protocol::Pop3 {
        // The answer to the login's last step (PASS, APOP or AUTH; USER's -ERR refuses too).
        let answer = session.dialogue.iter().rev().find_map(|e| match &e.kind {
            EntryKind::Status {
                status,
                lines,
                answers: Some(a),
                ..
            } if matches!(
                &a.command,
                Answered::Command(Verb::User | Verb::Pass | Verb::Apop | Verb::Auth)
            ) && (status == "-ERR" || !a.command.is(&Verb::User)) =>
            {
                Some((
                    status.as_str(),
                    e.frame,
                    lines.first().cloned().unwrap_or_default(),
                ))
            }
            _ => None,
        });
        return match answer {
            Some(("-ERR", frame, line)) => (
                Outcome::LoginRefused,
                None,
                Some(Deciding {
                    frame,
                    line,
                    stage: Some(Stage::Auth),
                }),
            ),
            Some(("+OK", _, _)) => (Outcome::LoginAccepted, None, None),
            _ => (Outcome::Incomplete, None, None),
        };
    }
    // A transaction read from the record lengths decides only where the reading got as
    // far as the outcome.
    if txs
        .iter()
        .any(|t| t.accepted && (inside_read || !t.inferred))
    {
        return (Outcome::Delivered, None, None);
    }
    let client_tls = session.dialogue.iter().find_map(|e| match &e.kind {
        EntryKind::Tls { tls } if e.from == Side::Client => Some(tls.looks_like_tls),
        _ => None,
    });
    // Decrypted or read, the dialogue inside TLS decides as one in clear text would.
    let client_tls = client_tls.filter(|_| !inside_read && !decrypted(session));
    if client_tls == Some(false) {
        // After the switch to TLS the bytes are not TLS records (a decrypted capture):
        // what happened there is not parsed.
        return (Outcome::Incomplete, None, None);
    }
    if client_tls.is_some() {
        let Some(tls) = &session.tls else {
            return (Outcome::Incomplete, None, None);
        };
        if tls.established {
            let sized = message_sized(tls);
            return (
                if sized {
                    Outcome::EncryptedMessageTransferred
                } else {
                    Outcome::EncryptedNoMessage
                },
                None,
                None,
            );
        }
        if tls.lost_sync && tls.server_hello.is_some() {
            return (Outcome::Incomplete, None, None);
        }
        return (Outcome::TlsFailed, None, None);
    }
    if let Some(d) = deciding_reply(session) {
        return (Outcome::Rejected, d.stage, Some(d));
    }
    // Missing bytes may hide the MAIL that would make this more than a test.
    let gaps = session.tcp.client_stream.gap_bytes + session.tcp.server_stream.gap_bytes > 0;
    if gaps || session.tcp.mid_stream {
        return (Outcome::Incomplete, None, None);
    }
    let commands: Vec<&str> = session
        .dialogue
        .iter()
        .filter_map(|e| e.command())
        .collect();
    let quit = commands.contains(&"QUIT");
    if session.protocol == Protocol::Smtp && quit && !commands.contains(&"MAIL") {
        return (Outcome::TestOnly, None, None);
    }
    (Outcome::Incomplete, None, None)
}

/// Whether the dialogue went on inside TLS, decrypted with the key log, and every record
/// decrypted (a session whose records stopped decrypting is judged as an encrypted one).
pub fn decrypted(session: &Session) -> bool {
    let opened = session
        .tls
        .as_ref()
        .and_then(|t| t.decryption.as_ref())
        .is_some_and(|d| d.status == DecryptionStatus::Decrypted);
    opened
        && session
            .dialogue
            .iter()
            .any(|e| e.provenance == Provenance::Decrypted)
}
