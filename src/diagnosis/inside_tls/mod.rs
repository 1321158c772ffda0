//! What an encrypted SMTP dialogue did, read from the lengths of its records, without
//! the keys: each application-data record less the suite's overhead is the length of the
//! plaintext it carries (`turns`), and every reading of those lengths that a client and a
//! server of the identified family could have produced is weighed (`reading`) against
//! the family's documented texts (`texts`) and the client's behaviour: what it sends
//! next tells what it was answered.
//!
//! Where the complete readings agree, that is the reading; where they part, or none
//! completes, the reading stops at that turn and says why (a closed list of reasons).
//! The client's first turn must be exactly the EHLO it sent in the clear: that catches a
//! padded record or an unknown overhead.

use std::fmt::Write;

mod reading;
mod texts;
mod turns;

#[cfg(test)]
mod tests;

pub use crate::base::Len;
pub use reading::{Cmd, Mechanism, Verdict};
pub use texts::{Asked, Family, Template};

use reading::{Context, Item, Reader, Reply};
use texts::Slots;
use turns::Turn;

use super::outcome::{Outcome, Stage};
use super::server::{self, ServerIdentity};
use super::{Evidence, FindingId};
use crate::analysis::Session;
use crate::base::Side;
use crate::dialogue::{
    Answered, Answers, AuthData, Body, BodyKind, Entry, EntryKind, Exposure, Provenance, Verb,
};
use crate::smtp::enhanced_code;
use crate::tls::{record_shape, SealedTurn, TlsFacts};

/// What the record lengths show of the dialogue inside TLS.
#[derive(Clone, Debug)]
pub struct InsideTls {
    /// What happened, as it would read in clear text, when the reading got that far.
    pub outcome: Option<Outcome>,
    /// For a refusal: where.
    pub stage: Option<Stage>,
    /// The server's answer that decided: its frame, and why it is read so (the reading's
    /// own words, added to the evidence of the findings that cite that answer).
    pub deciding: Option<Evidence>,
    /// The finding the deciding answer calls for.
    pub finding: Option<FindingId>,
    /// Where the attempt was refused but the refusal's text is not told by its length:
    /// the texts that fit and their findings.
    pub open_cause: Option<OpenCause>,
    /// The login's mechanism, as the lengths show it.
    pub mechanism: Option<Mechanism>,
    /// The login was accepted (`Some(true)`) or refused, when read.
    pub login: Option<bool>,
    /// The client sent MAIL.
    pub mail_sent: bool,
    /// The exchange as read, one step per turn of either side (up to where it stopped).
    pub steps: Vec<Step>,
    /// The same exchange as dialogue entries (provenance inferred), which the outcome,
    /// the findings, the checklist and the reports read as they read any dialogue.
    pub entries: Vec<Entry>,
    /// Where and why the reading stopped short of the outcome.
    pub declined: Option<Decline>,
    /// Whose texts the answers were weighed against.
    pub family: Family,
}

/// A refusal read from the record lengths whose text they do not tell.
#[derive(Clone, Debug)]
pub struct OpenCause {
    /// The texts that fit, on the refusal's frame.
    pub evidence: Evidence,
    /// The findings they call for.
    pub candidates: Vec<FindingId>,
}

/// One turn of the exchange inside TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub side: Side,
    pub frame: u64,
    /// Plaintext bytes of the turn (its records less their overhead): one value for AEAD
    /// suites, a range for CBC ones.
    pub bytes: Len,
    /// What it is taken for.
    pub meaning: String,
}

/// Why the reading stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclineReason {
    /// The client's first turn is not the EHLO it sent in the clear (padding, or an
    /// unknown overhead), or nothing fixed to calibrate on (implicit TLS).
    NoCalibration,
    /// The sender pads its records.
    Padded,
    /// The suite's records do not tell their plaintext's length.
    CipherUnknown,
    /// Part of the encrypted stream is missing from the capture.
    RecordsLost,
    /// More turns than are kept.
    RecordsPastBound,
    /// Two answers of different meaning fit the length.
    AmbiguousLength,
    /// The server's answer fits none of its family's documented texts, or the family's
    /// texts are not known.
    UnknownServerTexts,
    /// The turns fit no dialogue a client and server hold.
    UnexpectedShape,
}

impl DeclineReason {
    /// The name JSON uses.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            DeclineReason::NoCalibration => "no-calibration",
            DeclineReason::Padded => "padded",
            DeclineReason::CipherUnknown => "cipher-unknown",
            DeclineReason::RecordsLost => "records-lost",
            DeclineReason::RecordsPastBound => "records-past-bound",
            DeclineReason::AmbiguousLength => "ambiguous-length",
            DeclineReason::UnknownServerTexts => "unknown-server-texts",
            DeclineReason::UnexpectedShape => "unexpected-shape",
        }
    }
}

/// Where the reading stopped and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decline {
    pub reason: DeclineReason,
    pub frame: u64,
    /// The step it stopped at (an index into `steps`), where it got past calibration.
    pub step: Option<usize>,
    pub detail: String,
}

impl Decline {
    fn new(reason: DeclineReason, frame: u64, detail: String) -> Decline {
        Decline {
            reason,
            frame,
            step: None,
            detail,
        }
    }
}

/// What the reading needs of the session besides its records.
#[derive(Clone, Debug, Default)]
pub struct Clear {
    /// The length of the EHLO (or HELO) line sent before STARTTLS, with its CRLF; `None`
    /// for implicit TLS.
    pub ehlo: Option<u64>,
    /// The clear EHLO reply offered PIPELINING.
    pub pipelining: bool,
    /// Its SIZE limit.
    pub size_limit: Option<u64>,
    /// The greeting's host name, when seen in the clear.
    pub host: Option<String>,
    /// The greeting's text.
    pub greeting: Option<String>,
}

