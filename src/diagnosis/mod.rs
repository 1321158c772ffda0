//! Stage 6: from what was observed to what is wrong and what to change.
//!
//! Per session: its transactions, its outcome (and the reply that decided it) and which
//! Microsoft 365 endpoint the server is. Per capture: findings from the catalogue, each
//! with the frames and quoted lines that prove it.

pub mod attempts;
mod catalogue;
pub mod checklist;
pub mod inside_tls;
pub mod outcome;
pub mod refusal;
mod role;
mod rules;
pub mod server;
pub mod severity;
mod verdict;

pub use catalogue::{FindingId, FindingKind, Severity, Texts, CATALOGUE, SHARP_SMTP, SUPPORTED};
pub use outcome::{Outcome, Stage, Transaction};
pub use role::ServerRole;
pub use server::ServerIdentity;
pub use verdict::{Happened, Named, Verdict};

use crate::analysis::{Analysis, Protocol, Session};
use crate::dialogue::{Entry, EntryKind};
use crate::dns;
use std::net::IpAddr;

/// A frame and the quoted line (or fact) in it that a finding rests on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub frame: u64,
    pub text: String,
}

/// One diagnosis, with the frames that show it and what to change.
#[derive(Clone, Debug)]
pub struct Finding {
    /// Which entry of the catalogue.
    pub id: FindingId,
    /// How much it matters here (from the facts: the server, the outcome).
    pub severity: Severity,
    /// One line: what was found.
    pub title: &'static str,
    /// Why it matters.
    pub explanation: &'static str,
    /// What to change, for the server this capture shows.
    pub remediation: String,
    /// The session it belongs to (`id`), or null for the capture as a whole.
    pub session: Option<usize>,
    /// The frames and quoted lines that show it.
    pub evidence: Vec<Evidence>,
    /// The later session whose delivery superseded the failure this finding is about
    /// (then a warning, whatever its kind).
    pub superseded_by: Option<usize>,
}

impl Finding {
    /// Whether a later delivery leaves this finding as it is, when it supersedes the
    /// failed session the finding is about: a password that crossed in clear is exposed
    /// whatever happened next. The rest explains the failure, and becomes a warning.
    pub fn stands_when_superseded(&self) -> bool {
        self.id == FindingId::CleartextCredentials
    }
}

/// How the outcome is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// From the dialogue as the capture shows it (in clear text, or TLS's own facts).
    Observed,
    /// From the lengths of the encrypted records ([`SessionDiagnosis::inside_tls`]).
    Inferred,
    /// From the dialogue inside TLS, decrypted with the secrets of a key log.
    Decrypted,
}

/// What the diagnosis adds to a session.
#[derive(Clone, Debug)]
pub struct SessionDiagnosis {
    /// How the outcome is known.
    pub basis: Basis,
    /// The dialogue inside TLS as the record lengths show it, when they decided.
    pub inside_tls: Option<inside_tls::InsideTls>,
    /// What happened: delivered, rejected, not sent, cannot be seen.
    pub outcome: Outcome,
    /// For `rejected`: the stage the rejection happened at.
    pub stage: Option<Stage>,
    /// The reply that decided a rejection.
    pub deciding_reply: Option<Evidence>,
    /// What kind of server this is (Exchange Online submission, MX, relay, other).
    pub server_role: ServerRole,
    /// Provider, software and endpoint, as far as the capture shows.
    pub server_identity: ServerIdentity,
    /// The name the server was recognised by, and where it was seen.
    pub server_name: Option<String>,
    /// Where the name came from (greeting, DNS, certificate, …).
    pub server_name_source: &'static str,
    /// Each mail transaction (MAIL … final reply).
    pub transactions: Vec<Transaction>,
    /// A POP3 session (POP before SMTP): its refusal is no refusal of the mail.
    pub pop3: bool,
    /// What the session shows of the device's settings, for the checklist.
    pub settings: checklist::SettingsSeen,
    /// Its place among the device's attempts to this server (SMTP sessions).
    pub attempt: Option<attempts::AttemptMark>,
}

impl SessionDiagnosis {
    /// The session's dialogue with what was read inside its TLS from the record lengths,
    /// in frame order: what the reports show.
    #[must_use]
    pub fn dialogue<'a>(&'a self, s: &'a Session) -> Vec<&'a Entry> {
        let inferred = self.inside_tls.as_ref().map_or(&[][..], |i| &i.entries[..]);
        crate::dialogue::merged(&s.dialogue, inferred)
    }

    /// The outcome as the reports show it: `rejected at rcpt`, `delivered`, ….
    pub fn outcome_label(&self) -> String {
        match (self.outcome, self.stage) {
            (Outcome::Rejected, Some(stage)) => format!("rejected at {}", stage.name()),
            (o, _) => o.name().to_string(),
        }
    }
}

