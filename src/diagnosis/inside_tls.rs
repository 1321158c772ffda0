//! What an encrypted SMTP dialogue did, read from the lengths of its records, without
//! the keys: each application-data record less the suite's overhead is the length of the
//! plaintext it carries, and an SMTP dialogue has a known shape (EHLO, AUTH with its 334
//! prompts, MAIL, RCPT, DATA, the body, QUIT) whose server answers have known lengths.
//!
//! It decides only where the lengths leave one reading: the client's first record must be
//! exactly the EHLO it sent in the clear (no padding, no unknown overhead), every answer
//! must have the length of the one text it is taken for, and a refusal is named only for
//! Exchange Online, whose texts (and the diagnostic trailer they end with) are known.
//! Anything else keeps the coarse `encrypted-…` outcome.

use std::ops::RangeInclusive;

use super::outcome::{Outcome, Stage};
use super::server::ServerIdentity;
use super::{Evidence, FindingId};
use crate::analysis::Session;
use crate::base::Side;
use crate::dialogue::{Answered, EntryKind};
use crate::tls::{record_overhead, SealedRecord};

/// What the record lengths show of the dialogue inside TLS.
#[derive(Clone, Debug)]
pub struct InsideTls {
    /// What happened, as it would read in clear text.
    pub outcome: Outcome,
    /// For a refusal: where.
    pub stage: Option<Stage>,
    /// The server's answer that decided, and why it is read so.
    pub deciding: Option<Evidence>,
    /// The finding the decisive answer calls for.
    pub finding: Option<FindingId>,
    /// The client sent AUTH LOGIN.
    pub auth_sent: bool,
    /// The client sent MAIL.
    pub mail_sent: bool,
    /// The exchange as read, one step per turn of either side.
    pub steps: Vec<Step>,
}

/// One turn of the exchange inside TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub side: Side,
    pub frame: u64,
    /// Plaintext bytes of the turn (its records less their overhead).
    pub bytes: u64,
    /// What it is taken for.
    pub meaning: String,
}

/// One side's records with nothing of the other side between them.
#[derive(Clone, Copy, Debug)]
struct Turn {
    side: Side,
    frame: u64,
    bytes: u64,
    /// The last record's plaintext: a server answers last in its turn (TLS 1.3 session
    /// tickets come first).
    last: u64,
    last_frame: u64,
}

/// The two 334 prompts of AUTH LOGIN (`334 VXNlcm5hbWU6`, `334 UGFzc3dvcmQ6`).
const PROMPT: u64 = 18;
const QUIT: u64 = "QUIT\r\n".len() as u64;
const DATA: u64 = "DATA\r\n".len() as u64;
/// `235 2.7.0 Authentication successful` (Exchange, Postfix), `235 Authentication
/// succeeded` (Exim), `235 2.0.0 OK Authenticated` (Sendmail).
const AUTH_OK: [(u64, &str); 3] = [
    (37, "235 2.7.0 Authentication successful"),
    (30, "235 Authentication succeeded"),
    (28, "235 2.0.0 OK Authenticated"),
];
const EXO_SENDER_OK: u64 = "250 2.1.0 Sender OK\r\n".len() as u64;
const EXO_RECIPIENT_OK: u64 = "250 2.1.5 Recipient OK\r\n".len() as u64;
const EXO_START_DATA: u64 = "354 Start mail input; end with <CRLF>.<CRLF>\r\n".len() as u64;