/// Reads the dialogue inside TLS of an SMTP session whose TLS was established; `None`
/// where no TLS was established.
#[must_use]
pub fn infer(s: &Session, server: &ServerIdentity) -> Option<InsideTls> {
    let tls = s.tls.as_ref()?;
    if !tls.established || tls.server_hello.is_none() {
        return None;
    }
    let clear = clear_facts(s);
    let family = family_of(&clear, server);
    // Records lost in the stream make every later length unknown; bytes that are no TLS
    // record from the server after the client closed (Exim's plaintext `421 … lost input
    // connection` after its TLS ended) change nothing the client could still be told.
    let after_close = match (tls.lost_at, s.tcp.client_fin_frame) {
        (Some((Side::Server, at)), Some(fin)) => at > fin,
        _ => false,
    };
    let gaps = s.tcp.client_stream.gap_bytes + s.tcp.server_stream.gap_bytes > 0;
    if gaps {
        let mut i = InsideTls::empty(family);
        let frame = tls.client_data_frame.unwrap_or(s.tcp.first_frame);
        i.declined = Some(Decline::new(
            DeclineReason::RecordsLost,
            frame,
            "part of the encrypted stream is missing from the capture, so the record lengths cannot be followed".into(),
        ));
        return Some(i);
    }
    // Bytes that are no TLS record (Exim writes its last refusal in clear once it has
    // ended TLS): the turns before them are whole and read; what came from there is not.
    let lost = tls.lost_at.filter(|_| tls.lost_sync && !after_close);
    let before = lost.map(|(_, at)| {
        let mut cut = tls.clone();
        cut.sealed.retain(|t| t.last_frame < at);
        cut
    });
    let mut i = read(before.as_ref().unwrap_or(tls), &clear, family, &|t| {
        classify(t, server)
    });
    if let Some((side, at)) = lost {
        let past = i.declined.as_ref().is_none_or(|d| d.frame >= at);
        if i.outcome.is_none() && past {
            let whose = if side == Side::Server {
                "server"
            } else {
                "client"
            };
            let mut d = Decline::new(
                DeclineReason::UnexpectedShape,
                at,
                format!("from frame {at} the {whose}'s bytes are no TLS records (a peer that ended TLS and went on in clear), so what came after is not read"),
            );
            d.step = Some(i.steps.len());
            i.declined = Some(d);
        }
    }
    Some(i)
}

/// Whose texts the session's encrypted answers are read against: the MTA its clear
/// greeting names (`ESMTP Postfix` answers as Postfix, whatever its certificate says),
/// else the identified server's family.
#[must_use]
pub fn family(s: &Session, server: &ServerIdentity) -> Family {
    family_of(&clear_facts(s), server)
}

fn family_of(clear: &Clear, server: &ServerIdentity) -> Family {
    clear
        .greeting
        .as_deref()
        .and_then(server::by_text)
        .and_then(Family::of_mta)
        .unwrap_or_else(|| Family::of(server))
}

/// The finding a template's refusal calls for, read as its inferred entry is read by the
/// rules: the same lines, the same classification.
fn classify(t: &Template, server: &ServerIdentity) -> Option<FindingId> {
    let (enhanced, lines) = quoted(t);
    let r = super::rules::reply_refusal(t.code(), enhanced.as_deref(), &lines, server)?;
    super::rules::finding_for(r)
}

/// A template's enhanced code and lines (slots shown as `<name>`), as the entry of an
/// answer read as that text carries them.
fn quoted(t: &Template) -> (Option<String>, Vec<String>) {
    let lines = t.shown_lines();
    let enhanced = lines
        .first()
        .and_then(|l| l.get(4..))
        .and_then(|l| enhanced_code(l.as_bytes()));
    (enhanced, lines)
}

/// What the reading needs from the clear part of the session.
fn clear_facts(s: &Session) -> Clear {
    let mut c = Clear::default();
    for e in &s.dialogue {
        if !e.provenance.in_clear() {
            break;
        }
        match &e.kind {
            EntryKind::Command {
                command, argument, ..
            } if command == "EHLO" || command == "HELO" => {
                let arg = if argument.is_empty() {
                    0
                } else {
                    argument.len() + 1
                };
                c.ehlo = Some((command.len() + arg + 2) as u64);
            }
            EntryKind::Reply {
                code: 220,
                lines,
                answers: Some(a),
                ..
            } if a.command == Answered::Greeting => {
                c.greeting = lines.first().cloned();
                c.host = lines
                    .first()
                    .and_then(|l| l.get(4..))
                    .and_then(|l| l.split_whitespace().next())
                    .map(str::to_string);
            }
            EntryKind::Reply {
                code: 250, lines, ..
            } if lines.len() > 1 => {
                for l in lines {
                    let ext = l.get(4..).unwrap_or_default().to_ascii_uppercase();
                    if ext == "PIPELINING" {
                        c.pipelining = true;
                    }
                    if let Some(n) = ext.strip_prefix("SIZE ") {
                        c.size_limit = n.trim().parse().ok().filter(|n| *n > 0);
                    }
                }
            }
            _ => {}
        }
    }
    c
}

impl InsideTls {
    fn empty(family: Family) -> InsideTls {
        InsideTls {
            outcome: None,
            stage: None,
            deciding: None,
            finding: None,
            open_cause: None,
            mechanism: None,
            login: None,
            mail_sent: false,
            steps: Vec::new(),
            entries: Vec::new(),
            declined: None,
            family,
        }
    }

    fn declined(family: Family, d: Decline) -> InsideTls {
        let mut i = InsideTls::empty(family);
        i.declined = Some(d);
        i
    }
}

/// The diagnostic trailer Exchange Online ends its refusals with:
/// `[<host label>.<region>.PROD.OUTLOOK.COM <ISO time> <16 hex digits>]`; the host label
/// is the greeting's, the region's length varies.
fn exo_trailer(host: Option<&str>) -> Len {
    let fixed = 1 + 1 + ".PROD.OUTLOOK.COM".len() as u64 + 1 + 24 + 1 + 16 + 1;
    let label = host
        .and_then(|h| h.split('.').next())
        .map(|l| l.len() as u64);
    match label {
        Some(l) => Len::range(fixed + l + 4, fixed + l + 12),
        None => Len::range(fixed + 8, fixed + 30),
    }
}

/// Reads the session's sealed turns against `family`'s texts.
#[must_use]
pub fn read(
    tls: &TlsFacts,
    clear: &Clear,
    family: Family,
    classify: &dyn Fn(&Template) -> Option<FindingId>,
) -> InsideTls {
    let Some(hello) = tls.server_hello.as_ref() else {
        return InsideTls::empty(family);
    };
    let tls13 = hello.version.0 == 0x0304;
    let shape = match record_shape(hello.version.0, hello.suite, hello.encrypt_then_mac) {
        Ok(shape) => shape,
        Err(why) => {
            return InsideTls::declined(
                family,
                Decline::new(
                    DeclineReason::CipherUnknown,
                    hello.frame,
                    format!(
                        "the record lengths of {} do not tell the plaintext's: {}",
                        hello.cipher, why.0
                    ),
                ),
            )
        }
    };
    let turns = match turns::turns(&tls.sealed, shape, tls13, clear.ehlo.is_none()) {
        Ok(t) => t,
        Err(d) => return InsideTls::declined(family, d),
    };
    read_turns(
        &turns,
        clear,
        family,
        classify,
        tls.sealed_not_kept > 0,
        &tls.sealed,
    )
}