/// The diagnosis of a whole capture, held in memory (see [`Diagnoser`] for the streaming
/// form the command line uses).
#[derive(Clone, Debug, Default)]
pub struct Diagnosis {
    /// Each session's diagnosis, in the order of the sessions.
    pub sessions: Vec<SessionDiagnosis>,
    /// Each session's own findings, by position in `sessions`.
    pub session_findings: Vec<Vec<Finding>>,
    /// Findings about the capture as a whole, or that needed later sessions to be seen.
    pub capture_findings: Vec<Finding>,
}

impl Diagnosis {
    /// The verdict: what happened first, then the cause or the first warning.
    #[must_use]
    pub fn verdict(&self) -> Verdict {
        let mut summary = Summary::default();
        for f in self.findings() {
            summary.add_finding(f);
        }
        for sd in &self.sessions {
            summary.add_session(sd);
        }
        summary.verdict()
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings()
            .iter()
            .any(|f| f.severity == Severity::Error)
    }

    /// Every finding in report order: by severity, and within one the capture's first,
    /// then the sessions' in session order.
    pub fn findings(&self) -> Vec<&Finding> {
        let mut all: Vec<&Finding> = self
            .capture_findings
            .iter()
            .chain(self.session_findings.iter().flatten())
            .collect();
        all.sort_by_key(|f| f.severity);
        all
    }

    /// Whether a finding's fix is a setting on the device.
    pub fn device_side(id: FindingId) -> bool {
        id.kind().device_side
    }
}

/// The verdict of sessions and findings as they go by (a live capture's, say): what
/// happened first, then the cause.
#[derive(Clone, Debug, Default)]
pub struct Tally(Summary);

impl Tally {
    /// Counts a session's diagnosis.
    pub fn session(&mut self, sd: &SessionDiagnosis) {
        self.0.add_session(sd);
    }

    /// Counts a finding.
    pub fn finding(&mut self, f: &Finding) {
        self.0.add_finding(f);
    }

    /// This tally's findings first, then `later`'s findings and sessions (capture-wide
    /// findings lead a report).
    #[must_use]
    pub fn then(self, later: &Tally) -> Tally {
        Tally(self.0.then(&later.0))
    }

    /// The verdict so far.
    pub fn verdict(&self) -> Verdict {
        self.0.verdict()
    }
}

/// A failed session as the verdict counts it: its id, outcome, and for a refusal its stage
/// and reply.
type Failure = (usize, Outcome, Option<(Stage, Option<String>)>);