/// Exchange Online's refusals that end in the diagnostic trailer, by the stage they come
/// at, with the finding each calls for.
const EXO_REFUSALS: &[(Stage, &str, FindingId)] = &[
    (Stage::Auth, "535 5.7.3 Authentication unsuccessful ", FindingId::AuthFailed),
    (
        Stage::Auth,
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. ",
        FindingId::SmtpAuthDisabled,
    ),
    (
        Stage::Auth,
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. ",
        FindingId::SmtpAuthDisabled,
    ),
    (
        Stage::Auth,
        "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator. ",
        FindingId::SmtpAuthDisabled,
    ),
    (
        Stage::Auth,
        "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator. ",
        FindingId::SmtpAuthDisabled,
    ),
    (
        Stage::Auth,
        "550 5.7.30 Basic authentication is not supported for Client Submission. ",
        FindingId::BasicAuthRetired,
    ),
    (
        Stage::Mail,
        "530 5.7.57 Client not authenticated to send mail. ",
        FindingId::NotAuthenticated,
    ),
    (
        Stage::Mail,
        "530 5.7.57 Client not authenticated to send anonymous mail during MAIL FROM ",
        FindingId::NotAuthenticated,
    ),
    (
        Stage::Data,
        "552 5.3.4 Message size exceeds fixed maximum message size ",
        FindingId::MessageTooLarge,
    ),
];

/// The `SendAsDenied` refusal at the end of the data, around the two addresses it quotes.
const SEND_AS_DENIED: [&str; 3] = [
    "554 5.2.252 SendAsDenied; ",
    " not allowed to send as ",
    "; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message. ",
];

/// Reads the dialogue inside TLS of an SMTP session whose TLS was established; `None`
/// where the lengths do not decide.
pub fn infer(s: &Session, server: &ServerIdentity) -> Option<InsideTls> {
    let tls = s.tls.as_ref()?;
    let hello = tls.server_hello.as_ref()?;
    let overhead = record_overhead(hello.version.0, hello.suite)?;
    let clean = s.tcp.client_stream.gap_bytes + s.tcp.server_stream.gap_bytes == 0;
    if !clean || tls.lost_sync || tls.sealed_not_kept > 0 {
        return None;
    }
    let exo_label = if server.is_exchange_online() {
        Some(greeting_label(s)?)
    } else {
        None
    };
    read(
        &tls.sealed,
        overhead,
        hello.version.0 == 0x0304,
        cleartext_ehlo(s)?,
        exo_label,
    )
}

/// Reads the dialogue from its encrypted records: `overhead` per record, `ehlo` the length
/// of the EHLO line sent before STARTTLS, `exo_label` the length of the greeting's host
/// label when the server is Exchange Online.
pub fn read(
    records: &[SealedRecord],
    overhead: u64,
    tls13: bool,
    ehlo: u64,
    exo_label: Option<u64>,
) -> Option<InsideTls> {
    let turns = turns(&dialogue_records(records, tls13), overhead, tls13)?;
    let mut r = Reader {
        turns: &turns,
        at: 0,
        steps: Vec::new(),
        auth_sent: false,
        mail_sent: false,
        exo: exo_label.map(Trailer::for_label),
    };
    // The calibration: the client's first turn is the EHLO it sent in the clear.
    r.client(
        ehlo,
        "EHLO, as before STARTTLS (the record lengths are read right)",
    )?;
    r.server_any("the EHLO reply")?;
    r.dialogue()
}

/// The length of the first label of the host name in the server's greeting.
fn greeting_label(s: &Session) -> Option<u64> {
    let greeting = s.dialogue.iter().find_map(|e| match &e.kind {
        EntryKind::Reply {
            code: 220,
            lines,
            answers: Some(a),
            ..
        } if a.command == Answered::Greeting => lines.first(),
        _ => None,
    })?;
    let host = greeting.split_whitespace().nth(1)?;
    Some(host.split('.').next()?.len() as u64)
}

/// The application-data records of the dialogue: TLS 1.3's handshake flight, the client's
/// Finished, the session tickets sent before the client's first command and a closing
/// alert are left out.
fn dialogue_records(sealed: &[SealedRecord], tls13: bool) -> Vec<SealedRecord> {
    let data: Vec<SealedRecord> = sealed
        .iter()
        .copied()
        .filter(|r| r.application_data)
        .collect();
    if !tls13 {
        return data;
    }
    let Some(finished) = data.iter().position(|r| r.side == Side::Client) else {
        return Vec::new();
    };
    let rest = data.get(finished + 1..).unwrap_or_default();
    let first_command = rest
        .iter()
        .position(|r| r.side == Side::Client)
        .unwrap_or(rest.len());
    rest.get(first_command..).unwrap_or_default().to_vec()
}