fn read_turns(
    turns: &[Turn],
    clear: &Clear,
    family: Family,
    classify: &dyn Fn(&Template) -> Option<FindingId>,
    past_bound: bool,
    sealed: &[SealedTurn],
) -> InsideTls {
    let mut i = InsideTls::empty(family);
    let pre = match preamble(turns, clear, sealed) {
        Ok(pre) => pre,
        Err(d) => {
            i.declined = Some(d);
            return i;
        }
    };
    let at = pre.at;
    let ctx = context(turns, clear, family, classify);
    let mut reader = Reader::new(turns, &ctx);
    reader.run(at);
    if reader.complete.is_empty() {
        return stopped(i, pre, &reader, turns, family, classify, clear.size_limit);
    }
    // The readings must agree on what matters; where two do not, the reading stops at the
    // first turn they read differently.
    let first = facts(&reader.complete[0], classify);
    // Readings that part only on which refusal text ended the attempt still tell the
    // outcome: refused, there; what the refusal says is left open.
    let mut open_cause = None;
    let otherwise: Vec<&Vec<(usize, Item)>> = reader
        .complete
        .iter()
        .filter(|r| facts(r, classify) != first)
        .collect();
    if !otherwise.is_empty() {
        open_cause = one_refusal(&i, &reader.complete, turns, classify, clear.size_limit);
        if open_cause.is_none() {
            // The earliest turn where a reading that ends otherwise parts from the first.
            let split = otherwise
                .iter()
                .filter_map(|r| first_difference(&reader.complete[0], r, turns.len(), classify))
                .min()
                .unwrap_or(at);
            return parted(i, pre, &reader.complete, turns, split, classify);
        }
    }
    let Preamble {
        mut steps,
        mut entries,
        ..
    } = pre;
    merged_steps(turns, &reader.complete, &mut steps);
    fill_facts(&mut i, &reader.complete[0]);
    agreed_login(&mut i, &reader.complete, classify);
    i.steps = steps;
    if clear.ehlo.is_none() && !fixed_turn(turns, &reader.complete[0]) {
        i.declined = Some(Decline::new(
            DeclineReason::NoCalibration,
            turns.get(at).map_or(0, |t| t.frame),
            "implicit TLS and no command of a fixed length (AUTH LOGIN, DATA, QUIT) alone in a turn: nothing shows the lengths are read right".into(),
        ));
        return i;
    }
    entries.extend(entries_of(
        turns,
        &reader.complete[0],
        &reader.complete,
        classify,
    ));
    i.entries = entries;
    let items = reader.complete.swap_remove(0);
    decide(&mut i, &items, turns, classify, clear.size_limit);
    // Where the client went on after the refusal, say so at the turn it did.
    let blind = reading::blind_from(&items, clear.pipelining).and_then(|t| turns.get(t));
    if let Some(s) = blind.and_then(|t| {
        i.steps
            .iter_mut()
            .find(|s| s.frame == t.frame && s.side == t.side)
    }) {
        s.meaning
            .push_str(", sent after the refusal (a client that does not read the answers)");
    }
    if let Some(d) = &i.declined {
        // What comes from where the reading stopped is not read.
        i.entries.retain(|e| e.frame < d.frame);
    }
    if let (Some((evidence, candidates)), Some(Outcome::Rejected)) = (open_cause, i.outcome) {
        // The reason given for one reading's text is no reason for the refusal: the texts
        // that fit are.
        i.finding = None;
        i.deciding = None;
        i.open_cause = Some(OpenCause {
            evidence,
            candidates,
        });
    }
    if i.declined.is_none() && i.outcome.is_some() && past_bound {
        // The entries read stand; the outcome is not theirs to decide.
        i.outcome = None;
        i.declined = Some(Decline::new(
            DeclineReason::RecordsPastBound,
            sealed.last().map_or(0, |t| t.last_frame),
            "the session has more turns than are kept; what came after is not read".into(),
        ));
    }
    i
}

/// What is read before the reading proper: the greeting (implicit TLS), the EHLO that
/// calibrates the lengths, and its reply; `at`: the first turn after them.
struct Preamble {
    steps: Vec<Step>,
    entries: Vec<Entry>,
    at: usize,
}

/// The turns before the reading proper, and the calibration: the client's first turn is
/// the EHLO it sent in the clear.
fn preamble(turns: &[Turn], clear: &Clear, sealed: &[SealedTurn]) -> Result<Preamble, Decline> {
    let mut pre = Preamble {
        steps: Vec::new(),
        entries: Vec::new(),
        at: 0,
    };
    // Implicit TLS: the greeting comes first, inside.
    if clear.ehlo.is_none() {
        if let Some(t) = turns.first().filter(|t| t.side == Side::Server) {
            pre.steps.push(step(t, "the greeting".into()));
            let greeting = Answers {
                command: Answered::Greeting,
                frame: t.last_frame,
            };
            pre.entries
                .push(inferred(t, reply(220, None, Vec::new(), greeting), false));
            pre.at = 1;
        }
    }
    let Some(first) = turns.get(pre.at).filter(|t| t.side == Side::Client) else {
        return Err(Decline::new(
            DeclineReason::UnexpectedShape,
            sealed.first().map_or(0, |t| t.first_frame),
            "no command from the client inside TLS".into(),
        ));
    };
    let meaning = match clear.ehlo {
        Some(n) if !first.len.meets(Len::exact(n)) => {
            return Err(Decline::new(
                DeclineReason::NoCalibration,
                first.frame,
                format!(
                    "the client's first turn is {} bytes, not the {n} of the EHLO it sent in the clear: its records are padded or their overhead is not the suite's",
                    first.len
                ),
            ));
        }
        Some(_) => "EHLO, as before STARTTLS (the record lengths are read right)",
        None => "EHLO",
    };
    pre.steps.push(step(first, meaning.into()));
    pre.entries
        .push(inferred(first, command("EHLO", ""), false));
    pre.at += 1;
    if let Some(t) = turns.get(pre.at).filter(|t| t.side == Side::Server) {
        pre.steps.push(step(t, "the EHLO reply".into()));
        let ehlo = Answers {
            command: Answered::Command(Verb::Ehlo),
            frame: first.frame,
        };
        pre.entries
            .push(inferred(t, reply(250, None, Vec::new(), ehlo), false));
        pre.at += 1;
    }
    Ok(pre)
}

