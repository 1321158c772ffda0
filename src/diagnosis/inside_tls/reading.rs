//! Every reading of the turns that an SMTP client and a server of the family could have
//! produced: each client turn split into the commands the client could send then (what
//! it does next depends on the answers it had; a pipelined group only where the server
//! offered PIPELINING), each server turn into answers to the oldest commands waiting,
//! their lengths adding up to the turn's. What all complete readings agree on is read;
//! where they part, or none completes, the reading stops there and says why.

use std::collections::HashMap;
use std::rc::Rc;

use super::texts::{Asked, Family, Slots, Template};
use super::turns::Turn;
use crate::base::Len;
use crate::base::Side;
use crate::diagnosis::FindingId;

/// A line the client sends inside TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmd {
    AuthLogin,
    /// `AUTH LOGIN <user>`.
    AuthLoginUser,
    AuthPlain,
    /// `AUTH PLAIN <initial response>`.
    AuthPlainIr,
    /// `AUTH XOAUTH2 …` or `AUTH OAUTHBEARER …`: one line of a kilobyte or more.
    AuthOauth,
    AuthCramMd5,
    UserLine,
    PasswordLine,
    PlainLine,
    CramLine,
    Mail,
    Rcpt,
    Data,
    Body,
    Rset,
    Noop,
    Quit,
}

/// The SASL mechanism a login used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Login,
    Plain,
    OAuth,
    CramMd5,
}

impl Mechanism {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Login => "LOGIN",
            Mechanism::Plain => "PLAIN",
            Mechanism::OAuth => "XOAUTH2/OAUTHBEARER",
            Mechanism::CramMd5 => "CRAM-MD5",
        }
    }
}

impl Cmd {
    /// The lengths the line can have (with its CRLF).
    fn len(self) -> Len {
        match self {
            Cmd::AuthLogin | Cmd::AuthPlain => Len::exact(12),
            Cmd::AuthCramMd5 => Len::exact(15),
            // `AUTH LOGIN ` + base64 of a user name.
            Cmd::AuthLoginUser => Len::range(17, 400),
            // `AUTH PLAIN ` + base64 of `\0user\0password`.
            Cmd::AuthPlainIr => Len::range(21, 600),
            Cmd::AuthOauth => Len::range(600, 16_384),
            Cmd::UserLine | Cmd::PasswordLine => Len::range(6, 400),
            Cmd::PlainLine => Len::range(10, 600),
            Cmd::CramLine => Len::range(46, 400),
            // `MAIL FROM:<>` and parameters; `RCPT TO:<a@b>`.
            Cmd::Mail => Len::range(14, 600),
            Cmd::Rcpt => Len::range(15, 600),
            Cmd::Data | Cmd::Rset | Cmd::Noop | Cmd::Quit => Len::exact(6),
            // At least `.` CRLF after a line.
            Cmd::Body => Len::range(5, u64::MAX / 4),
        }
    }

    /// A line of a login (AUTH, or a line of its exchange).
    #[must_use]
    pub fn is_login(self) -> bool {
        matches!(
            self.asked(),
            Asked::LoginPrompt | Asked::PlainPrompt | Asked::Credentials
        )
    }

    /// What its answer answers.
    #[must_use]
    pub fn asked(self) -> Asked {
        match self {
            Cmd::AuthLogin | Cmd::AuthLoginUser | Cmd::UserLine => Asked::LoginPrompt,
            Cmd::AuthPlain => Asked::PlainPrompt,
            Cmd::PasswordLine
            | Cmd::PlainLine
            | Cmd::AuthPlainIr
            | Cmd::AuthOauth
            | Cmd::CramLine
            | Cmd::AuthCramMd5 => Asked::Credentials,
            Cmd::Mail => Asked::Mail,
            Cmd::Rcpt => Asked::Rcpt,
            Cmd::Data => Asked::Data,
            Cmd::Body => Asked::Message,
            Cmd::Rset => Asked::Rset,
            Cmd::Noop => Asked::Noop,
            Cmd::Quit => Asked::Quit,
        }
    }

