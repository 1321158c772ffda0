//! The story across attempts: which sessions were one device's tries to send to one
//! server, in the order they began, and which failure a later delivery superseded.
//!
//! A device is the client as a box: its IPv4 and IPv6 addresses are one device when they
//! share a link-layer address or a specific EHLO name, or are both loopback; a device has
//! one IPv4 address (a link-layer address behind which several are seen is a router's).
//! A server is its name, not its address, nor its port (a setting the technician changes
//! between attempts). Connections one device opened to one port at different addresses of
//! a server within [`HAPPY_EYEBALLS`] of each other are one attempt. A failed attempt is
//! superseded only by a later delivery from the same device to the same server whose
//! envelope does not differ, within a window; a connection test never supersedes anything.
//! docs/attempts.md has the rules with their reasons.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use super::checklist::{self, Change, SettingsSeen};
use super::outcome::{Outcome, Stage};
use super::server::{Endpoint, Provider};
use super::{Evidence, Finding, SessionDiagnosis, Severity};
use crate::analysis::{Protocol, Session};
use crate::base::{MacAddr, Timestamp};
use crate::dialogue::EntryKind;

/// Connections opened this close together to one server are one attempt (RFC 8305
/// recommends 250 ms between address families; stacks use 150–300 ms).
pub const HAPPY_EYEBALLS: f64 = 0.3;

/// Sessions remembered for the story; a capture with more is told only up to here.
const MAX_TRIES: usize = 4096;
/// A failure is superseded only by a delivery within this many later sessions, and this
/// many dialogue entries: a report holds the sessions in between back until it knows.
pub const WINDOW_SESSIONS: u64 = 64;
pub const WINDOW_ENTRIES: u64 = 50_000;
/// Connections looked at for the same moment (Happy Eyeballs): the last placed.
const RECENT: usize = 16;
/// Recipients kept per envelope (enough to tell two jobs apart).
const MAX_RECIPIENTS: usize = 32;
/// Earlier attempts one delivery lists as superseded.
const MAX_SUPERSEDED: usize = 32;

/// Where a session stands in its device's attempts to its server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptMark {
    /// The session this mark is of.
    pub session: usize,
    /// The device: its addresses (the first one seen first).
    pub device: String,
    /// The server: its name (or its address, when nothing named it).
    pub server: String,
    /// Which attempt of this device to this server, from 1, in the order they began.
    pub number: usize,
    /// Sessions of the same attempt (Happy Eyeballs: one per address family).
    pub with: Vec<usize>,
    /// The later session whose delivery supersedes this failed one.
    pub superseded_by: Option<usize>,
    /// The earlier failed attempts this delivery supersedes.
    pub supersedes: Vec<Superseded>,
    /// What changed in the settings since the attempt before this one, when that one failed.
    pub changed: Vec<Change>,
    /// The frame of a POP3 login by this device between the attempt before and this one.
    pub after_pop3: Option<u64>,
}

/// A failed attempt a later delivery replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Superseded {
    pub session: usize,
    pub number: usize,
    /// A failed outcome: refused, no connection, TLS failed.
    pub outcome: Outcome,
    /// For a refusal: where.
    pub stage: Option<Stage>,
    /// The reply that decided the failure.
    pub reply: Option<Evidence>,
    /// One of the two envelopes was not seen (a failure before MAIL, or inside TLS): the
    /// two are taken for one job, and the evidence says so.
    pub envelope_unseen: bool,
}

/// Follows the sessions of a capture in the order they began and places each in its
/// device's attempts to its server.
#[derive(Default)]
pub struct Attempts {
    tries: Vec<Try>,
    devices: Vec<Device>,
    /// POP3 logins: device, frame, time.
    pop3: Vec<(usize, u64, Timestamp)>,
    /// Position in `tries` by session id.
    by_session: FxHashMap<usize, usize>,
    /// Positions in `tries` by device and server name, in the order placed.
    by_key: FxHashMap<(usize, String), Vec<usize>>,
    /// Link-layer addresses and the IPv4 addresses seen behind each (a router's has many).
    macs: FxHashMap<MacAddr, Vec<IpAddr>>,
    /// Devices by address, by their own link-layer address, by EHLO name (lower case),
    /// and the one on loopback.
    by_ip: FxHashMap<IpAddr, usize>,
    by_mac: FxHashMap<MacAddr, usize>,
    by_ehlo: FxHashMap<String, usize>,
    loopback: Option<usize>,
    /// Server addresses whose name a session showed.
    names: FxHashMap<IpAddr, String>,
    /// Sessions and dialogue entries seen so far.
    seen: (u64, u64),
    /// The open failures (positions in `tries`) in order, with when they were placed.
    open: std::collections::VecDeque<(usize, (u64, u64))>,
}