/// What the reading weighs the turns against: the family's texts with their slots' lengths
/// for this session, and the facts of the clear part.
fn context<'a>(
    turns: &[Turn],
    clear: &Clear,
    family: Family,
    classify: &'a dyn Fn(&Template) -> Option<FindingId>,
) -> Context<'a> {
    let body = turns
        .iter()
        .filter(|t| t.side == Side::Client)
        .map(|t| t.len)
        .max_by_key(|l| l.hi)
        .unwrap_or(Len::exact(0));
    let slots = Slots {
        host: clear
            .host
            .as_ref()
            .map_or(Len::range(3, 80), |h| Len::exact(h.len() as u64)),
        trailer: exo_trailer(clear.host.as_deref()),
        sender: Len::range(3, 254),
        rcpt: Len::range(3, 254),
        user: Len::range(1, 254),
        size_digits: Len::range(
            reading::digits(body.lo.saturating_sub(body.lo / 10 + 16).max(1)),
            reading::digits(body.hi.max(1)),
        ),
    };
    Context {
        family,
        slots,
        pipelining: clear.pipelining,
        size_limit: clear.size_limit,
        body_max: body.hi,
        classify,
    }
}

/// No reading completes: read up to where every reading got stuck.
fn stopped(
    mut i: InsideTls,
    pre: Preamble,
    reader: &Reader<'_>,
    turns: &[Turn],
    family: Family,
    classify: &dyn Fn(&Template) -> Option<FindingId>,
    size_limit: Option<u64>,
) -> InsideTls {
    let base = pre.steps.len();
    let mut steps = pre.steps;
    let agreed = agreed_prefix(&reader.stuck, reader.deepest);
    items_to_steps(turns, &agreed, &mut steps);
    i.entries = pre.entries;
    i.entries
        .extend(entries_of(turns, &agreed, &reader.stuck, classify));
    fill_facts(&mut i, &agreed);
    let t = turns.get(reader.deepest);
    let frame = t.map_or(0, |t| t.frame);
    // A client turn that fits nothing a client that read the answer sends, right after a
    // refusal every reading reads from its length: a blind client, which sends on
    // whatever it is told. The refusal decided; what it sent after is not read.
    if let (false, Some(t)) = (reader.exhausted, t) {
        if t.side == Side::Client && last_refusal(&agreed).is_some_and(|k| k + 1 == reader.deepest)
        {
            let mut blind = i.clone();
            decide(&mut blind, &agreed, turns, classify, size_limit);
            if blind.outcome == Some(Outcome::Rejected) && blind.declined.is_none() {
                steps.push(step(
                    t,
                    "sent after the refusal without waiting for the answers (a blind client): not read from here".into(),
                ));
                blind.steps = steps;
                return blind;
            }
        }
    }
    let mut d = if reader.exhausted {
        Decline::new(
            DeclineReason::AmbiguousLength,
            frame,
            "more readings of the lengths fit than can be weighed".into(),
        )
    } else if let Some(t) = t {
        let mut d = stuck_decline(t, family, reader.waiting);
        // The client's turn before this answer came right after a refusal.
        let refusal = last_refusal(&agreed).filter(|k| k + 2 == reader.deepest);
        if let Some(k) = refusal.filter(|_| t.side == Side::Server) {
            let at = turns.get(k).map_or(0, |r| r.last_frame);
            let _ = write!(
                d.detail,
                "; the client sent on after the refusal in frame {at}: a blind client that does not wait for the answers, or another attempt answered with a text not documented"
            );
        }
        d
    } else {
        Decline::new(
            DeclineReason::UnexpectedShape,
            frame,
            "the dialogue ends early".into(),
        )
    };
    d.step = Some(steps.len().max(base));
    i.steps = steps;
    i.declined = Some(d);
    i
}

/// A refusal that can stop an attempt: of anything but QUIT, RSET or NOOP.
fn stops(r: &Reply) -> bool {
    r.verdict == Verdict::Refused && !matches!(r.to, Cmd::Quit | Cmd::Rset | Cmd::Noop)
}

/// The turn of the last answer in `items`, where that answer is a refusal that stops.
fn last_refusal(items: &[(usize, Item)]) -> Option<usize> {
    items.iter().rev().find_map(|(t, i)| match i {
        Item::Reply(r) => Some(stops(r).then_some(*t)),
        Item::Command(_) => None,
    })?
}

/// The mechanism and the login's last answer, where every complete reading gives the
/// same; `None` where they differ.
fn agreed_login(
    i: &mut InsideTls,
    readings: &[Vec<(usize, Item)>],
    classify: &dyn Fn(&Template) -> Option<FindingId>,
) {
    fn same<T: Copy + PartialEq>(all: &[Option<T>]) -> Option<T> {
        let first = all.first().copied().flatten()?;
        all.iter().all(|x| *x == Some(first)).then_some(first)
    }
    let mechanisms: Vec<Option<Mechanism>> = readings
        .iter()
        .map(|r| {
            r.iter().find_map(|(_, it)| match it {
                Item::Command(c) => c.mechanism(),
                Item::Reply(_) => None,
            })
        })
        .collect();
    let logins: Vec<Option<Verdict>> = readings.iter().map(|r| facts(r, classify).login).collect();
    i.mechanism = same(&mechanisms);
    i.login = same(&logins).and_then(Verdict::accepted);
}