    /// The mechanism an AUTH command names.
    #[must_use]
    pub fn mechanism(self) -> Option<Mechanism> {
        match self {
            Cmd::AuthLogin | Cmd::AuthLoginUser => Some(Mechanism::Login),
            Cmd::AuthPlain | Cmd::AuthPlainIr => Some(Mechanism::Plain),
            Cmd::AuthOauth => Some(Mechanism::OAuth),
            Cmd::AuthCramMd5 => Some(Mechanism::CramMd5),
            _ => None,
        }
    }

    /// What it is taken for, in a step's words.
    pub fn meaning(self) -> &'static str {
        match self {
            Cmd::AuthLogin => "AUTH LOGIN",
            Cmd::AuthLoginUser => "AUTH LOGIN with the user name",
            Cmd::AuthPlain => "AUTH PLAIN",
            Cmd::AuthPlainIr => "AUTH PLAIN with the credentials (password withheld)",
            Cmd::AuthOauth => "AUTH XOAUTH2 or OAUTHBEARER with a token",
            Cmd::AuthCramMd5 => "AUTH CRAM-MD5",
            Cmd::UserLine => "the user name (base64)",
            Cmd::PasswordLine => "the password (base64, withheld)",
            Cmd::PlainLine => "the credentials (base64, password withheld)",
            Cmd::CramLine => "the user name and digest (base64)",
            Cmd::Mail => "MAIL FROM",
            Cmd::Rcpt => "RCPT TO",
            Cmd::Data => "DATA",
            Cmd::Body => "the message",
            Cmd::Rset => "RSET",
            Cmd::Noop => "NOOP",
            Cmd::Quit => "QUIT",
        }
    }
}

/// What an answer was taken for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx or 3xx (a 334 prompt, a 354).
    Accepted,
    Refused,
    /// The answer to the message where the server's texts are unknown.
    Unread,
}

impl Verdict {
    /// Accepted (`true`) or refused; `None` where the answer was not read.
    #[must_use]
    pub fn accepted(self) -> Option<bool> {
        match self {
            Verdict::Accepted => Some(true),
            Verdict::Refused => Some(false),
            Verdict::Unread => None,
        }
    }
}

/// One answer of a reading.
#[derive(Clone, Copy, Debug)]
pub struct Reply {
    pub to: Cmd,
    pub verdict: Verdict,
    pub code: u16,
    /// The text it fits, when the family's texts are known.
    pub template: Option<&'static Template>,
    pub len: Len,
    /// The length its diagnostic trailer took (Exchange Online), the same in every answer
    /// of a session.
    pub trailer: Option<u64>,
}

/// One item of a reading: a command, or an answer, in its turn.
#[derive(Clone, Copy, Debug)]
pub enum Item {
    Command(Cmd),
    Reply(Reply),
}