struct Try {
    session: usize,
    /// The server address connected to.
    address: IpAddr,
    device: usize,
    server: ServerKey,
    start: Timestamp,
    number: usize,
    outcome: Outcome,
    envelope: Option<Envelope>,
    /// What a failure is told by, later: its outcome, reply and settings.
    failure: Option<Box<FailureFacts>>,
    /// Superseded, or past the window: it can no longer be superseded.
    settled: bool,
}

struct FailureFacts {
    stage: Option<Stage>,
    reply: Option<Evidence>,
    seen: SettingsSeen,
}

impl Try {
    /// Opened within [`HAPPY_EYEBALLS`] of `s`, to the same port at another address.
    fn at_once_with(&self, s: &Session) -> bool {
        self.server.port == s.server.port
            && self.address != s.server.ip
            && s.tcp.start.since(self.start).abs() <= HAPPY_EYEBALLS
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct ServerKey {
    name: String,
    port: u16,
    /// Only its address is known (no name, banner or certificate).
    address_only: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Envelope {
    sender: String,
    recipients: Vec<String>,
}

impl Envelope {
    /// The same message as far as both show it: the same sender, and the same recipients
    /// where both got that far (a refusal at MAIL shows none).
    fn same_job(&self, other: &Envelope) -> bool {
        let both = !self.recipients.is_empty() && !other.recipients.is_empty();
        self.sender == other.sender && (!both || self.recipients == other.recipients)
    }
}

#[derive(Default)]
struct Device {
    ips: Vec<IpAddr>,
    /// Its addresses as the reports name it (made when one is added).
    label: String,
}

impl Device {
    /// Whether `ip` can be another address of this device: a device has one IPv4 address
    /// (a link-layer address or a name shared by several is a router's, or two boxes').
    fn takes(&self, ip: IpAddr) -> bool {
        !(ip.is_ipv4() && self.ips.iter().any(IpAddr::is_ipv4))
    }

    fn add(&mut self, ip: IpAddr) {
        if self.ips.contains(&ip) || self.ips.len() >= 8 {
            return;
        }
        self.ips.push(ip);
        let mut ips = self.ips.iter().map(ToString::to_string);
        let first = ips.next().unwrap_or_default();
        let rest: Vec<String> = ips.collect();
        self.label = if rest.is_empty() {
            first
        } else {
            format!("{first} (also {})", rest.join(", "))
        };
    }
}

impl Attempts {
    /// Places a session that just ended: numbers its attempt, and when it delivered, marks
    /// the earlier failures it supersedes (their session ids are in `sd.attempt`'s
    /// `supersedes`).
    pub fn place(&mut self, s: &Session, sd: &mut SessionDiagnosis) {
        self.seen.0 += 1;
        self.seen.1 += s.dialogue.len() as u64;
        // Failures older than the window can no longer be superseded.
        while let Some(&(i, (n, e))) = self.open.front() {
            if self.seen.0 - n <= WINDOW_SESSIONS && self.seen.1 - e <= WINDOW_ENTRIES {
                break;
            }
            self.open.pop_front();
            if let Some(t) = self.tries.get_mut(i) {
                t.settled = true;
            }
        }
        // Sessions beyond this are not placed: the story covers the first ones.
        if self.tries.len() >= MAX_TRIES {
            return;
        }
        let device = self.device_of(s);
        if s.protocol == Protocol::Pop3 {
            if sd.settings.pop3_login && self.pop3.len() < MAX_TRIES {
                let frame = s.dialogue.first().map_or(s.tcp.first_frame, |e| e.frame);
                self.pop3.push((device, frame, s.start_time));
            }
            return;
        }
        let server = self.server_joined(s, sd, device);
        let key = (device, server.name.clone());
        let close = |t: &Try| t.device == device && t.at_once_with(s);
        let same: Vec<&Try> = self
            .by_key
            .get(&key)
            .map(|v| v.iter().filter_map(|&i| self.tries.get(i)).collect())
            .unwrap_or_default();
        let number = match same.last() {
            Some(t) if close(t) => t.number,
            Some(t) => t.number + 1,
            None => 1,
        };
        let try_ = Try {
            session: s.id,
            address: s.server.ip,
            device,
            server: server.clone(),
            start: s.tcp.start,
            number,
            outcome: sd.outcome,
            envelope: envelope(sd),
            failure: failed(sd.outcome).then(|| {
                Box::new(FailureFacts {
                    stage: sd.stage,
                    reply: sd.deciding_reply.clone(),
                    seen: sd.settings.clone(),
                })
            }),
            settled: false,
        };
        let mut mark = AttemptMark {
            session: s.id,
            device: String::new(),
            server: server.name.clone(),
            number,
            with: Vec::new(),
            superseded_by: None,
            supersedes: Vec::new(),
            changed: Vec::new(),
            after_pop3: None,
        };
        // The attempt before this one (of this device to this server).
        let before = same
            .iter()
            .rev()
            .filter(|t| t.number < number)
            .max_by_key(|t| (t.number, rank(t.outcome)));
        if let Some(b) = before {
            // What the technician changed after a failure (the story's "changed since").
            if let Some(f) = &b.failure {
                mark.changed = checklist::changes(&f.seen, &sd.settings);
            }
            mark.after_pop3 = self
                .pop3
                .iter()
                .find(|(d, _, at)| {
                    *d == device && at.since(b.start) > 0.0 && s.tcp.start.since(*at) >= 0.0
                })
                .map(|(_, frame, _)| *frame);
        }
        mark.with = same
            .iter()
            .filter(|t| t.number == number)
            .map(|t| t.session)
            .collect();
        if sd.outcome == Outcome::Delivered {
            mark.supersedes = self.supersede_for(&try_);
        }
        mark.device = self
            .devices
            .get(device)
            .map(|d| d.label.clone())
            .unwrap_or_default();
        self.by_session.insert(s.id, self.tries.len());
        self.by_key.entry(key).or_default().push(self.tries.len());
        if failed(try_.outcome) {
            self.open.push_back((self.tries.len(), self.seen));
        }
        self.tries.push(try_);
        sd.attempt = Some(mark);
    }

    /// The server of a session, joined with the connections of the same moment to its
    /// other addresses (Happy Eyeballs): one known only by its address takes the name of
    /// a named one; a named one gives its name to those, as its next attempt.
    fn server_joined(&mut self, s: &Session, sd: &SessionDiagnosis, device: usize) -> ServerKey {
        let server = self.server_of(s, sd);
        if !server.address_only && self.names.len() < MAX_TRIES {
            self.names
                .entry(s.server.ip)
                .or_insert_with(|| server.name.clone());
        }
        // The connections of this moment: the last ones placed (sessions come in the
        // order they began; a second of slack for stamps out of order).
        let from = self.tries.len().saturating_sub(RECENT);
        let recent = self.tries[from..]
            .iter()
            .rposition(|t| s.tcp.start.since(t.start) > 1.0)
            .map_or(from, |i| from + i + 1);
        let now = |t: &Try| t.device == device && t.at_once_with(s);
        if server.address_only {
            let named = self.tries[recent..]
                .iter()
                .rev()
                .find(|t| now(t) && !t.server.address_only);
            return named.map_or(server, |t| t.server.clone());
        }
        let key = (device, server.name.clone());
        let next = 1 + self
            .by_key
            .get(&key)
            .and_then(|v| {
                v.iter()
                    .filter_map(|&i| self.tries.get(i))
                    .map(|t| t.number)
                    .max()
            })
            .unwrap_or(0);
        for i in recent..self.tries.len() {
            let t = &mut self.tries[i];
            if !(now(t) && t.server.address_only) {
                continue;
            }
            let old = (
                t.device,
                std::mem::replace(&mut t.server, server.clone()).name,
            );
            t.number = next;
            if let Some(v) = self.by_key.get_mut(&old) {
                v.retain(|&j| j != i);
            }
            let v = self.by_key.entry(key.clone()).or_default();
            let at = v.partition_point(|&j| j < i);
            v.insert(at, i);
        }
        server
    }

    /// The failed attempts a delivery supersedes: of its device to its server, not yet
    /// settled, of the same job (the same attempt, or an envelope that does not differ).
    fn supersede_for(&mut self, delivery: &Try) -> Vec<Superseded> {
        let mut out = Vec::new();
        // Only failures within the window can be: they are the open ones.
        for &(i, _) in &self.open {
            let Some(t) = self.tries.get_mut(i) else {
                continue;
            };
            let candidate = t.device == delivery.device
                && t.server.name == delivery.server.name
                && !t.settled
                && failed(t.outcome);
            if !candidate {
                continue;
            }
            let same_attempt = t.number == delivery.number;
            let job = match (&t.envelope, &delivery.envelope) {
                (Some(a), Some(b)) => Some(a.same_job(b)),
                _ => None,
            };
            if !(same_attempt || job != Some(false)) || out.len() >= MAX_SUPERSEDED {
                continue;
            }
            t.settled = true;
            out.push(Superseded {
                session: t.session,
                number: t.number,
                outcome: t.outcome,
                stage: t.failure.as_ref().and_then(|f| f.stage),
                reply: t.failure.as_ref().and_then(|f| f.reply.clone()),
                envelope_unseen: !same_attempt && job.is_none(),
            });
        }
        out
    }

    /// Whether a session is a failure a later delivery could still supersede.
    pub fn open(&self, session: usize) -> bool {
        let t = self
            .by_session
            .get(&session)
            .and_then(|&i| self.tries.get(i));
        t.is_some_and(|t| !t.settled && failed(t.outcome))
    }

    /// The device a session's client is: by address, then by a link-layer address that is
    /// a device's own, then by a specific EHLO name, then loopback to loopback.
    fn device_of(&mut self, s: &Session) -> usize {
        let ip = s.client.ip;
        let mac = s.tcp.client_mac.and_then(|m| self.own_mac(m, ip));
        let ehlo = ehlo_name(s)
            .filter(|n| specific(n))
            .map(|n| n.to_ascii_lowercase());
        let takes = |i: &usize| self.devices.get(*i).is_some_and(|d| d.takes(ip));
        let found = self
            .by_ip
            .get(&ip)
            .copied()
            .or_else(|| mac.and_then(|m| self.by_mac.get(&m)).copied().filter(takes))
            .or_else(|| {
                ehlo.as_ref()
                    .and_then(|n| self.by_ehlo.get(n))
                    .copied()
                    .filter(takes)
            })
            .or_else(|| self.loopback.filter(|_| ip.is_loopback()));
        let i = found.unwrap_or_else(|| {
            self.devices.push(Device::default());
            self.devices.len() - 1
        });
        if let Some(d) = self.devices.get_mut(i) {
            d.add(ip);
        }
        self.by_ip.entry(ip).or_insert(i);
        if let Some(m) = mac {
            self.by_mac.entry(m).or_insert(i);
        }
        if let Some(n) = ehlo {
            self.by_ehlo.entry(n).or_insert(i);
        }
        if ip.is_loopback() {
            self.loopback.get_or_insert(i);
        }
        i
    }

    /// `mac`, seen with `ip`, when it is one box's own: not once several IPv4 hosts were
    /// seen behind it (a router's).
    fn own_mac(&mut self, mac: MacAddr, ip: IpAddr) -> Option<MacAddr> {
        if !self.macs.contains_key(&mac) && self.macs.len() >= MAX_TRIES {
            return None;
        }
        let v4 = self.macs.entry(mac).or_default();
        if ip.is_ipv4() && !v4.contains(&ip) && v4.len() < 2 {
            v4.push(ip);
        }
        (v4.len() <= 1).then_some(mac)
    }

    /// The server as a name and port: the name the device looked up or asked TLS for, or
    /// for a cloud service its endpoint (its greeting's host name changes per connection),
    /// or the greeting's name; else the address (loopback is `localhost`).
    fn server_of(&self, s: &Session, sd: &SessionDiagnosis) -> ServerKey {
        let id = &sd.server_identity;
        let cloud = matches!(id.provider, Provider::ExchangeOnline | Provider::Google)
            && id.endpoint != Endpoint::Unknown;
        let sni = s
            .tls
            .as_ref()
            .and_then(|t| t.client_hello.as_ref())
            .and_then(|c| c.sni.clone());
        // Host names compare without case or the root's dot.
        let host = |n: &str| n.trim_end_matches('.').to_ascii_lowercase();
        let name = s
            .dns_name
            .as_ref()
            .map(|n| host(&n.name))
            .or_else(|| sni.as_deref().map(host))
            .or_else(|| cloud.then(|| id.label()))
            .or_else(|| sd.server_name.as_deref().map(host))
            .or_else(|| {
                // Another session to this address showed its name.
                self.names.get(&s.server.ip).cloned()
            });
        match name {
            Some(name) => ServerKey {
                name,
                port: s.server.port,
                address_only: false,
            },
            // Known by its address still: it joins a named twin of the same moment.
            None if s.server.ip.is_loopback() => ServerKey {
                name: "localhost".into(),
                port: s.server.port,
                address_only: true,
            },
            None => ServerKey {
                name: s.server.ip.to_string(),
                port: s.server.port,
                address_only: true,
            },
        }
    }
}

/// What a later session's placement tells an earlier one that is still at hand: it is part
/// of the same attempt (numbered and named as the later one now is), or superseded by it.
pub fn update_earlier(
    earlier: &mut SessionDiagnosis,
    findings: &mut [Finding],
    id: usize,
    later_id: usize,
    later: &AttemptMark,
) {
    // Only a failure waits for what comes after it (a report holds it back until then).
    if later.with.contains(&id) && failed(earlier.outcome) {
        if let Some(m) = &mut earlier.attempt {
            m.number = later.number;
            m.server.clone_from(&later.server);
            m.device.clone_from(&later.device);
            if !m.with.contains(&later_id) {
                m.with.push(later_id);
            }
        }
    }
    if let Some(x) = later.supersedes.iter().find(|x| x.session == id) {
        supersede(earlier, findings, later_id, x.envelope_unseen);
    }
}

/// Marks a failed session as superseded by the later session `by`, which delivered: the
/// errors that explain its failure become warnings (the failure no longer stands), each
/// saying so. A password that crossed in clear stays exposed: that error stays.
pub fn supersede(sd: &mut SessionDiagnosis, findings: &mut [Finding], by: usize, unseen: bool) {
    let number = sd.attempt.as_ref().map_or(1, |m| m.number);
    if let Some(m) = &mut sd.attempt {
        m.superseded_by = Some(by);
    }
    let frame = sd.deciding_reply.as_ref().map(|d| d.frame);
    for f in findings
        .iter_mut()
        .filter(|f| f.severity == Severity::Error && !f.stands_when_superseded())
    {
        f.severity = Severity::Warning;
        f.superseded_by = Some(by);
        let frame = frame.or(f.evidence.first().map(|e| e.frame)).unwrap_or(1);
        f.evidence.push(Evidence {
            frame,
            text: format!(
                "superseded: the {} attempt failed, then session {by} delivered to this server{}",
                ordinal(number),
                if unseen {
                    " (this attempt's envelope was not seen: taken for the same message)"
                } else {
                    ""
                }
            ),
        });
    }
}

/// An attempt that failed: refused, no connection, or a handshake that did not complete.
pub fn failed(o: Outcome) -> bool {
    matches!(
        o,
        Outcome::Rejected | Outcome::NoConnection | Outcome::TlsFailed
    )
}

/// How far an outcome got, higher the further (the session an attempt is judged by).
pub fn rank(o: Outcome) -> u8 {
    match o {
        Outcome::Rejected => 0,
        Outcome::TlsFailed => 1,
        Outcome::NoConnection => 2,
        Outcome::LoginRefused => 3,
        Outcome::Incomplete => 4,
        Outcome::EncryptedNoMessage => 5,
        Outcome::TestOnly => 6,
        Outcome::EncryptedMessageTransferred => 7,
        Outcome::LoginAccepted => 8,
        Outcome::Delivered => 9,
    }
}

/// The first transaction's sender and recipients, as the dialogue showed them.
fn envelope(sd: &SessionDiagnosis) -> Option<Envelope> {
    // Read from the record lengths, a transaction shows no address.
    let t = sd.transactions.first().filter(|t| !t.inferred)?;
    let mut recipients: Vec<String> = t
        .recipients
        .iter()
        .take(MAX_RECIPIENTS)
        .map(|r| r.address.to_ascii_lowercase())
        .collect();
    recipients.sort();
    recipients.dedup();
    Some(Envelope {
        sender: t.sender.to_ascii_lowercase(),
        recipients,
    })
}

/// The name the client gave in EHLO or HELO.
fn ehlo_name(s: &Session) -> Option<String> {
    s.dialogue.iter().find_map(|e| match &e.kind {
        EntryKind::Command {
            command, argument, ..
        } if matches!(command.as_str(), "EHLO" | "HELO") => {
            Some(argument.trim().to_string()).filter(|a| !a.is_empty())
        }
        _ => None,
    })
}

/// An EHLO name that names one box: not an address literal, not `localhost`.
fn specific(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !n.starts_with('[') && !n.starts_with("localhost") && n.parse::<IpAddr>().is_err()
}

/// "1st", "2nd", "3rd", "4th", … "11th", "21st".
pub fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::ordinal;

    #[test]
    fn ordinals_read_as_english() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .map(ordinal)
            .into();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th"
            ]
        );
    }
}