/// The complete readings part at turn `split`: read up to there.
fn parted(
    mut i: InsideTls,
    pre: Preamble,
    complete: &[Vec<(usize, Item)>],
    turns: &[Turn],
    split: usize,
    classify: &dyn Fn(&Template) -> Option<FindingId>,
) -> InsideTls {
    let mut steps = pre.steps;
    let agreed = agreed_prefix(complete, split);
    items_to_steps(turns, &agreed, &mut steps);
    i.entries = pre.entries;
    i.entries
        .extend(entries_of(turns, &agreed, complete, classify));
    fill_facts(&mut i, &agreed);
    // What they part on may lie past the login, which they may all read alike.
    agreed_login(&mut i, complete, classify);
    let t = turns.get(split);
    let detail = ambiguity(complete, split, t);
    // Every complete reading has the message accepted before they part: it was delivered,
    // whatever came after.
    let delivered = agreed.iter().any(|(_, it)| {
        matches!(it, Item::Reply(r) if r.to == Cmd::Body && r.verdict == Verdict::Accepted)
    });
    if let (true, Some(t)) = (delivered, t) {
        steps.push(step(
            t,
            format!("after the message was accepted, not read: {detail}"),
        ));
        i.steps = steps;
        i.outcome = Some(Outcome::Delivered);
        return i;
    }
    let mut d = Decline::new(
        DeclineReason::AmbiguousLength,
        t.map_or(0, |t| t.last_frame),
        detail,
    );
    d.step = Some(steps.len());
    i.steps = steps;
    i.declined = Some(d);
    i
}

/// Where every complete reading ends the attempt with a refusal at the same stage and
/// turn and they part only on its text, the refusal with its candidate texts' findings;
/// `None` where they part on anything else (an acceptance against a refusal, the stage,
/// the login).
fn one_refusal(
    base: &InsideTls,
    readings: &[Vec<(usize, Item)>],
    turns: &[Turn],
    classify: &dyn Fn(&Template) -> Option<FindingId>,
    size_limit: Option<u64>,
) -> Option<(Evidence, Vec<FindingId>)> {
    let first = login(readings.first()?);
    if readings.iter().any(|r| login(r) != first) {
        return None;
    }
    // Each reading decides alike: refused, at the same stage, in the same turn.
    let mut decided = None;
    for r in readings {
        let mut one = InsideTls::empty(base.family);
        fill_facts(&mut one, r);
        decide(&mut one, r, turns, classify, size_limit);
        let here = match (one.outcome, one.stage, one.deciding) {
            (Some(Outcome::Rejected), Some(stage), Some(d)) => (stage, d.frame),
            _ => return None,
        };
        if decided.is_some_and(|x| x != here) {
            return None;
        }
        decided = Some(here);
    }
    let (stage, frame) = decided?;
    let k = turns
        .iter()
        .position(|t| t.side == Side::Server && t.last_frame == frame)?;
    // The refusals every reading reads in that turn, each text once.
    let mut fits: Vec<Option<&Template>> = Vec::new();
    for r in readings {
        let mut refused = false;
        for (t, item) in r {
            if let (true, Item::Reply(rep)) = (*t == k, item) {
                if rep.verdict == Verdict::Refused {
                    refused = true;
                    let known = fits.iter().any(|f| match (f, rep.template) {
                        (Some(a), Some(b)) => std::ptr::eq(*a, b),
                        (None, None) => true,
                        _ => false,
                    });
                    if !known {
                        fits.push(rep.template);
                    }
                }
            }
        }
        if !refused {
            return None;
        }
    }
    let texts: Vec<String> = fits
        .iter()
        .take(4)
        .map(|f| {
            f.map_or_else(
                || "a refusal of unknown text".into(),
                |t| format!("`{}`", t.shown()),
            )
        })
        .collect();
    let mut causes: Vec<Option<FindingId>> = Vec::new();
    for f in &fits {
        let c = f.and_then(classify);
        if !causes.contains(&c) {
            causes.push(c);
        }
    }
    let names: Vec<&str> = causes
        .iter()
        .map(|c| c.map_or("refused", FindingId::as_str))
        .collect();
    let bytes = turns.get(k).map_or(Len::exact(0), |t| t.len);
    let evidence = Evidence {
        frame,
        text: format!(
            "{}, inferred: the server's encrypted answer is {bytes} bytes of plaintext and every reading of the dialogue has a refusal at {} there, but which of these texts ({}) the length does not tell",
            texts.join(" or "),
            stage.name().to_ascii_uppercase(),
            names.join(", ")
        ),
    };
    Some((evidence, causes.into_iter().flatten().collect()))
}

/// The dialogue entries a reading's items stand for: each command by its verb (what it
/// carried is not read), each answer by the text it fits where every one of `readings`
/// fits the same text there (or texts of the same meaning), else by its code alone.
fn entries_of(
    turns: &[Turn],
    items: &[(usize, Item)],
    readings: &[Vec<(usize, Item)>],
    classify: &dyn Fn(&Template) -> Option<FindingId>,
) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut waiting = std::collections::VecDeque::new();
    // Each AUTH's mechanism where every reading's AUTH of that rank takes the same one;
    // else none is named.
    let nth_mechanism = |r: &[(usize, Item)], n: usize| {
        r.iter()
            .filter_map(|(_, i)| match i {
                Item::Command(c) => c.mechanism(),
                Item::Reply(_) => None,
            })
            .nth(n)
    };
    let mut auths = 0;
    let mut mechanism = "";
    for (k, (t, item)) in items.iter().enumerate() {
        let Some(turn) = turns.get(*t) else { continue };
        match item {
            Item::Command(c) => {
                if let Some(m) = c.mechanism() {
                    let agreed = readings.iter().all(|r| nth_mechanism(r, auths) == Some(m));
                    mechanism = if agreed { m.name() } else { "" };
                    auths += 1;
                }
                let (mut verb, mut kind) = command_kind(*c, mechanism, turn);
                // A 6-byte command the readings take differently (RSET, NOOP or QUIT) is
                // named by all it may be.
                let nth = items[..k]
                    .iter()
                    .filter(|(tt, i)| tt == t && matches!(i, Item::Command(_)))
                    .count();
                let mut may_be: Vec<&str> = Vec::new();
                for r in readings {
                    let other = r
                        .iter()
                        .filter_map(|(tt, i)| match i {
                            Item::Command(o) if tt == t => Some(*o),
                            _ => None,
                        })
                        .nth(nth);
                    if let Some(o) = other.filter(|o| o != c && !o.is_login()) {
                        let word = o.meaning();
                        if !may_be.contains(&word) {
                            may_be.push(word);
                        }
                    }
                }
                if !may_be.is_empty() && !c.is_login() && *c != Cmd::Body {
                    may_be.insert(0, c.meaning());
                    let words = may_be.join("/");
                    verb = Answered::Command(Verb::Other(words.clone()));
                    kind = command(&words, "");
                }
                waiting.push_back(Answers {
                    command: verb,
                    frame: turn.frame,
                });
                out.push(inferred(turn, kind, false));
            }
            Item::Reply(r) => {
                let Some(answers) = waiting.pop_front() else {
                    continue;
                };
                if r.verdict == Verdict::Unread {
                    continue;
                }
                // The same answer in every reading: the n-th answer of this turn to a
                // command of the same step (a login's lines are one step, whichever
                // mechanism a reading takes).
                let step_of = |c: Cmd| if c.is_login() { None } else { Some(c) };
                let to_this = |(tt, i): &(usize, Item)| -> Option<Reply> {
                    match i {
                        Item::Reply(o) if tt == t && step_of(o.to) == step_of(r.to) => Some(*o),
                        _ => None,
                    }
                };
                let nth = items[..k].iter().filter_map(to_this).count();
                let others: Vec<Option<Reply>> = readings
                    .iter()
                    .map(|x| x.iter().filter_map(to_this).nth(nth))
                    .collect();
                let (kind, alike) = reply_read(r, &others, answers, classify);
                out.push(inferred(turn, kind, alike));
            }
        }
    }
    out
}