/// What the client believes, from the answers it has had.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
struct View {
    authed: bool,
    auth_refused: bool,
    /// The credential the client logs in with: a token (OAuth) or a password. A device
    /// holds one of them, so a second attempt uses the same kind.
    token: Option<bool>,
    /// The mechanisms tried: a client that tries again tries another one.
    tried: [bool; 4],
    /// 0: no transaction; 1: MAIL accepted; 2: a recipient accepted.
    mail: u8,
    /// The last MAIL was refused.
    sender_refused: bool,
    /// The last DATA was refused: only a client that does not read the answers sends its
    /// message all the same (the server reads its lines as commands).
    data_refused: bool,
    /// The client went on after a refusal that stops a client reading the answers (some
    /// firmware does): it follows its script, MAIL, RCPT, DATA, the message, QUIT.
    blind: bool,
    expect: Expect,
    quit: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
enum Expect {
    #[default]
    Command,
    LoginUser,
    LoginPassword,
    PlainLine,
    CramLine,
    Body,
}

impl View {
    /// The commands the client may send now as the first of its turn: what a client that
    /// read every answer sends, and what a blind one sends on after a refusal
    /// ([`View::sent`] tells them apart).
    fn next(self, out: &mut Vec<Cmd>) {
        match self.expect {
            Expect::LoginUser => out.push(Cmd::UserLine),
            Expect::LoginPassword => out.push(Cmd::PasswordLine),
            Expect::PlainLine => out.push(Cmd::PlainLine),
            Expect::CramLine => out.push(Cmd::CramLine),
            Expect::Body => out.push(Cmd::Body),
            Expect::Command if self.quit => {}
            Expect::Command if self.blind => {
                if self.data_refused {
                    out.push(Cmd::Body);
                } else if self.mail == 0 && !self.sender_refused {
                    out.push(Cmd::Mail);
                } else {
                    out.extend([Cmd::Rcpt, Cmd::Data]);
                }
                out.push(Cmd::Quit);
            }
            Expect::Command => {
                // What only a client that does not read the answers sends: MAIL after a
                // refused login, a recipient or DATA after a refused sender, the message
                // after a refused DATA ([`View::sent`] marks the reading blind).
                if self.data_refused {
                    out.push(Cmd::Body);
                }
                match self.mail {
                    0 => {
                        if !self.authed {
                            out.extend(
                                [
                                    Cmd::AuthLogin,
                                    Cmd::AuthLoginUser,
                                    Cmd::AuthPlain,
                                    Cmd::AuthPlainIr,
                                    Cmd::AuthOauth,
                                    Cmd::AuthCramMd5,
                                ]
                                .into_iter()
                                .filter(|c| {
                                    let m = c.mechanism();
                                    self.token
                                        .is_none_or(|t| t == (m == Some(Mechanism::OAuth)))
                                        && !m.is_some_and(|m| self.tried[m as usize])
                                }),
                            );
                        }
                        // After a refused login only a blind client goes on to MAIL.
                        out.push(Cmd::Mail);
                        // A pipelining client may send its recipients and DATA after a
                        // refused sender all the same (msmtp does), and so does a blind
                        // one; the server answers them "bad sequence". The refusal
                        // already decided.
                        if self.sender_refused {
                            out.extend([Cmd::Rcpt, Cmd::Data]);
                        }
                    }
                    _ => out.extend([Cmd::Rcpt, Cmd::Data]),
                }
                out.extend([Cmd::Rset, Cmd::Noop, Cmd::Quit]);
            }
        }
    }

    /// The commands a pipelining client may send after `last` without waiting.
    fn pipelined(last: Cmd, out: &mut Vec<Cmd>) {
        match last {
            Cmd::Mail => out.push(Cmd::Rcpt),
            Cmd::Rcpt => out.extend([Cmd::Rcpt, Cmd::Data]),
            // A message's length is free, so only QUIT is taken to follow it unanswered.
            Cmd::Body => out.push(Cmd::Quit),
            // RFC 4954 §4: AUTH with an initial response may be followed by MAIL.
            Cmd::AuthPlainIr | Cmd::AuthOauth => out.push(Cmd::Mail),
            _ => {}
        }
    }

    /// The view once the client sent `cmd` as the first command of its turn: blind where
    /// no client that read the answers so far sends it (a pipelining client sends its
    /// recipients and DATA with its sender, in one group, but may send them after a refused
    /// sender: msmtp does).
    fn sent(&mut self, cmd: Cmd, pipelining: bool) {
        self.blind |= match cmd {
            Cmd::Mail => self.auth_refused && !self.authed,
            Cmd::Rcpt => self.sender_refused && !pipelining,
            // DATA alone in its turn with no recipient accepted: a pipelining client sends
            // it in its group, after its recipients, not on its own after their answers.
            Cmd::Data => self.mail == 0 || self.mail == 1 && !pipelining,
            Cmd::Body => self.data_refused,
            _ => false,
        };
    }