/// What the verdict and the batch summary need to know of a capture's diagnosis,
/// gathered as sessions and findings go by.
#[derive(Clone, Debug)]
pub struct Summary {
    pub sessions: usize,
    pub delivered: bool,
    /// A message's acceptance was read from the encrypted record lengths.
    pub delivered_inferred: bool,
    pub encrypted_transfer: bool,
    pub incomplete: bool,
    pub all_test_only: bool,
    /// The first rejection: its stage and the reply that decided it.
    pub rejected: Option<(Stage, Option<String>)>,
    pub no_connection: bool,
    pub tls_failed: bool,
    /// The failed SMTP sessions a later delivery may still supersede (a live capture's
    /// sessions are counted before that is known): session, outcome, stage and reply.
    failures: Vec<Failure>,
    /// Failures beyond the bound of `failures`: they stand whatever comes later.
    failures_kept: bool,
    /// The errors counted so far, with their session, for a failure superseded later.
    errors: Vec<(Option<usize>, FindingId, &'static str)>,
    /// What the sessions show of the device's settings.
    pub settings: checklist::SettingsSeen,
    /// The last delivery that superseded earlier failed attempts.
    pub story: Option<attempts::AttemptMark>,
    /// Failed attempts a later delivery superseded.
    pub superseded: usize,
    /// Findings per severity (error, warning, info).
    pub counts: [usize; 3],
    /// Of those, the findings of failures a later delivery superseded.
    pub superseded_counts: [usize; 3],
    /// The first finding (id, title) of each severity, in report order.
    pub first: [Option<(FindingId, &'static str)>; 3],
    /// The distinct finding ids of each severity, in report order.
    pub ids: [Vec<FindingId>; 3],
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            sessions: 0,
            delivered: false,
            delivered_inferred: false,
            encrypted_transfer: false,
            incomplete: false,
            all_test_only: true,
            rejected: None,
            no_connection: false,
            tls_failed: false,
            failures: Vec::new(),
            failures_kept: false,
            errors: Vec::new(),
            settings: checklist::SettingsSeen::default(),
            story: None,
            superseded: 0,
            counts: [0; 3],
            superseded_counts: [0; 3],
            first: [None; 3],
            ids: Default::default(),
        }
    }
}

impl Summary {
    pub fn add_session(&mut self, sd: &SessionDiagnosis) {
        self.sessions += 1;
        if let Some(m) = sd.attempt.as_ref().filter(|m| !m.supersedes.is_empty()) {
            self.story = Some(m.clone());
        }
        if sd
            .attempt
            .as_ref()
            .is_some_and(|m| m.superseded_by.is_some())
        {
            // A later delivery replaced this failure: it no longer decides the verdict.
            // What was configured then is not what is configured now: its settings stay
            // out of the checklist.
            self.superseded += 1;
            self.all_test_only = false;
            return;
        }
        let delivered = sd.outcome == Outcome::Delivered;
        self.delivered |= delivered && sd.basis != Basis::Inferred;
        self.delivered_inferred |= delivered && sd.basis == Basis::Inferred;
        self.encrypted_transfer |= sd.outcome == Outcome::EncryptedMessageTransferred;
        self.incomplete |= sd.outcome == Outcome::Incomplete;
        self.all_test_only &= sd.outcome == Outcome::TestOnly;
        self.settings.merge(&sd.settings);
        self.no_connection |= sd.outcome == Outcome::NoConnection;
        self.tls_failed |= sd.outcome == Outcome::TlsFailed;
        if let (Outcome::Rejected, Some(stage), None, false) =
            (sd.outcome, sd.stage, &self.rejected, sd.pop3)
        {
            self.rejected = Some((stage, sd.deciding_reply.as_ref().map(|e| e.text.clone())));
        }
        if attempts::failed(sd.outcome) {
            if self.failures.len() < MAX_LISTED {
                let rejected = sd
                    .stage
                    .filter(|_| sd.outcome == Outcome::Rejected && !sd.pop3)
                    .map(|st| (st, sd.deciding_reply.as_ref().map(|e| e.text.clone())));
                // A session outside any attempt (POP3) is never superseded.
                let id = sd.attempt.as_ref().map_or(usize::MAX, |m| m.session);
                self.failures.push((id, sd.outcome, rejected));
            } else {
                self.failures_kept = true;
            }
        }
        if let Some(m) = sd.attempt.as_ref().filter(|m| !m.supersedes.is_empty()) {
            self.supersede(m);
        }
    }

    /// Failures counted before a later delivery superseded them no longer decide the
    /// verdict (a live capture's; a report holds a failure back until it knows).
    fn supersede(&mut self, m: &attempts::AttemptMark) {
        let before = self.failures.len();
        self.failures
            .retain(|(id, _, _)| !m.supersedes.iter().any(|x| x.session == *id));
        if self.failures.len() == before || self.failures_kept {
            return;
        }
        self.superseded += before - self.failures.len();
        // Their errors are warnings now.
        let (gone, stay): (Vec<_>, Vec<_>) = std::mem::take(&mut self.errors)
            .into_iter()
            .partition(|(s, _, _)| s.is_some_and(|s| m.supersedes.iter().any(|x| x.session == s)));
        self.errors = stay;
        let e = Severity::Error.index();
        let w = Severity::Warning.index();
        self.counts[e] -= gone.len();
        self.counts[w] += gone.len();
        self.superseded_counts[w] += gone.len();
        if self.counts[e] == self.errors.len() {
            self.first[e] = self.errors.first().map(|(_, id, title)| (*id, *title));
            self.ids[e] = Vec::new();
            for (_, id, _) in &self.errors {
                if !self.ids[e].contains(id) {
                    self.ids[e].push(*id);
                }
            }
        }
        // What stands is what the remaining failures say.
        self.rejected = self.failures.iter().find_map(|(_, _, r)| r.clone());
        self.no_connection = self
            .failures
            .iter()
            .any(|(_, o, _)| *o == Outcome::NoConnection);
        self.tls_failed = self
            .failures
            .iter()
            .any(|(_, o, _)| *o == Outcome::TlsFailed);
    }

    pub fn add_finding(&mut self, f: &Finding) {
        let i = f.severity.index();
        if f.severity == Severity::Error && self.errors.len() < MAX_LISTED {
            self.errors.push((f.session, f.id, f.title));
        }
        if let Some(n) = self.counts.get_mut(i) {
            *n += 1;
        }
        if let Some(n) = self
            .superseded_counts
            .get_mut(i)
            .filter(|_| f.superseded_by.is_some())
        {
            *n += 1;
        }
        // A superseded failure is told by the verdict's story, not named as its warning.
        if let Some(first @ None) = self.first.get_mut(i).filter(|_| f.superseded_by.is_none()) {
            *first = Some((f.id, f.title));
        }
        // The checklist follows what stands, not what a later delivery superseded.
        if let Some(ids) = self.ids.get_mut(i).filter(|_| f.superseded_by.is_none()) {
            if !ids.contains(&f.id) {
                ids.push(f.id);
            }
        }
    }

