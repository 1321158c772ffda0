use serde::Serialize;

use super::scrub;
use crate::analysis::{Analysis, Session};
use crate::diagnosis::{Diagnosis, Finding, SessionDiagnosis};

#[derive(Serialize)]
struct Document<'a> {
    #[serde(flatten)]
    capture: &'a Analysis,
    sessions: Vec<SessionView<'a>>,
    findings: &'a [Finding],
}

#[derive(Serialize)]
struct SessionView<'a> {
    #[serde(flatten)]
    session: &'a Session,
    #[serde(flatten)]
    diagnosis: Option<&'a SessionDiagnosis>,
}

fn document<'a>(a: &'a Analysis, d: &'a Diagnosis) -> Document<'a> {
    let sessions = a
        .sessions
        .iter()
        .enumerate()
        .map(|(i, session)| SessionView {
            session,
            diagnosis: d.sessions.get(i),
        })
        .collect();
    Document {
        capture: a,
        sessions,
        findings: &d.findings,
    }
}

/// The analysis and its diagnosis as one pretty-printed JSON document (docs/json-format.md).
pub fn to_json(a: &Analysis, d: &Diagnosis) -> String {
    serialise(a, d, true)
}

/// The same document on one line (JSON Lines).
pub fn to_json_line(a: &Analysis, d: &Diagnosis) -> String {
    serialise(a, d, false)
}

fn serialise(a: &Analysis, d: &Diagnosis, pretty: bool) -> String {
    let doc = document(a, d);
    let out = if pretty {
        serde_json::to_string_pretty(&doc)
    } else {
        serde_json::to_string(&doc)
    };
    let out = out.unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"));
    scrub(out, &a.secrets)
}