fn turns(records: &[SealedRecord], overhead: u64, tls13: bool) -> Option<Vec<Turn>> {
    let mut out: Vec<Turn> = Vec::new();
    for r in records {
        let plain = r.length.checked_sub(overhead * r.records)?;
        // TLS 1.3: a closing alert (2 bytes) is no SMTP line.
        if tls13 && plain <= 2 {
            continue;
        }
        match out.last_mut() {
            Some(t) if t.side == r.side => {
                t.bytes += plain;
                t.last = plain;
                t.last_frame = r.frame;
            }
            _ => out.push(Turn {
                side: r.side,
                frame: r.frame,
                bytes: plain,
                last: plain,
                last_frame: r.frame,
            }),
        }
    }
    Some(out)
}

/// The length of the EHLO (or HELO) line the client sent last before TLS.
fn cleartext_ehlo(s: &Session) -> Option<u64> {
    s.dialogue.iter().rev().find_map(|e| match &e.kind {
        EntryKind::Command {
            command, argument, ..
        } if command == "EHLO" || command == "HELO" => {
            let arg = if argument.is_empty() {
                0
            } else {
                argument.len() + 1
            };
            Some((command.len() + arg + 2) as u64)
        }
        _ => None,
    })
}

/// The diagnostic trailer Exchange Online ends its refusals with:
/// `[<host label>.<region>.PROD.OUTLOOK.COM <ISO time> <16 hex digits>]`. The host label
/// is the greeting's; the region's length varies.
#[derive(Clone, Copy, Debug)]
struct Trailer {
    lengths: (u64, u64),
}

impl Trailer {
    fn for_label(label: u64) -> Trailer {
        // "[" label "." region ".PROD.OUTLOOK.COM" " " time(24) " " id(16) "]", with a
        // region of 6 to 12 characters.
        let fixed = 1 + label + 1 + ".PROD.OUTLOOK.COM".len() as u64 + 1 + 24 + 1 + 16 + 1;
        Trailer {
            lengths: (fixed + 6, fixed + 12),
        }
    }

    /// The lengths (with CRLF) of a reply of `text` and the trailer.
    fn reply(self, text: &str) -> RangeInclusive<u64> {
        let base = text.len() as u64 + 2;
        base + self.lengths.0..=base + self.lengths.1
    }
}

struct Reader<'a> {
    turns: &'a [Turn],
    at: usize,
    steps: Vec<Step>,
    auth_sent: bool,
    mail_sent: bool,
    /// Exchange Online's trailer, when the server is Exchange Online.
    exo: Option<Trailer>,
}