    /// `later`'s findings come after this summary's (the capture's before the sessions').
    #[must_use]
    pub fn then(mut self, later: &Summary) -> Summary {
        self.sessions += later.sessions;
        self.delivered |= later.delivered;
        self.delivered_inferred |= later.delivered_inferred;
        self.encrypted_transfer |= later.encrypted_transfer;
        self.incomplete |= later.incomplete;
        self.all_test_only &= later.all_test_only;
        self.no_connection |= later.no_connection;
        self.tls_failed |= later.tls_failed;
        self.settings.merge(&later.settings);
        if later.story.is_some() {
            self.story.clone_from(&later.story);
        }
        self.superseded += later.superseded;
        self.failures.extend(later.failures.iter().cloned());
        self.errors.extend(later.errors.iter().copied());
        self.failures_kept |= later.failures_kept;
        if self.rejected.is_none() {
            self.rejected.clone_from(&later.rejected);
        }
        for i in 0..3 {
            self.counts[i] += later.counts[i];
            self.superseded_counts[i] += later.superseded_counts[i];
            self.first[i] = self.first[i].or(later.first[i]);
            for id in &later.ids[i] {
                if !self.ids[i].contains(id) {
                    self.ids[i].push(*id);
                }
            }
        }
        self
    }

    /// The settings checklist from what the sessions showed and the findings made.
    pub fn checklist(&self) -> Vec<checklist::ChecklistItem> {
        let ids: Vec<FindingId> = self.ids().collect();
        checklist::checklist(&self.settings, &ids)
    }

    pub fn device_side(&self) -> bool {
        self.ids().any(|id| id.kind().device_side)
    }

    /// Every distinct finding id, in report order.
    pub fn ids(&self) -> impl Iterator<Item = FindingId> + '_ {
        self.ids.iter().flatten().copied()
    }

    /// The first finding in report order: the worst.
    pub fn main_finding(&self) -> Option<FindingId> {
        self.first.iter().flatten().next().map(|(id, _)| *id)
    }
}

#[derive(Default)]
struct Findings {
    list: Vec<Finding>,
    /// The server is Exchange Online: Microsoft 365's words apply.
    exchange_online: bool,
    /// The server is Google's: its own remedies apply where it has them.
    google: bool,
}

/// Google's remedy for a refused password (its 535 5.7.8 `BadCredentials`).
const GOOGLE_PASSWORD: &str = "For a Google account with 2-Step Verification the Password must be an app password (Google Account → Security → App passwords).";

impl Findings {
    /// The remediation of the finding `id` of `session`, to say more than the catalogue.
    fn remediation_mut(&mut self, id: FindingId, session: Option<usize>) -> Option<&mut String> {
        self.list
            .iter_mut()
            .find(|f| f.id == id && f.session == session)
            .map(|f| &mut f.remediation)
    }

    fn add(&mut self, id: FindingId, session: Option<usize>, evidence: Vec<Evidence>) {
        let k = id.kind();
        let texts = k.texts(self.exchange_online);
        if let Some(f) = self
            .list
            .iter_mut()
            .find(|f| f.id == id && f.session == session)
        {
            for e in evidence {
                if !f.evidence.contains(&e) {
                    f.evidence.push(e);
                }
            }
            return;
        }
        let mut remediation = if k.device_side {
            format!("{SHARP_SMTP} {}", texts.remediation)
        } else {
            texts.remediation.to_string()
        };
        if self.google && id == FindingId::AuthFailed {
            remediation = format!("{remediation} {GOOGLE_PASSWORD}");
        }
        self.list.push(Finding {
            id,
            severity: k.severity,
            title: texts.title,
            explanation: texts.explanation,
            remediation,
            session,
            evidence,
            superseded_by: None,
        });
    }
}

/// Diagnoses a capture held in memory.
pub fn diagnose(a: &Analysis) -> Diagnosis {
    let mut diagnoser = Diagnoser::default();
    let mut d = Diagnosis::default();
    for s in &a.sessions {
        let (sd, findings) = diagnoser.session(s);
        // The sessions of its attempt and the failures it supersedes (already diagnosed).
        if let Some(m) = &sd.attempt {
            let earlier = a
                .sessions
                .iter()
                .zip(&mut d.sessions)
                .zip(&mut d.session_findings);
            for ((y, x), f) in earlier {
                attempts::update_earlier(x, f, y.id, s.id, m);
            }
        }
        d.sessions.push(sd);
        d.session_findings.push(findings);
    }
    d.capture_findings = diagnoser.finish(a);
    d
}