    /// The view once `cmd` got an answer of `verdict`.
    fn apply(&mut self, cmd: Cmd, verdict: Verdict) {
        let ok = verdict != Verdict::Refused;
        if let Some(m) = cmd.mechanism() {
            self.token = Some(m == Mechanism::OAuth);
            self.tried[m as usize] = true;
        }
        match cmd {
            Cmd::AuthLogin if ok => self.expect = Expect::LoginUser,
            Cmd::AuthLoginUser | Cmd::UserLine if ok => self.expect = Expect::LoginPassword,
            Cmd::AuthPlain if ok => self.expect = Expect::PlainLine,
            Cmd::AuthCramMd5 if ok => self.expect = Expect::CramLine,
            Cmd::AuthLogin
            | Cmd::AuthLoginUser
            | Cmd::UserLine
            | Cmd::AuthPlain
            | Cmd::AuthCramMd5
            | Cmd::PasswordLine
            | Cmd::PlainLine
            | Cmd::AuthPlainIr
            | Cmd::AuthOauth
            | Cmd::CramLine => {
                self.expect = Expect::Command;
                if ok {
                    self.authed = true;
                } else {
                    self.auth_refused = true;
                }
            }
            Cmd::Mail => {
                self.mail = u8::from(ok);
                self.sender_refused = !ok;
                self.data_refused = false;
            }
            Cmd::Rcpt if ok => self.mail = 2,
            Cmd::Data if ok => self.expect = Expect::Body,
            Cmd::Data | Cmd::Body | Cmd::Rset => {
                self.expect = Expect::Command;
                self.mail = 0;
                self.sender_refused = false;
                self.data_refused = cmd == Cmd::Data;
            }
            Cmd::Rcpt | Cmd::Noop => {}
            Cmd::Quit => self.quit = true,
        }
    }
}

/// A reading under way.
#[derive(Clone, Debug)]
struct Hyp {
    turn: usize,
    view: View,
    pending: Vec<Cmd>,
    /// Items, each with its turn.
    items: Vec<(usize, Item)>,
    /// The lengths the sender, the last recipient and the login may have, from the
    /// records of the commands that carried them alone.
    sender: Option<Vec<u64>>,
    rcpt: Option<u64>,
    user: Option<Vec<u64>>,
    /// The trailer's length, once an answer carried it.
    trailer: Option<u64>,
}

/// The search's limit, in steps of work: past it, too many readings fit to weigh them.
const BUDGET: usize = 200_000;

/// What the family's texts and the session's facts allow.
pub struct Context<'a> {
    pub family: Family,
    pub slots: Slots,
    pub pipelining: bool,
    /// The clear EHLO's SIZE limit: a message below it is not refused for its size.
    pub size_limit: Option<u64>,
    /// The largest client turn: the message, if one was sent.
    pub body_max: u64,
    pub classify: &'a dyn Fn(&Template) -> Option<FindingId>,
}

/// The readings of `turns`, the first of which (the calibrated EHLO and its reply) are
/// already read.
pub struct Reader<'a> {
    turns: &'a [Turn],
    ctx: &'a Context<'a>,
    budget: usize,
    pub complete: Vec<Vec<(usize, Item)>>,
    /// The furthest turn any reading reached, the readings that reached it, and the
    /// command the first of them was waiting an answer to.
    pub deepest: usize,
    pub stuck: Vec<Vec<(usize, Item)>>,
    pub waiting: Option<Cmd>,
    pub exhausted: bool,
    answers: HashMap<AnswersKey, Rc<[Reply]>>,
}

/// What the answers a server may give depend on: the command, the server's state, the
/// trailer's length, the slot lengths learnt, and whether the message is over the SIZE
/// limit.
type AnswersKey = (
    Cmd,
    View,
    Option<u64>,
    Option<Vec<u64>>,
    Option<Vec<u64>>,
    Option<u64>,
    bool,
);

/// Answer lists kept at once (each up to a few thousand answers of 64 bytes).
const MAX_CACHED: usize = 256;

impl<'a> Reader<'a> {
    #[must_use]
    pub fn new(turns: &'a [Turn], ctx: &'a Context<'a>) -> Self {
        Reader {
            turns,
            ctx,
            budget: BUDGET,
            complete: Vec::new(),
            deepest: 0,
            stuck: Vec::new(),
            waiting: None,
            exhausted: false,
            answers: HashMap::new(),
        }
    }

    /// Reads from turn `from` on.
    pub fn run(&mut self, from: usize) {
        let h = Hyp {
            turn: from,
            view: View::default(),
            pending: Vec::new(),
            items: Vec::new(),
            sender: None,
            rcpt: None,
            user: None,
            trailer: None,
        };
        self.deepest = from;
        self.step(h);
    }

    /// Takes one unit of work; false once the budget is spent (every loop of the search
    /// pays, so no input can make it run long).
    fn work(&mut self) -> bool {
        if self.budget == 0 {
            self.exhausted = true;
            return false;
        }
        self.budget -= 1;
        true
    }