impl Reader<'_> {
    fn peek(&self, side: Side) -> Option<Turn> {
        self.turns.get(self.at).copied().filter(|t| t.side == side)
    }

    fn take(&mut self, side: Side, meaning: String) -> Option<Turn> {
        let t = self.peek(side)?;
        self.at += 1;
        self.steps.push(Step {
            side,
            frame: t.frame,
            bytes: t.bytes,
            meaning,
        });
        Some(t)
    }

    /// A client turn of exactly `bytes`.
    fn client(&mut self, bytes: u64, meaning: &str) -> Option<Turn> {
        (self.peek(Side::Client)?.bytes == bytes).then_some(())?;
        self.take(Side::Client, meaning.to_string())
    }

    fn server_any(&mut self, meaning: &str) -> Option<Turn> {
        self.take(Side::Server, meaning.to_string())
    }

    fn done(
        self,
        outcome: Outcome,
        stage: Option<Stage>,
        decided: Option<(Turn, String, FindingId)>,
    ) -> InsideTls {
        let (deciding, finding) = match decided {
            Some((t, why, id)) => (
                Some(Evidence {
                    frame: t.last_frame,
                    text: why,
                }),
                Some(id),
            ),
            None => (None, None),
        };
        InsideTls {
            outcome,
            stage,
            deciding,
            finding,
            auth_sent: self.auth_sent,
            mail_sent: self.mail_sent,
            steps: self.steps,
        }
    }

    /// The client ends the session here: nothing more, or only 6-byte commands (QUIT,
    /// RSET, NOOP) and their replies; a longer command (MAIL) means it goes on.
    fn ends(&mut self) -> bool {
        let rest = self.turns.get(self.at..).unwrap_or_default();
        if rest
            .iter()
            .any(|t| t.side == Side::Client && t.bytes != QUIT)
        {
            return false;
        }
        while let Some(t) = self.turns.get(self.at).copied() {
            let meaning = match t.side {
                Side::Client => "QUIT (or RSET: 6 bytes)",
                Side::Server => "its reply",
            };
            self.take(t.side, meaning.into());
        }
        true
    }

    /// After the EHLO reply: a connection test, AUTH, or mail.
    fn dialogue(mut self) -> Option<InsideTls> {
        if self.ends() {
            return Some(self.done(Outcome::TestOnly, None, None));
        }
        let auth = self
            .turns
            .get(self.at + 1)
            .is_some_and(|t| t.side == Side::Server && t.last == PROMPT);
        if auth {
            let reply = self.auth()?;
            if let Some(refused) = self.refusal(Stage::Auth, reply) {
                self.ends();
                return Some(self.done(Outcome::Rejected, Some(Stage::Auth), Some(refused)));
            }
            let ok = AUTH_OK.iter().find(|(n, _)| *n == reply.last)?;
            self.steps.last_mut()?.meaning = format!(
                "the reply to the credentials: {} bytes, the length of `{}`",
                reply.last, ok.1
            );
            if self.ends() {
                return Some(self.done(Outcome::TestOnly, None, None));
            }
        }
        self.mail()
    }

    /// AUTH LOGIN: the command (with the user name or without), the prompts, the
    /// credentials; returns the server's turn that answered them.
    fn auth(&mut self) -> Option<Turn> {
        let command = self.take(Side::Client, String::new())?;
        self.auth_sent = true;
        let with_user = command.bytes > "AUTH LOGIN\r\n".len() as u64;
        self.steps.last_mut()?.meaning = if with_user {
            "AUTH LOGIN with the user name".into()
        } else {
            "AUTH LOGIN".into()
        };
        self.server_any("334 prompt")?;
        if !with_user {
            self.take(Side::Client, "the user name (base64)".into())?;
            (self.peek(Side::Server)?.last == PROMPT).then_some(())?;
            self.server_any("334 prompt")?;
        }
        self.take(Side::Client, "the password (base64, withheld)".into())?;
        self.server_any("the reply to the credentials")
    }

    /// An Exchange Online refusal at `stage` whose length `turn` has, and no other text
    /// (refused or accepting) has: the turn, the reading, the finding.
    fn refusal(&mut self, stage: Stage, turn: Turn) -> Option<(Turn, String, FindingId)> {
        let trailer = self.exo?;
        let fits: Vec<&(Stage, &str, FindingId)> = EXO_REFUSALS
            .iter()
            .filter(|(st, text, _)| *st == stage && trailer.reply(text).contains(&turn.last))
            .collect();
        let (_, text, id) = **fits.first()?;
        // Texts of one finding may share a length; texts of two findings must not.
        if fits.iter().any(|(_, _, other)| *other != id) {
            return None;
        }
        let other = match stage {
            Stage::Auth => "`235 2.7.0 Authentication successful` would be 37".to_string(),
            Stage::Mail => format!("`250 2.1.0 Sender OK` would be {EXO_SENDER_OK}"),
            _ => "an acceptance would be shorter".to_string(),
        };
        let why = format!(
            "`{} […]`, inferred: the server's encrypted answer is {} bytes of plaintext, the length of this text with Exchange Online's diagnostic trailer; {other}",
            text.trim_end(),
            turn.last,
        );
        if let Some(step) = self.steps.last_mut() {
            step.meaning = format!(
                "{} (refused)",
                text.split(' ').take(2).collect::<Vec<_>>().join(" ")
            );
        }
        Some((turn, why, id))
    }

    /// MAIL, RCPT and DATA one at a time (Exchange Online's replies), then the body and
    /// the final reply.
    fn mail(mut self) -> Option<InsideTls> {
        self.exo?;
        self.take(Side::Client, "MAIL FROM".into())?;
        self.mail_sent = true;
        let sender = self.server_any("the reply to MAIL")?;
        if sender.bytes != EXO_SENDER_OK {
            let refused = self.refusal(Stage::Mail, sender)?;
            self.ends();
            return Some(self.done(Outcome::Rejected, Some(Stage::Mail), Some(refused)));
        }
        self.steps.last_mut()?.meaning = "250 2.1.0 Sender OK".into();
        let mut recipients = 0;
        while self.peek(Side::Client).is_some_and(|t| t.bytes != DATA) {
            self.take(Side::Client, "RCPT TO".into())?;
            let r = self.server_any("250 2.1.5 Recipient OK")?;
            (r.bytes == EXO_RECIPIENT_OK).then_some(())?;
            recipients += 1;
        }
        (recipients > 0).then_some(())?;
        self.client(DATA, "DATA")?;
        let go = self.server_any("354 Start mail input")?;
        (go.bytes == EXO_START_DATA).then_some(())?;
        let body = self.take(Side::Client, String::new())?;
        self.steps.last_mut()?.meaning = format!("the message ({} bytes with its end)", body.bytes);
        let last = self.server_any("the reply to the message")?;
        self.final_reply(last)
    }

    /// Accepted, `SendAsDenied`, or (where a refusal of the same length could be) unknown.
    fn final_reply(mut self, last: Turn) -> Option<InsideTls> {
        let trailer = self.exo?;
        let n = last.last;
        let send_as_fixed: u64 = SEND_AS_DENIED.iter().map(|p| p.len() as u64).sum::<u64>() + 2;
        // Two addresses of at least `a@b.c`.
        let send_as_min = send_as_fixed + trailer.lengths.0 + 10;
        if n >= send_as_min && n > SUCCESS_MAX {
            let why = format!(
                "`554 5.2.252 SendAsDenied; <login> not allowed to send as <sender>; … […]`, inferred: the server's encrypted answer to the message is {n} bytes of plaintext, this text's length (at least {send_as_min}); `250 2.0.0 OK <message id> [Hostname=…]` is at most {SUCCESS_MAX}"
            );
            self.steps.last_mut()?.meaning = "554 5.2.252 SendAsDenied (refused)".into();
            self.ends();
            return Some(self.done(
                Outcome::Rejected,
                Some(Stage::Data),
                Some((last, why, FindingId::SendAsDenied)),
            ));
        }
        // Below every refusal Exchange Online sends at this point (each with its trailer).
        let shortest_refusal = EXO_REFUSALS
            .iter()
            .filter(|(st, _, _)| *st == Stage::Data)
            .map(|(_, text, _)| *trailer.reply(text).start())
            .min()
            .unwrap_or(send_as_min)
            .min(send_as_min);
        if (SUCCESS_MIN..shortest_refusal).contains(&n) {
            self.steps.last_mut()?.meaning =
                format!("250 queued ({n} bytes; every refusal here is {shortest_refusal} or more)");
            self.ends();
            return Some(self.done(Outcome::Delivered, None, None));
        }
        None
    }
}