/// Diagnoses sessions one by one as the analysis hands them on, keeping only what the
/// findings about the whole capture need: memory does not grow with each dialogue.
#[derive(Default)]
pub struct Diagnoser {
    /// Connected SMTP sessions so far, while every one was a connection test.
    test_only: Vec<Evidence>,
    test_only_more: u64,
    connected: bool,
    other_connected: bool,
    /// POP3 logins not yet followed by SMTP from the same device.
    pop_logins: Vec<PopLogin>,
    later: Findings,
    truncated_session: bool,
    /// Each device's attempts to each server.
    pub attempts: attempts::Attempts,
}

struct PopLogin {
    session: usize,
    frame: u64,
    /// The password went in clear (the frame of the line).
    password_in_clear: Option<u64>,
    client: std::net::IpAddr,
    server: crate::base::Endpoint,
}

/// Bounds on what the capture-wide findings keep: evidence listed, logins remembered.
const MAX_LISTED: usize = 100;

impl Diagnoser {
    /// The session's outcome, role and transactions, and its findings.
    pub fn session(&mut self, s: &Session) -> (SessionDiagnosis, Vec<Finding>) {
        let mut findings = Findings::default();
        let mut server =
            server::identify(s, s.dns_name.as_ref().map(|n| (n.name.as_str(), n.frame)));
        let mut txs = outcome::transactions(s);
        let mut decided = outcome::outcome(s, &txs, false);
        let encrypted = matches!(
            decided.0,
            Outcome::EncryptedMessageTransferred | Outcome::EncryptedNoMessage
        );
        let inside = if encrypted {
            inside_tls::infer(s, &server)
        } else {
            None
        };
        // What the record lengths read inside TLS joins the dialogue, and every stage
        // below reads it as it reads any dialogue; it decides the outcome only where the
        // reading got that far.
        let read = inside.as_ref().is_some_and(|i| i.outcome.is_some());
        let joined;
        let s = match inside.as_ref().filter(|i| !i.entries.is_empty()) {
            Some(i) => {
                joined = s.with_entries(&i.entries);
                txs = outcome::transactions(&joined);
                decided = outcome::outcome(&joined, &txs, read);
                &joined
            }
            None => s,
        };
        let (out, stage, deciding) = decided;
        let deciding = deciding.map(|d| Evidence {
            frame: d.frame,
            text: d.line,
        });
        if s.protocol == Protocol::Pop3 {
            // A POP3 server at a submission host's address is not that endpoint.
            server.endpoint = server::Endpoint::Unknown;
        }
        findings.exchange_online = server.is_exchange_online();
        findings.google = server.provider == server::Provider::Google;
        let mut clue_role = ServerRole::of(&server);
        if s.protocol == Protocol::Pop3 {
            // The roles name SMTP endpoints; a POP3 server is none of them.
            clue_role = ServerRole::Other;
        }
        rules::session_findings(&mut findings, s, out, clue_role, &server);
        rules::basic_auth_deadline(&mut findings, s, out, &server);
        let open = inside.as_ref().and_then(|i| i.open_cause.as_ref());
        explain_refusal(&mut findings, s, deciding.as_ref(), open);
        // A finding that cites an answer read from the record lengths says why it was
        // read so.
        if let Some(why) = inside.as_ref().and_then(|i| i.deciding.as_ref()) {
            for f in findings
                .list
                .iter_mut()
                .filter(|f| f.evidence.iter().any(|e| e.frame == why.frame))
            {
                f.evidence.push(why.clone());
            }
        }
        let facts = severity::SessionFacts {
            outcome: out,
            deciding: deciding.as_ref(),
            server: &server,
            // A cloud provider's server is never on the site, whatever its address.
            on_site: server.provider == server::Provider::Other
                && severity::on_site(s.client.ip, s.server.ip),
            sent_in_clear: sent_in_clear(s),
        };
        severity::judge(&mut findings.list, &facts);
        // The finding that explains the failure leads (the sort by severity is stable).
        if let Some(d) = &deciding {
            findings
                .list
                .sort_by_key(|f| !f.evidence.iter().any(|e| e.frame == d.frame));
        }
        self.truncated_session |= findings
            .list
            .iter()
            .any(|f| f.id == FindingId::CaptureTruncated);
        self.follow(s, out, server.is_exchange_online());
        let settings = checklist::SettingsSeen::of(s, &server, out);
        let sd = SessionDiagnosis {
            basis: if read {
                Basis::Inferred
            } else if outcome::decrypted(s) {
                Basis::Decrypted
            } else {
                Basis::Observed
            },
            inside_tls: inside,
            outcome: out,
            stage,
            deciding_reply: deciding,
            server_role: clue_role,
            server_name: server.name.clone(),
            server_name_source: server.source,
            settings,
            server_identity: server,
            transactions: txs,
            pop3: s.protocol == Protocol::Pop3,
            attempt: None,
        };
        let mut sd = sd;
        self.attempts.place(s, &mut sd);
        self.pop_authorised(s, &sd);
        (sd, findings.list)
    }