/// The entry of an answer `r` that `others` (the same answer in the other readings) may
/// read otherwise: its text where they all fit the same one; else the code and enhanced
/// code they agree on, the code's class where only that is agreed, and no text.
fn reply_read(
    r: &Reply,
    others: &[Option<Reply>],
    answers: Answers,
    classify: &dyn Fn(&Template) -> Option<FindingId>,
) -> (EntryKind, bool) {
    let templates: Vec<Option<&Template>> =
        others.iter().map(|o| o.and_then(|o| o.template)).collect();
    // Texts that differ but mean the same (`… disabled for the Tenant` or `… for the
    // Mailbox`) read as this reading's: the same code, the same finding.
    let same_text = r.template.filter(|t| {
        templates.iter().all(|o| {
            o.is_some_and(|o| {
                std::ptr::eq(o, *t) || (o.code() == t.code() && classify(o) == classify(t))
            })
        })
    });
    if let Some(tpl) = same_text {
        let (enhanced, lines) = quoted(tpl);
        let alike = templates
            .iter()
            .any(|o| o.is_some_and(|o| !std::ptr::eq(o, tpl)));
        return (reply(tpl.code(), enhanced, lines, answers), alike);
    }
    let codes: Vec<u16> = others.iter().map(|o| o.map_or(0, |o| o.code)).collect();
    let code = if codes.iter().all(|c| *c == r.code) {
        r.code
    } else if codes.iter().all(|c| c / 100 == r.code / 100) {
        r.code / 100 * 100
    } else {
        // 4xx in one reading, 5xx in another: a refusal, of a class not told.
        500
    };
    let enhanced_of = |t: Option<&Template>| t.and_then(|t| quoted(t).0);
    let enhanced = enhanced_of(r.template).filter(|e| {
        templates
            .iter()
            .all(|t| enhanced_of(*t).as_ref() == Some(e))
    });
    (reply(code, enhanced, Vec::new(), answers), false)
}

/// What a command read from its length answers to, and its entry.
fn command_kind(c: Cmd, mechanism: &str, turn: &Turn) -> (Answered, EntryKind) {
    let auth = |exposure: Exposure| EntryKind::Auth {
        auth: AuthData {
            mechanism: mechanism.to_string(),
            username: None,
            redacted: exposure != Exposure::Nothing,
            exposure,
            cancelled: false,
        },
    };
    let verb = |v: Verb| Answered::Command(v);
    match c {
        Cmd::AuthLogin
        | Cmd::AuthLoginUser
        | Cmd::AuthPlain
        | Cmd::AuthPlainIr
        | Cmd::AuthOauth
        | Cmd::AuthCramMd5 => (verb(Verb::Auth), command("AUTH", mechanism)),
        Cmd::UserLine => (verb(Verb::Auth), auth(Exposure::Nothing)),
        Cmd::PasswordLine | Cmd::PlainLine => (verb(Verb::Auth), auth(Exposure::Password)),
        Cmd::CramLine => (verb(Verb::Auth), auth(Exposure::Digest)),
        Cmd::Mail => (verb(Verb::Mail), command("MAIL", "")),
        Cmd::Rcpt => (verb(Verb::Rcpt), command("RCPT", "")),
        Cmd::Data => (verb(Verb::Data), command("DATA", "")),
        Cmd::Rset => (verb(Verb::Rset), command("RSET", "")),
        Cmd::Noop => (verb(Verb::Noop), command("NOOP", "")),
        Cmd::Quit => (verb(Verb::Quit), command("QUIT", "")),
        Cmd::Body => (
            Answered::EndOfData,
            EntryKind::Body {
                body: Body {
                    kind: BodyKind::Data,
                    bytes: turn.len.lo,
                    lines: 0,
                    end_frame: turn.last_frame,
                    complete: true,
                    gaps: false,
                    last: true,
                },
            },
        ),
    }
}

fn command(verb: &str, argument: &str) -> EntryKind {
    EntryKind::Command {
        command: verb.to_string(),
        argument: argument.to_string(),
        truncated: false,
        end_frame: None,
        repeated: 0,
    }
}

fn reply(code: u16, enhanced: Option<String>, lines: Vec<String>, answers: Answers) -> EntryKind {
    EntryKind::Reply {
        code,
        enhanced,
        lines,
        end_frame: None,
        answers: Some(answers),
    }
}

/// An entry read from `turn`'s plaintext length: a command where the turn starts, an
/// answer where it ends; `alike`: an answer whose length fits other texts of its meaning.
fn inferred(turn: &Turn, kind: EntryKind, alike: bool) -> Entry {
    let (frame, time) = match turn.side {
        Side::Client => (turn.frame, turn.time),
        Side::Server => (turn.last_frame, turn.last_time),
    };
    Entry {
        frame,
        time,
        from: turn.side,
        kind,
        provenance: Provenance::Inferred {
            bytes: turn.len,
            alike,
        },
    }
}

fn step(t: &Turn, meaning: String) -> Step {
    Step {
        side: t.side,
        frame: if t.side == Side::Server {
            t.last_frame
        } else {
            t.frame
        },
        bytes: t.len,
        meaning,
    }
}