/// `250 2.0.0 OK <message id> [Hostname=<host>]`: its length with the shortest and the
/// longest message ids and host names seen.
const SUCCESS_MIN: u64 = 20;
const SUCCESS_MAX: u64 = 300;

#[cfg(test)]
mod tests {
    use super::*;

    /// Turns of alternating sides from plaintext lengths, the client first.
    fn turns(lengths: &[u64]) -> Vec<Turn> {
        lengths
            .iter()
            .enumerate()
            .map(|(i, &n)| Turn {
                side: if i % 2 == 0 {
                    Side::Client
                } else {
                    Side::Server
                },
                frame: i as u64 + 10,
                bytes: n,
                last: n,
                last_frame: i as u64 + 10,
            })
            .collect()
    }

    /// The reading after EHLO and its reply, with Exchange Online's trailer for a host
    /// label of 13 characters (or another server's, without).
    fn read(lengths: &[u64], exo: bool) -> Option<(String, Option<FindingId>)> {
        let t = turns(lengths);
        let r = Reader {
            turns: &t,
            at: 0,
            steps: Vec::new(),
            auth_sent: false,
            mail_sent: false,
            exo: exo.then(|| Trailer::for_label(13)),
        };
        let i = r.dialogue()?;
        let label = match i.stage {
            Some(st) => format!("{}/{}", i.outcome.name(), st.name()),
            None => i.outcome.name().to_string(),
        };
        Some((label, i.finding))
    }