    /// A delivery after a POP3 login, where the same device's earlier attempt to this
    /// server was refused: POP before SMTP is what made the server accept it. Said in the
    /// finding about that login.
    fn pop_authorised(&mut self, s: &Session, sd: &SessionDiagnosis) {
        let Some(m) = &sd.attempt else { return };
        let Some(refused) = m.supersedes.iter().find(|x| x.number < m.number) else {
            return;
        };
        if m.after_pop3.is_none() {
            return;
        }
        let first = s.tcp.first_frame;
        let finding = self.later.list.iter_mut().rfind(|f| {
            f.id == FindingId::PopBeforeSmtp && f.evidence.iter().any(|e| e.frame == first)
        });
        if let Some(f) = finding {
            let reply = refused
                .reply
                .as_ref()
                .map(|r| format!(" ({})", r.text))
                .unwrap_or_default();
            f.evidence.push(Evidence {
                frame: first,
                text: format!(
                    "the server refused session {}{reply} and accepted session {} after this login: POP before SMTP is what authorised it",
                    refused.session, s.id
                ),
            });
        }
    }

    /// Keeps what the capture-wide findings need to know of a session (`exchange_online`:
    /// its server is Exchange Online).
    fn follow(&mut self, s: &Session, out: Outcome, exchange_online: bool) {
        match s.protocol {
            Protocol::Smtp => {
                let mut matched = Vec::new();
                self.pop_logins.retain(|l| {
                    let later = l.client == s.client.ip && s.tcp.first_frame > l.frame;
                    if later {
                        matched.push((l.session, l.frame, l.server, l.password_in_clear));
                    }
                    !later
                });
                for (pop, frame, server, in_clear) in matched {
                    // Explained for the SMTP server the device then sent to.
                    self.later.exchange_online = exchange_online;
                    let mut evidence = vec![
                        Evidence {
                            frame,
                            text: format!("POP3 login to {server}"),
                        },
                        Evidence {
                            frame: s.tcp.first_frame,
                            text: format!("then SMTP to {} (session {})", s.server, s.id),
                        },
                    ];
                    if let Some(pf) = in_clear {
                        evidence.push(Evidence {
                            frame: pf,
                            text: "its POP3 password crossed the network in clear".into(),
                        });
                    }
                    self.later
                        .add(FindingId::PopBeforeSmtp, Some(pop), evidence);
                    if in_clear.is_some() {
                        // It exposed a credential: the root cause of that exposure.
                        if let Some(x) = self
                            .later
                            .list
                            .iter_mut()
                            .rfind(|x| x.id == FindingId::PopBeforeSmtp)
                        {
                            x.severity = Severity::Error;
                        }
                    }
                }
                if out == Outcome::NoConnection {
                    return;
                }
                self.connected = true;
                if out != Outcome::TestOnly {
                    self.other_connected = true;
                    self.test_only = Vec::new();
                } else if !self.other_connected {
                    if self.test_only.len() < MAX_LISTED {
                        self.test_only.push(Evidence {
                            frame: s.tcp.first_frame,
                            text: format!(
                                "session {}: greeting and EHLO, then QUIT without MAIL",
                                s.id
                            ),
                        });
                    } else {
                        self.test_only_more += 1;
                    }
                }
            }
            Protocol::Pop3 => {
                let login = s
                    .dialogue
                    .iter()
                    .find(|e| matches!(e.command(), Some("USER" | "APOP" | "AUTH" | "PASS")));
                let password_in_clear = s.dialogue.iter().find_map(|e| match &e.kind {
                    EntryKind::Auth { auth } if auth.exposure.replayable() => Some(e.frame),
                    _ => None,
                });
                if let (Some(login), true) = (login, self.pop_logins.len() < MAX_LISTED) {
                    self.pop_logins.push(PopLogin {
                        session: s.id,
                        frame: login.frame,
                        password_in_clear,
                        client: s.client.ip,
                        server: s.server,
                    });
                }
            }
        }
    }