    fn step(&mut self, h: Hyp) {
        if !self.work() {
            return;
        }
        if self.complete.len() > 64 {
            // Enough to see whether they agree.
            return;
        }
        if h.turn > self.deepest {
            self.deepest = h.turn;
            self.stuck.clear();
        }
        if h.turn == self.deepest && self.stuck.len() < 16 {
            if self.stuck.is_empty() {
                self.waiting = h.pending.first().copied();
            }
            self.stuck.push(h.items.clone());
        }
        let Some(turn) = self.turns.get(h.turn) else {
            self.complete.push(h.items);
            return;
        };
        // A message sent after its DATA was refused: the server reads its lines as
        // commands, and what it answers them (as many answers as lines, or a disconnection)
        // is not read. The refusal decided; the reading ends here.
        if turn.side == Side::Server && h.view.data_refused && h.pending.first() == Some(&Cmd::Body)
        {
            self.complete.push(h.items);
            return;
        }
        let mut lens = vec![turn.len];
        lens.extend(turn.without.iter().copied());
        match turn.side {
            Side::Client => {
                for len in lens {
                    let mut seq = Vec::new();
                    self.commands(&h, len, len, &mut seq);
                }
            }
            Side::Server => {
                // A server answers every command it has read before the client speaks
                // again (a pipelined group at once); only a QUIT may go unanswered at the
                // end, where the connection closed before its 221 was captured.
                let all = h.pending.len();
                let last = h.turn + 1 == self.turns.len();
                let fewer = last && h.pending.last() == Some(&Cmd::Quit);
                for len in lens {
                    for n in (all - usize::from(fewer)).max(1)..=all {
                        let mut chosen = Vec::new();
                        self.replies(&h, n, len, &mut chosen);
                    }
                }
            }
        }
    }

    /// Splits a client turn of `total` bytes, `left` of them after `seq`, into commands.
    fn commands(&mut self, h: &Hyp, total: Len, left: Len, seq: &mut Vec<Cmd>) {
        if seq.len() > 40 {
            return;
        }
        // A client speaks again once every command it sent was answered: a pipelining
        // client writes its group and then reads all its answers (RFC 2920 §3.1).
        if seq.is_empty() && !h.pending.is_empty() {
            return;
        }
        let mut options = Vec::new();
        match seq.last() {
            None => h.view.next(&mut options),
            Some(&last) if self.ctx.pipelining => View::pipelined(last, &mut options),
            Some(_) => {}
        }
        for cmd in options {
            if !self.work() {
                return;
            }
            let l = cmd.len();
            if l.lo > left.hi {
                continue;
            }
            // A client is read as blind only on exact lengths (AEAD suites) and against the
            // server's own texts: within a CBC block, or with any answer fitting, too many
            // commands and answers fit (a HELP answered by its help text also fits a DATA
            // answered "no valid recipients").
            if seq.is_empty()
                && !h.view.blind
                && (!total.is_exact() || self.ctx.family == Family::Unknown)
            {
                let mut v = h.view;
                v.sent(cmd, self.ctx.pipelining);
                if v.blind {
                    continue;
                }
            }
            // A message sent after its DATA was refused is taken for one only where its turn
            // is longer than any command line (RFC 5321 §4.5.3.1.4: 512 bytes): a shorter
            // one is a command.
            if cmd == Cmd::Body && h.view.data_refused && total.hi <= 512 {
                continue;
            }
            seq.push(cmd);
            // The turn can end here when what is left fits this command's range, and a
            // group of envelope commands ends with DATA, as pipelining clients send it.
            let open_group = seq.len() > 1 && matches!(cmd, Cmd::Mail | Cmd::Rcpt);
            if left.meets(l) && !open_group {
                let mut next = h.clone();
                next.turn += 1;
                if let Some(&first) = seq.first() {
                    next.view.sent(first, self.ctx.pipelining);
                }
                for &c in seq.iter() {
                    next.pending.push(c);
                    next.items.push((h.turn, Item::Command(c)));
                }
                // A command of free length among fixed-length ones has the rest of the turn.
                let free: Vec<Cmd> = seq
                    .iter()
                    .copied()
                    .filter(|c| !c.len().is_exact())
                    .collect();
                if let ([only], true) = (free.as_slice(), total.is_exact()) {
                    let fixed: u64 = seq
                        .iter()
                        .filter(|c| c.len().is_exact())
                        .map(|c| c.len().lo)
                        .sum();
                    if let Some(n) = total.lo.checked_sub(fixed) {
                        self.learn(&mut next, *only, n);
                    }
                }
                self.step(next);
            }
            if let Some(rest) = left.minus(l) {
                if rest.hi > 0 {
                    self.commands(h, total, Len::range(rest.lo.max(1), rest.hi), seq);
                }
            }
            seq.pop();
        }
    }