/// The items every reading in `readings` agrees on before turn `upto`.
fn agreed_prefix(readings: &[Vec<(usize, Item)>], upto: usize) -> Vec<(usize, Item)> {
    let Some(first) = readings.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, (turn, item)) in first.iter().enumerate() {
        if *turn >= upto {
            break;
        }
        let same = readings.iter().all(|r| {
            r.get(k)
                .is_some_and(|(t2, i2)| t2 == turn && same_item(i2, item))
        });
        if !same {
            break;
        }
        out.push((*turn, *item));
    }
    out
}

fn same_item(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Command(x), Item::Command(y)) => x == y,
        (Item::Reply(x), Item::Reply(y)) => {
            x.to == y.to && x.verdict == y.verdict && x.code / 100 == y.code / 100
        }
        _ => false,
    }
}

/// What a reading says that matters: the login's last answer, and the answers to the
/// envelope and the message (a run of like answers counted once) with the finding each
/// text calls for.
#[derive(PartialEq, Eq)]
struct Facts {
    login: Option<Verdict>,
    answers: Vec<(Asked, Verdict, Option<FindingId>)>,
}

fn facts(items: &[(usize, Item)], classify: &dyn Fn(&Template) -> Option<FindingId>) -> Facts {
    let mut answers = Vec::new();
    for (_, item) in items {
        let Item::Reply(r) = item else { continue };
        if matches!(
            r.to.asked(),
            Asked::Mail | Asked::Rcpt | Asked::Data | Asked::Message
        ) {
            answers.push((r.to.asked(), r.verdict, r.template.and_then(classify)));
        }
    }
    // How many recipients in a row got the same answer changes nothing that matters.
    answers.dedup();
    Facts {
        login: login(items),
        answers,
    }
}

/// The login's last answer in a reading: to the credentials, or a refusal at a prompt.
fn login(items: &[(usize, Item)]) -> Option<Verdict> {
    items.iter().rev().find_map(|(_, item)| match item {
        Item::Reply(r) => match r.to.asked() {
            Asked::Credentials => Some(r.verdict),
            Asked::LoginPrompt | Asked::PlainPrompt if r.verdict == Verdict::Refused => {
                Some(r.verdict)
            }
            _ => None,
        },
        Item::Command(_) => None,
    })
}

/// Steps from complete readings that agree on what matters: a turn they read alike says
/// so; one they read differently gives each reading.
fn merged_steps(turns: &[Turn], readings: &[Vec<(usize, Item)>], steps: &mut Vec<Step>) {
    let per: Vec<Vec<Step>> = readings
        .iter()
        .map(|r| {
            let mut v = Vec::new();
            items_to_steps(turns, r, &mut v);
            v
        })
        .collect();
    let Some(first) = per.first() else { return };
    for (k, step) in first.iter().enumerate() {
        let mut meanings: Vec<&str> = Vec::new();
        for p in &per {
            if let Some(m) = p.get(k).map(|s| s.meaning.as_str()) {
                if !meanings.contains(&m) {
                    meanings.push(m);
                }
            }
        }
        steps.push(Step {
            meaning: meanings.join("; or "),
            ..step.clone()
        });
    }
}

/// The first turn whose answers readings `a` and `b` read differently (by verdict, or
/// by the finding their texts call for).
fn first_difference(
    a: &[(usize, Item)],
    b: &[(usize, Item)],
    turns: usize,
    classify: &dyn Fn(&Template) -> Option<FindingId>,
) -> Option<usize> {
    let verdicts = |r: &[(usize, Item)], t: usize| -> Vec<(Asked, Verdict, Option<FindingId>)> {
        r.iter()
            .filter(|(tt, _)| *tt == t)
            .filter_map(|(_, i)| match i {
                // What QUIT, RSET and NOOP were answered changes no outcome.
                Item::Reply(r) if !matches!(r.to, Cmd::Quit | Cmd::Rset | Cmd::Noop) => {
                    // A login's answer is the login's, at whichever of its lines.
                    let asked = if r.to.is_login() && r.verdict == Verdict::Refused {
                        Asked::Credentials
                    } else {
                        r.to.asked()
                    };
                    Some((asked, r.verdict, r.template.and_then(classify)))
                }
                _ => None,
            })
            .collect()
    };
    (0..turns).find(|&t| verdicts(a, t) != verdicts(b, t))
}

fn ambiguity(readings: &[Vec<(usize, Item)>], split: usize, t: Option<&Turn>) -> String {
    let mut fits: Vec<String> = Vec::new();
    for r in readings {
        let here: Vec<String> = r
            .iter()
            .filter(|(tt, _)| *tt == split)
            .filter_map(|(_, i)| match i {
                Item::Reply(r) => Some(reply_words(r)),
                Item::Command(_) => None,
            })
            .collect();
        let s = here.join(" then ");
        if !s.is_empty() && !fits.contains(&s) {
            fits.push(s);
        }
    }
    let n = t.map_or_else(String::new, |t| t.len.to_string());
    format!(
        "the server's answer is {n} bytes, and {} fit it",
        fits.iter().take(4).cloned().collect::<Vec<_>>().join("; ")
    )
}

fn reply_words(r: &Reply) -> String {
    match (r.template, r.verdict) {
        (Some(t), _) => format!("`{}` ({} bytes)", t.shown(), r.len),
        (None, Verdict::Accepted) => format!("an acceptance ({} bytes)", r.len),
        (None, Verdict::Refused) => format!("a refusal ({} bytes)", r.len),
        (None, Verdict::Unread) => format!("any answer ({} bytes)", r.len),
    }
}

fn stuck_decline(t: &Turn, family: Family, waiting: Option<Cmd>) -> Decline {
    match t.side {
        Side::Server if family != Family::Unknown => Decline::new(
            DeclineReason::UnknownServerTexts,
            t.last_frame,
            format!(
                "the server's answer{} is {} bytes, the length of none of {}'s documented texts",
                waiting.map_or_else(String::new, |c| format!(" to {}", c.meaning())),
                t.len,
                family.name()
            ),
        ),
        Side::Server => Decline::new(
            DeclineReason::UnexpectedShape,
            t.last_frame,
            format!("the server's turn of {} bytes fits no answer the client's commands could have had", t.len),
        ),
        Side::Client => Decline::new(
            DeclineReason::UnexpectedShape,
            t.frame,
            format!(
                "the client's turn of {} bytes fits no command it could send then (a client that sends on after a refusal, or an unknown command)",
                t.len
            ),
        ),
    }
}