    /// The findings about the capture as a whole (and those later sessions revealed).
    pub fn finish(self, a: &Analysis) -> Vec<Finding> {
        let mut f = self.later;
        if self.connected && !self.other_connected {
            let mut ev = self.test_only;
            if self.test_only_more > 0 {
                let frame = ev.last().map_or(1, |e| e.frame);
                ev.push(Evidence {
                    frame,
                    text: format!("and {} more sessions like these", self.test_only_more),
                });
            }
            f.add(FindingId::ConnectionTestOnly, None, ev);
        }
        capture_findings(&mut f, a, self.truncated_session);
        f.list
    }
}

/// Whether a password or a message body crossed the network in clear in this session.
fn sent_in_clear(s: &Session) -> bool {
    s.dialogue
        .iter()
        .filter(|e| e.provenance.in_clear())
        .any(|e| match &e.kind {
            EntryKind::Auth { auth } => auth.redacted,
            EntryKind::Body { body } => body.bytes > 0,
            _ => false,
        })
}

/// What an enhanced status code means, as evidence beside the reply that carries it.
fn enhanced_meaning(frame: u64, enhanced: &str) -> Option<Evidence> {
    let words = refusal::describe_enhanced(enhanced)?;
    Some(Evidence {
        frame,
        text: format!("{enhanced}: {words} (RFC 3463)"),
    })
}

/// Every refusal that decided a session's failure is explained: when no finding cites the
/// deciding reply, a generic one does, with what its enhanced status code means.
///
/// A refusal read from the record lengths whose text they do not tell (`open`) gets the
/// generic one, with the texts that fit, and its fix names each one's.
fn explain_refusal(
    f: &mut Findings,
    s: &Session,
    deciding: Option<&Evidence>,
    open: Option<&inside_tls::OpenCause>,
) {
    let Some(d) = deciding else {
        return;
    };
    let cited = f
        .list
        .iter()
        .any(|x| x.evidence.iter().any(|e| e.frame == d.frame));
    if cited {
        return;
    }
    if s.protocol == Protocol::Pop3 {
        f.add(FindingId::Pop3LoginRefused, Some(s.id), vec![d.clone()]);
        return;
    }
    let mut evidence = vec![d.clone()];
    let enhanced = s.dialogue.iter().find_map(|e| match &e.kind {
        EntryKind::Reply { enhanced, .. } if e.frame == d.frame => enhanced.as_deref(),
        _ => None,
    });
    if let Some(e) = enhanced.and_then(|e| enhanced_meaning(d.frame, e)) {
        evidence.push(e);
    }
    if let Some(o) = open.filter(|o| o.evidence.frame == d.frame) {
        evidence.push(o.evidence.clone());
    }
    f.add(FindingId::Refused, Some(s.id), evidence);
    if let Some(o) = open.filter(|o| o.evidence.frame == d.frame) {
        rules::open_cause(f, s, &o.candidates);
    }
}

/// Mail server names devices are set to, for recognising a typo.
const KNOWN_MAIL_HOSTS: &[&str] = &[
    "smtp.office365.com",
    "smtp-legacy.office365.com",
    "outlook.office365.com",
    "smtp.office365.us",
    "smtp.gmail.com",
    "smtp-relay.gmail.com",
    "smtp-mail.outlook.com",
];

/// The known mail server a failed name is a near miss of (one or two letters away), or,
/// for a tenant MX name, the domain it should end in.
fn near_miss(name: &str) -> Option<String> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(k) = KNOWN_MAIL_HOSTS
        .iter()
        .find(|k| **k != n && edit_distance(&n, k) <= 2)
    {
        return Some((*k).to_string());
    }
    // contoso-com.mail.protection.outlok.com and the like.
    let suffix = ".mail.protection.outlook.com";
    let (host, rest) = n.split_once(".mail.")?;
    let tail = format!(".mail.{rest}");
    (tail != suffix && edit_distance(&tail, suffix) <= 2).then(|| format!("{host}{suffix}"))
}

/// Levenshtein distance of two short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// A name a device would use for its mail server.
fn mail_server_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "smtp",
        "mail",
        "mx",
        "outlook",
        "office365",
        "exchange",
        "relay",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Blocklist queries in the capture, as facts: which address was checked against which