    /// What a command alone in an exact turn of `n` bytes tells of the slots.
    fn learn(&self, h: &mut Hyp, cmd: Cmd, n: u64) {
        match cmd {
            // `MAIL FROM:<` … `>` CRLF, and the parameters clients add: SIZE=, BODY=8BITMIME,
            // SMTPUTF8, AUTH=<>.
            Cmd::Mail => {
                // SIZE= is what the client declares, which need not be what it sends; above
                // the server's limit, MAIL is refused whatever the sender.
                let most = self.ctx.size_limit.map_or(10, digits);
                let mut params = vec![0, 15, 9, 8];
                for d in 6 + 1..=6 + most {
                    params.extend([d, d + 15, d + 9, d + 8, d + 15 + 9]);
                }
                let mut v: Vec<u64> = params
                    .iter()
                    .filter_map(|p| n.checked_sub(14 + p))
                    .collect();
                v.sort_unstable();
                v.dedup();
                h.sender = Some(v);
            }
            Cmd::Rcpt => h.rcpt = n.checked_sub(12),
            // base64 of the user name: 4 characters for every 3 bytes, the last group
            // padded.
            Cmd::UserLine | Cmd::AuthLoginUser => {
                let b64 = n.saturating_sub(if cmd == Cmd::UserLine { 2 } else { 13 });
                let whole = b64 / 4 * 3;
                h.user = Some((whole.saturating_sub(2)..=whole).collect());
            }
            _ => {}
        }
    }

    /// The lengths a template may have in this reading, one per value its slots may take,
    /// each with the trailer length it took (`trailer`: the one this reading has already).
    fn lengths(&self, t: &Template, h: &Hyp, trailer: Option<u64>) -> Vec<(Len, Option<u64>)> {
        let one = |v: Option<Vec<u64>>, name: &str| -> Vec<Option<u64>> {
            match v {
                Some(v) if t.text.contains(name) && !v.is_empty() => {
                    v.into_iter().map(Some).collect()
                }
                _ => vec![None],
            }
        };
        let range = self.ctx.slots.trailer;
        let trailers = trailer.map_or_else(|| (range.lo..=range.hi).collect(), |x| vec![x]);
        let mut out = Vec::new();
        for sender in one(h.sender.clone(), "{sender}") {
            for user in one(h.user.clone(), "{user}") {
                for tr in one(Some(trailers.clone()), "{trailer}") {
                    let mut slots = self.ctx.slots;
                    if let Some(s) = sender {
                        slots.sender = Len::exact(s);
                    }
                    if let Some(u) = user {
                        slots.user = Len::exact(u);
                    }
                    if let Some(r) = h.rcpt {
                        slots.rcpt = Len::exact(r);
                    }
                    if let Some(x) = tr {
                        slots.trailer = Len::exact(x);
                    }
                    let l = (t.len(&slots), tr);
                    if !out.contains(&l) {
                        out.push(l);
                    }
                }
            }
        }
        out
    }

