//! Identical findings of several sessions, reported once: same id, severity and evidence
//! texts apart from frame numbers, with the sessions they concern and the evidence of
//! the first few.

use std::collections::HashMap;

use crate::diagnosis::{Evidence, Finding, FindingId, SHARP_SMTP};

/// Groups kept at most; findings beyond them are reported one by one.
const MAX_GROUPS: usize = 500;
/// Sessions whose evidence a group shows.
const SHOWN: usize = 3;
/// Session numbers a group lists at most.
const MAX_LISTED: usize = 1000;

/// A finding and the sessions that have it.
pub(super) struct Group {
    pub finding: Finding,
    /// The evidence of the first sessions, each with its session number.
    pub evidence: Vec<(Option<usize>, Vec<Evidence>)>,
    pub sessions: Vec<usize>,
    pub count: usize,
}

impl Group {
    /// `sessions 1–3, 7` or `session 2`; `None` for a capture-wide finding.
    pub fn sessions_label(&self) -> Option<String> {
        if self.sessions.is_empty() {
            return None;
        }
        let mut parts: Vec<String> = Vec::new();
        let mut run: Option<(usize, usize)> = None;
        for &s in &self.sessions {
            run = match run {
                Some((a, b)) if s == b + 1 => Some((a, s)),
                Some((a, b)) => {
                    parts.push(range(a, b));
                    Some((s, s))
                }
                None => Some((s, s)),
            };
        }
        if let Some((a, b)) = run {
            parts.push(range(a, b));
        }
        let more = self.count.saturating_sub(self.sessions.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let word = if self.count > 1 {
            "sessions"
        } else {
            "session"
        };
        Some(format!("{word} {}{more}", parts.join(", ")))
    }

    /// The evidence shown, each with `session N, ` before it when several sessions share
    /// the finding.
    pub fn evidence_lines(&self) -> impl Iterator<Item = (String, &Evidence)> {
        self.evidence.iter().flat_map(move |(session, evidence)| {
            let prefix = match session {
                Some(s) if self.count > 1 => format!("session {s}, "),
                _ => String::new(),
            };
            evidence.iter().map(move |e| (prefix.clone(), e))
        })
    }

    /// Sessions beyond those whose evidence is shown.
    pub fn not_shown(&self) -> usize {
        self.count.saturating_sub(self.evidence.len())
    }
}

fn range(a: usize, b: usize) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}–{b}")
    }
}

/// What makes two findings the same: id, severity and evidence texts.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    id: FindingId,
    severity: usize,
    texts: Vec<String>,
}

#[derive(Default)]
pub(super) struct Groups {
    groups: Vec<Group>,
    index: HashMap<Key, usize>,
}

impl Groups {
    /// Takes a finding into its group; gives it back when it has none and no more can
    /// be made (the caller reports it on its own).
    pub fn add<'f>(&mut self, f: &'f Finding) -> Option<&'f Finding> {
        let key = Key {
            id: f.id,
            severity: f.severity.index(),
            texts: f.evidence.iter().map(|e| e.text.clone()).collect(),
        };
        if let Some(&i) = self.index.get(&key) {
            let g = &mut self.groups[i];
            g.count += 1;
            if let Some(s) = f.session {
                if g.sessions.len() < MAX_LISTED {
                    g.sessions.push(s);
                }
            }
            if g.evidence.len() < SHOWN {
                g.evidence.push((f.session, f.evidence.clone()));
            }
            return None;
        }
        if self.groups.len() >= MAX_GROUPS {
            return Some(f);
        }
        self.index.insert(key, self.groups.len());
        self.groups.push(Group {
            finding: f.clone(),
            evidence: vec![(f.session, f.evidence.clone())],
            sessions: f.session.into_iter().collect(),
            count: 1,
        });
        None
    }

    /// The groups of one severity, in order of first appearance.
    pub fn of_severity(&self, severity: usize) -> impl Iterator<Item = &Group> {
        self.groups
            .iter()
            .filter(move |g| g.finding.severity.index() == severity)
    }
}

/// A fix without the path to the copier's settings page, which the report says once.
pub(super) fn fix_without_path(remediation: &str) -> &str {
    remediation
        .strip_prefix(SHARP_SMTP)
        .map_or(remediation, str::trim_start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnosis::Severity;

    fn finding(session: usize, frame: u64) -> Finding {
        Finding {
            id: FindingId::NoStarttls,
            severity: Severity::Warning,
            title: "STARTTLS offered but never used",
            explanation: "",
            remediation: String::new(),
            session: Some(session),
            evidence: vec![Evidence {
                frame,
                text: "250-STARTTLS (offered)".into(),
            }],
            superseded_by: None,
        }
    }

    #[test]
    fn the_same_finding_of_five_sessions_is_one_group() {
        let mut g = Groups::default();
        for (s, frame) in [(1, 8), (2, 30), (3, 52), (5, 90), (6, 120)] {
            assert!(g.add(&finding(s, frame)).is_none());
        }
        let groups: Vec<&Group> = g.of_severity(Severity::Warning.index()).collect();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].count, 5);
        assert_eq!(
            groups[0].sessions_label().as_deref(),
            Some("sessions 1–3, 5–6")
        );
        assert_eq!(groups[0].evidence.len(), 3);
        assert_eq!(groups[0].not_shown(), 2);
    }
}
