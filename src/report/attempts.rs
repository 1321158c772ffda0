//! The capture's attempts as every report lists them: per device and server, each attempt
//! with its sessions, the outcome of the session that got furthest, and the delivery that
//! superseded it. Collected as sessions go by, a few numbers each.

use serde::Serialize;

use crate::diagnosis::attempts::{ordinal, rank};
use crate::diagnosis::SessionDiagnosis;

/// Sessions placed at most (beyond, the list is cut and says so).
const MAX_PLACED: usize = 4096;

/// One device's attempts to one server.
#[derive(Serialize)]
pub(super) struct Chain {
    pub device: String,
    pub server: String,
    pub attempts: Vec<Attempt>,
}

#[derive(Serialize)]
pub(super) struct Attempt {
    pub number: usize,
    pub sessions: Vec<usize>,
    /// The outcome of the session that got furthest.
    pub outcome: &'static str,
    pub superseded_by: Option<usize>,
    /// `rejected at rcpt`, `delivered (inferred)`, … for the prose reports.
    #[serde(skip)]
    pub label: String,
    /// The deciding reply of that session.
    #[serde(skip)]
    pub reply: Option<String>,
    #[serde(skip)]
    rank: u8,
}

/// The chains of a capture.
#[derive(Default)]
pub(super) struct Chains {
    pub list: Vec<Chain>,
    placed: usize,
    /// Sessions not placed (beyond [`MAX_PLACED`]).
    pub unplaced: usize,
}

impl Chains {
    pub fn add(&mut self, id: usize, d: &SessionDiagnosis) {
        let Some(m) = &d.attempt else { return };
        if self.placed >= MAX_PLACED {
            self.unplaced += 1;
            return;
        }
        self.placed += 1;
        let i = self
            .list
            .iter()
            .position(|c| c.device == m.device && c.server == m.server)
            .unwrap_or_else(|| {
                self.list.push(Chain {
                    device: m.device.clone(),
                    server: m.server.clone(),
                    attempts: Vec::new(),
                });
                self.list.len() - 1
            });
        let label = super::outcome_text(d);
        let reply = d.deciding_reply.as_ref().map(|r| r.text.clone());
        let chain = &mut self.list[i];
        // A device whose addresses were joined later shows under its fuller name.
        chain.device.clone_from(&m.device);
        match chain
            .attempts
            .iter_mut()
            .rev()
            .find(|a| a.number == m.number)
        {
            Some(a) => {
                a.sessions.push(id);
                if rank(d.outcome) > a.rank {
                    a.outcome = d.outcome.name();
                    a.rank = rank(d.outcome);
                    a.superseded_by = m.superseded_by;
                    a.label = label;
                    a.reply = reply;
                }
            }
            None => chain.attempts.push(Attempt {
                number: m.number,
                sessions: vec![id],
                outcome: d.outcome.name(),
                superseded_by: m.superseded_by,
                label,
                reply,
                rank: rank(d.outcome),
            }),
        }
    }

    /// Whether there is a story to tell: some device tried one server more than once.
    pub fn told(&self) -> bool {
        self.list.iter().any(|c| c.attempts.len() > 1)
    }

    /// One line per attempt of the chains that have several, for the prose reports:
    /// (heading per chain, lines of its attempts).
    pub fn prose(&self) -> Vec<(String, Vec<String>)> {
        self.list
            .iter()
            .filter(|c| c.attempts.len() > 1)
            .map(|c| {
                let lines = c
                    .attempts
                    .iter()
                    .map(|a| {
                        let sessions: Vec<String> =
                            a.sessions.iter().map(ToString::to_string).collect();
                        let word = if a.sessions.len() > 1 {
                            "sessions"
                        } else {
                            "session"
                        };
                        let reply = a
                            .reply
                            .as_ref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default();
                        let superseded = a
                            .superseded_by
                            .map(|s| format!(" (superseded by session {s}'s delivery)"))
                            .unwrap_or_default();
                        format!(
                            "{} attempt, {word} {}: {}{reply}{superseded}",
                            ordinal(a.number),
                            sessions.join(", "),
                            a.label
                        )
                    })
                    .collect();
                (format!("{} → {}", c.device, c.server), lines)
            })
            .collect()
    }
}