    /// Answers the first `n` waiting commands with a server turn of `left` bytes.
    fn replies(&mut self, h: &Hyp, n: usize, left: Len, chosen: &mut Vec<Reply>) {
        if chosen.len() == n {
            if left.lo > 0 {
                return;
            }
            let mut next = h.clone();
            next.turn += 1;
            next.trailer = chosen.iter().find_map(|r| r.trailer).or(h.trailer);
            for r in chosen.iter() {
                next.pending.remove(0);
                next.view.apply(r.to, r.verdict);
                next.items.push((h.turn, Item::Reply(*r)));
            }
            self.step(next);
            return;
        }
        let Some(&cmd) = h.pending.get(chosen.len()) else {
            return;
        };
        let last = chosen.len() + 1 == n;
        // What the server has answered so far, this turn's answers included.
        let mut view = h.view;
        for r in chosen.iter() {
            view.apply(r.to, r.verdict);
        }
        let trailer = chosen.iter().find_map(|r| r.trailer).or(h.trailer);
        // The answers depend only on these: computed once for each, as the search meets
        // the same state again and again.
        // What the SIZE limit tells here: the message sent is over it (it is not accepted),
        // or the MAIL may declare a size over it (only then is it refused for its size).
        let over = self.over_size_limit(cmd, h);
        let key = (
            cmd,
            view,
            trailer,
            h.sender.clone(),
            h.user.clone(),
            h.rcpt,
            over,
        );
        let candidates = if let Some(c) = self.answers.get(&key) {
            Rc::clone(c)
        } else {
            if self.answers.len() >= MAX_CACHED {
                self.answers.clear();
            }
            let c: Rc<[Reply]> = self.candidates(cmd, h, view, trailer, over).into();
            self.answers.insert(key, Rc::clone(&c));
            c
        };
        for &r in candidates.iter() {
            if !self.work() {
                return;
            }
            if r.len.lo > left.hi {
                continue;
            }
            let fits = if last { left.meets(r.len) } else { true };
            if !fits {
                continue;
            }
            let rest = left.minus(r.len).map_or(Len::exact(0), |l| l);
            chosen.push(r);
            self.replies(h, n, rest, chosen);
            chosen.pop();
        }
    }

    /// What the SIZE limit the server offered tells of `h`'s last `cmd`: the message is
    /// over it (RFC 1870: it is refused, not accepted); the MAIL's turn can hold `SIZE=`
    /// over it (`MAIL FROM:<> SIZE=`, as many digits as the limit, CRLF), as a MAIL refused
    /// for its size must. Without a limit offered, neither.
    fn over_size_limit(&self, cmd: Cmd, h: &Hyp) -> bool {
        let Some(limit) = self.ctx.size_limit else {
            return false;
        };
        if !matches!(cmd, Cmd::Body | Cmd::Mail) {
            return false;
        }
        let last = last_command(&h.items, cmd, usize::MAX).and_then(|k| self.turns.get(k));
        last.is_some_and(|t| match cmd {
            Cmd::Body => over_limit(t.len, limit),
            _ => t.len.hi >= 12 + 6 + digits(limit) + 2,
        })
    }

    /// The answers the family may give to `cmd` here, where the server's state is `view`;
    /// `over`: for the message, it is over the server's SIZE limit, so it is not accepted;
    /// for MAIL, it may declare a size over that limit.
    fn candidates(
        &self,
        cmd: Cmd,
        h: &Hyp,
        view: View,
        trailer: Option<u64>,
        over: bool,
    ) -> Vec<Reply> {
        let asked = cmd.asked();
        let mut out = Vec::new();
        let family = self.ctx.family;
        // RFC 5321 §3.3: a recipient only after a sender, the message only after a
        // recipient; out of that order, only a "bad sequence" refusal.
        let out_of_order =
            (cmd == Cmd::Rcpt && view.mail == 0) || (cmd == Cmd::Data && view.mail < 2);
        if family == Family::Unknown {
            let generic = |verdict, code, len| Reply {
                to: cmd,
                verdict,
                code,
                template: None,
                len,
                trailer: None,
            };
            match asked {
                Asked::LoginPrompt => out.push(generic(Verdict::Accepted, 334, Len::range(8, 80))),
                Asked::PlainPrompt => out.push(generic(Verdict::Accepted, 334, Len::range(5, 6))),
                Asked::Credentials => out.push(generic(Verdict::Accepted, 235, Len::range(8, 100))),
                Asked::Message => {
                    out.push(generic(Verdict::Unread, 0, Len::range(6, 1024)));
                    return out;
                }
                Asked::Data => out.push(generic(Verdict::Accepted, 354, Len::range(6, 200))),
                Asked::Quit => out.push(generic(Verdict::Accepted, 221, Len::range(5, 200))),
                _ => out.push(generic(Verdict::Accepted, 250, Len::range(6, 200))),
            }
            if out_of_order {
                out.clear();
            }
            if asked != Asked::Quit {
                out.push(generic(Verdict::Refused, 500, Len::range(8, 512)));
            }
            return out;
        }
        // Refusals of the login come at any of its lines.
        let login_step = matches!(asked, Asked::LoginPrompt | Asked::PlainPrompt);
        for t in family.templates() {
            let refusal = t.code() >= 400;
            let wanted = t.to == asked || (login_step && t.to == Asked::Credentials && refusal);
            if !wanted {
                continue;
            }
            if refusal && self.ruled_out(t, view) {
                continue;
            }
            if over && !refusal && t.to == Asked::Message {
                continue;
            }
            if !over
                && refusal
                && t.to == Asked::Mail
                && (self.ctx.classify)(t) == Some(FindingId::MessageTooLarge)
            {
                continue;
            }
            if (cmd == Cmd::Rcpt || cmd == Cmd::Data) && t.out_of_sequence() != out_of_order {
                continue;
            }
            if let Some(offered) = cmd.mechanism().and_then(|m| family.offers(m)) {
                // A mechanism the server does not offer gets only its "unrecognized" answer.
                if t.unrecognized_mechanism() == offered {
                    continue;
                }
            }
            for (len, trailer) in self.lengths(t, h, trailer) {
                out.push(Reply {
                    to: cmd,
                    verdict: if refusal {
                        Verdict::Refused
                    } else {
                        Verdict::Accepted
                    },
                    code: t.code(),
                    template: Some(t),
                    len,
                    trailer,
                });
            }
        }
        out
    }