/// list, and what the list said. Listed is a warning; the rest is context.
/// `servers`: the addresses of the capture's SMTP and POP3 servers.
fn dnsbl_checks(f: &mut Findings, a: &Analysis, servers: &[IpAddr]) {
    let mut listed = Vec::new();
    let mut other = Vec::new();
    for l in &a.dns {
        let dns::NameKind::Blocklist { address, zone } = dns::name_kind(&l.name) else {
            continue;
        };
        // One fact per address and list (A and TXT queries come in pairs).
        let answer = dns::ListAnswer::of(l);
        let who = if servers.contains(&l.client.ip) {
            format!("the mail server {}", l.client.ip)
        } else {
            l.client.ip.to_string()
        };
        let text = format!(
            "{who} checked {address} against {zone}: {}",
            answer.describe()
        );
        let frame = l.response_frame.unwrap_or(l.frame);
        let list = if matches!(answer, dns::ListAnswer::Listed(_)) {
            &mut listed
        } else {
            &mut other
        };
        if list.len() < MAX_LISTED && !list.iter().any(|e: &Evidence| e.text == text) {
            list.push(Evidence { frame, text });
        }
    }
    if !listed.is_empty() {
        f.add(FindingId::DnsblCheck, None, listed);
        if let Some(x) = f.list.last_mut() {
            x.severity = Severity::Warning;
        }
    }
    if !other.is_empty() {
        f.add(FindingId::DnsblCheck, None, other);
    }
}

fn capture_findings(f: &mut Findings, a: &Analysis, truncated_session: bool) {
    // A name fails when no lookup of it (of any type) succeeded: AAAA without records is normal.
    let resolved = |name: &str| {
        a.dns
            .iter()
            .any(|l| l.name.eq_ignore_ascii_case(name) && !l.failed())
    };
    // Only the device's look-ups of hosts count: a receiving server's DNSBL, PTR, DKIM
    // or MTA-STS queries (and any look-up by an SMTP server) are its own business.
    let servers: Vec<IpAddr> = a.sessions.iter().map(|s| s.server.ip).collect();
    let devices: Vec<IpAddr> = a.sessions.iter().map(|s| s.client.ip).collect();
    let by_device = |ip: &IpAddr| {
        if devices.is_empty() {
            !servers.contains(ip)
        } else {
            devices.contains(ip) && !servers.contains(ip)
        }
    };
    for l in a.dns.iter().filter(|l| {
        l.failed()
            && by_device(&l.client.ip)
            && dns::name_kind(&l.name) == dns::NameKind::Host
            && mail_server_like(&l.name)
            && !resolved(&l.name)
    }) {
        let mut ev = vec![Evidence {
            frame: l.frame,
            text: format!("DNS query for {} ({})", l.name, l.qtype),
        }];
        ev.push(match (l.response_frame, &l.rcode) {
            (Some(rf), Some(rc)) if !rc.is_ok() => Evidence {
                frame: rf,
                text: format!("answer: {rc}"),
            },
            (Some(rf), _) => Evidence {
                frame: rf,
                text: "answer: no address".into(),
            },
            (None, _) => Evidence {
                frame: l.frame,
                text: "no answer in the capture".into(),
            },
        });
        let told = f.list.iter().any(|x| {
            x.evidence
                .iter()
                .any(|e| e.text.starts_with(&format!("{} did not resolve", l.name)))
        });
        if let Some(known) = near_miss(&l.name).filter(|_| !told) {
            ev.push(Evidence {
                frame: l.frame,
                text: format!("{} did not resolve: did you mean {known}?", l.name),
            });
        }
        f.add(FindingId::DnsFailure, None, ev);
    }
    dnsbl_checks(f, a, &servers);
    if let Some(frame) = a.decode.first_dropped_fragment {
        let text = format!(
            "{} IP datagram(s) could not be reassembled (fragments missing or overlapping): what they carried is not analysed",
            a.decode.fragments_dropped
        );
        f.add(
            FindingId::CaptureIncomplete,
            None,
            vec![Evidence { frame, text }],
        );
    }
    if a.decode.truncated > 0 && !truncated_session {
        let text = format!(
            "{} packets are shorter in the capture than on the wire",
            a.decode.truncated
        );
        f.add(
            FindingId::CaptureTruncated,
            None,
            vec![Evidence { frame: 1, text }],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::near_miss;

    #[test]
    fn typos_of_known_mail_servers_are_pointed_out() {
        assert_eq!(
            near_miss("smtp.office356.com").as_deref(),
            Some("smtp.office365.com")
        );
        assert_eq!(
            near_miss("smtp.office365.co").as_deref(),
            Some("smtp.office365.com")
        );
        assert_eq!(
            near_miss("smtp.gmial.com").as_deref(),
            Some("smtp.gmail.com")
        );
        assert_eq!(
            near_miss("contoso-com.mail.protection.outlok.com").as_deref(),
            Some("contoso-com.mail.protection.outlook.com")
        );
        assert_eq!(near_miss("smtp.office365.com"), None);
        assert_eq!(near_miss("mail.contoso.com"), None);
    }
}