    const LOGIN: [u64; 6] = [12, PROMPT, 26, PROMPT, 22, 0];

    fn login_then(reply: u64, rest: &[u64]) -> Vec<u64> {
        let mut v = LOGIN.to_vec();
        v[5] = reply;
        v.extend_from_slice(rest);
        v
    }

    #[test]
    fn exchange_online_answers_are_read_by_their_lengths() {
        let refused = 2 + "535 5.7.3 Authentication unsuccessful ".len() as u64 + 13 + 62 + 9;
        assert_eq!(
            read(&login_then(refused, &[QUIT, 48]), true),
            Some(("rejected/auth".into(), Some(FindingId::AuthFailed)))
        );
        assert_eq!(
            read(&login_then(37, &[QUIT, 48]), true),
            Some(("test-only".into(), None))
        );
        let message = [31, 21, 28, 24, 6, 46, 2422, 110, QUIT, 48];
        assert_eq!(
            read(&login_then(37, &message), true),
            Some(("delivered".into(), None))
        );
    }

    #[test]
    fn lengths_that_fit_no_known_text_or_two_are_not_guessed() {
        // An answer to the credentials that is neither 235 nor any known 535.
        assert_eq!(read(&login_then(90, &[QUIT, 48]), true), None);
        // A final answer long enough for a refusal but short of SendAsDenied.
        let message = [31, 21, 28, 24, 6, 46, 2422, 200, QUIT, 48];
        assert_eq!(read(&login_then(37, &message), true), None);
        // Another server's refusal texts are not known.
        let refused = 2 + "535 5.7.3 Authentication unsuccessful ".len() as u64 + 13 + 62 + 9;
        assert_eq!(read(&login_then(refused, &[QUIT, 48]), false), None);
        // A recipient answer that is not Exchange Online's acceptance.
        let message = [31, 21, 28, 120, 6, 46, 2422, 110];
        assert_eq!(read(&login_then(37, &message), true), None);
    }

    #[test]
    fn a_six_byte_command_ends_the_session_only_if_no_longer_one_follows() {
        // RSET, then MAIL: no connection test.
        let rset_then_mail = [6, 19, 31, 21, 28, 24, 6, 46, 2422, 110, QUIT, 48];
        assert_eq!(
            read(&login_then(37, &rset_then_mail), true).map(|r| r.0),
            None,
            "an RSET before MAIL is not read as MAIL (nor as the end)"
        );
        assert_eq!(
            read(&login_then(37, &[6, 19, QUIT, 48]), true).map(|r| r.0),
            Some("test-only".into())
        );
    }
}