    /// A refusal the facts rule out: a size refusal of a message sent below the SIZE
    /// limit the server offered; a refusal naming the login where there was none; a refusal for
    /// want of a login after one was accepted.
    fn ruled_out(&self, t: &Template, view: View) -> bool {
        let finding = (self.ctx.classify)(t);
        // (At MAIL no message was sent: SIZE= declared it.)
        let size = finding == Some(FindingId::MessageTooLarge)
            && t.to == Asked::Message
            && self
                .ctx
                .size_limit
                .is_some_and(|limit| self.ctx.body_max < limit);
        let names_login = t.text.contains("{user}") && !view.authed;
        let wants_login = finding == Some(FindingId::NotAuthenticated) && view.authed;
        // "Too many recipients" comes after the recipients allowed were accepted.
        let too_many = finding == Some(FindingId::TooManyRecipients) && view.mail < 2;
        size || names_login || wants_login || too_many
    }
}

/// The turn where a reading takes the client for a blind one: the first command it sent,
/// first in its turn, that no client reading the answers so far sends ([`View::sent`]).
#[must_use]
pub fn blind_from(items: &[(usize, Item)], pipelining: bool) -> Option<usize> {
    let mut view = View::default();
    let mut turn = None;
    for &(t, item) in items {
        match item {
            Item::Command(c) if turn != Some(t) => {
                turn = Some(t);
                view.sent(c, pipelining);
                if view.blind {
                    return Some(t);
                }
            }
            Item::Command(_) => {}
            Item::Reply(r) => view.apply(r.to, r.verdict),
        }
    }
    None
}

/// The turn of the last `cmd` in `items` before turn `before`.
#[must_use]
pub fn last_command(items: &[(usize, Item)], cmd: Cmd, before: usize) -> Option<usize> {
    items.iter().rev().find_map(|(turn, item)| {
        (matches!(item, Item::Command(c) if *c == cmd) && *turn < before).then_some(*turn)
    })
}

/// A message whose records carry `body` bytes is over a SIZE limit of `limit` bytes. Its
/// records hold at most one dot-stuffing byte per line of at least 3 bytes and the closing
/// `.CRLF`: the message itself has at least (records − 3) × 3/4 bytes.
#[must_use]
pub fn over_limit(body: Len, limit: u64) -> bool {
    body.lo.saturating_sub(3) / 4 * 3 > limit
}

/// The decimal digits of `n`.
#[must_use]
pub fn digits(n: u64) -> u64 {
    u64::from(n.checked_ilog10().unwrap_or(0)) + 1
}