/// Steps from a reading's items, a step per turn.
fn items_to_steps(turns: &[Turn], items: &[(usize, Item)], steps: &mut Vec<Step>) {
    let mut k = 0;
    while let Some((turn, _)) = items.get(k) {
        let turn = *turn;
        let mut words = Vec::new();
        while let Some((_, item)) = items.get(k).filter(|(t, _)| *t == turn) {
            words.push(match item {
                Item::Command(c) => c.meaning().to_string(),
                Item::Reply(r) => {
                    let what = reply_words(r);
                    match r.verdict {
                        Verdict::Refused => format!("read as {what}: refused"),
                        _ => format!("read as {what}"),
                    }
                }
            });
            k += 1;
        }
        if let Some(t) = turns.get(turn) {
            steps.push(step(t, words.join(", ")));
        }
    }
}

/// The mechanism, the login's answer and what the client sent, from a reading's items.
fn fill_facts(i: &mut InsideTls, items: &[(usize, Item)]) {
    for (_, item) in items {
        match item {
            Item::Command(c) => {
                if let Some(m) = c.mechanism() {
                    i.mechanism = Some(m);
                }
                if *c == Cmd::Mail {
                    i.mail_sent = true;
                }
            }
            Item::Reply(_) => {}
        }
    }
    i.login = login(items).and_then(Verdict::accepted);
}

/// A client turn of a fixed-length command alone, which shows the lengths are read
/// right where there was no clear EHLO to check them on.
fn fixed_turn(turns: &[Turn], items: &[(usize, Item)]) -> bool {
    turns.iter().enumerate().any(|(k, t)| {
        let cmds: Vec<&Cmd> = items
            .iter()
            .filter(|(tt, _)| *tt == k)
            .filter_map(|(_, i)| match i {
                Item::Command(c) => Some(c),
                Item::Reply(_) => None,
            })
            .collect();
        t.len.is_exact()
            && cmds.len() == 1
            && matches!(
                cmds[0],
                Cmd::AuthLogin | Cmd::AuthPlain | Cmd::Data | Cmd::Quit
            )
    })
}

/// The outcome from a complete reading: a message accepted, else the first refusal that
/// stopped the attempt, else a connection test.
fn decide(
    i: &mut InsideTls,
    items: &[(usize, Item)],
    turns: &[Turn],
    classify: &dyn Fn(&Template) -> Option<FindingId>,
    size_limit: Option<u64>,
) {
    let replies: Vec<(usize, &Reply)> = items
        .iter()
        .filter_map(|(t, item)| match item {
            Item::Reply(r) => Some((*t, r)),
            Item::Command(_) => None,
        })
        .collect();
    if let Some((t, r)) = replies.iter().find(|(_, r)| r.verdict == Verdict::Unread) {
        i.declined = Some(Decline {
            reason: DeclineReason::UnknownServerTexts,
            frame: turns.get(*t).map_or(0, |t| t.last_frame),
            step: i.steps.iter().position(|s| turns.get(*t).is_some_and(|t| s.frame == t.last_frame && s.side == Side::Server)),
            detail: format!(
                "the answer to {} is {} bytes; the texts of {} are not known, so an acceptance and a refusal cannot be told apart",
                r.to.meaning(),
                turns.get(*t).map_or(Len::exact(0), |t| t.len),
                i.family.name()
            ),
        });
        return;
    }
    if replies
        .iter()
        .any(|(_, r)| r.to == Cmd::Body && r.verdict == Verdict::Accepted)
    {
        i.outcome = Some(Outcome::Delivered);
        return;
    }
    // A refusal stops the attempt unless the same step later succeeds (another login,
    // another recipient).
    for (k, (t, r)) in replies.iter().enumerate() {
        if !stops(r) {
            continue;
        }
        let stage = match r.to.asked() {
            Asked::Mail => Stage::Mail,
            Asked::Rcpt => Stage::Rcpt,
            Asked::Data | Asked::Message => Stage::Data,
            _ => Stage::Auth,
        };
        let recovered = replies.iter().skip(k + 1).any(|(_, later)| {
            later.verdict == Verdict::Accepted
                && match stage {
                    Stage::Auth => later.to.asked() == Asked::Credentials,
                    Stage::Rcpt => later.to == Cmd::Rcpt || later.to == Cmd::Data,
                    _ => false,
                }
        });
        if recovered {
            continue;
        }
        let turn = turns.get(*t);
        let frame = turn.map_or(0, |t| t.last_frame);
        let bytes = turn.map_or(Len::exact(0), |t| t.len);
        let finding = r.template.and_then(classify);
        // Where the message was over the SIZE limit, that (not the length) is what rules
        // out an acceptance.
        let over = (r.to == Cmd::Body)
            .then(|| reading::last_command(items, Cmd::Body, *t))
            .flatten()
            .and_then(|k| turns.get(k))
            .zip(size_limit)
            .filter(|(body, limit)| reading::over_limit(body.len, *limit));
        let text = match (r.template, over) {
            (Some(_), Some((body, limit))) => format!(
                "read so because the server's encrypted answer is {bytes} bytes of plaintext, the length of this {} text ({} bytes), and there is no acceptance: the message's records ({} bytes) are over the SIZE limit the server offered ({limit} bytes)",
                i.family.name(),
                r.len,
                body.len
            ),
            (Some(_), None) => format!(
                "read so because the server's encrypted answer is {bytes} bytes of plaintext, the length of this {} text ({} bytes) and of no acceptance there",
                i.family.name(),
                r.len
            ),
            (None, _) => format!(
                "read as a refusal from what the client did next: the server's encrypted answer is {bytes} bytes"
            ),
        };
        i.outcome = Some(Outcome::Rejected);
        i.stage = Some(stage);
        i.deciding = Some(Evidence { frame, text });
        i.finding = finding;
        return;
    }
    if i.mail_sent {
        i.declined = Some(Decline::new(
            DeclineReason::UnexpectedShape,
            turns.last().map_or(0, |t| t.frame),
            "the client began a message and stopped before its end, with no refusal read".into(),
        ));
        return;
    }
    i.outcome = Some(Outcome::TestOnly);
}
