//! What Microsoft (or any mail provider's) support asks for about one attempt: the
//! server's name and session id from its greeting, the UTC time of the deciding reply,
//! the login, the sender, the recipients and the exact reply.

use std::fmt::Write;

use crate::analysis::Session;
use crate::diagnosis::SessionDiagnosis;
use crate::dialogue::EntryKind;

/// Recipients listed at most.
const MAX_RECIPIENTS: usize = 5;

/// The facts of a session for the mail provider, as `(what, value)` rows; values are as
/// the capture has them (never a password).
pub(super) fn provider_facts(s: &Session, sd: &SessionDiagnosis) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    let greeting = s.dialogue.iter().find_map(|e| match &e.kind {
        EntryKind::Reply {
            code: 220, lines, ..
        } => lines.first().map(|l| (e.frame, l.clone())),
        _ => None,
    });
    if let Some((frame, line)) = &greeting {
        let host = line.get(4..).and_then(|t| t.split_whitespace().next());
        if let Some(host) = host {
            rows.push(("Server (from its greeting)", host.to_string()));
        }
        // Exchange Online ends its greeting with the session's id in brackets.
        if let Some(id) = line
            .rsplit_once('[')
            .and_then(|(_, id)| id.strip_suffix(']'))
        {
            rows.push(("Session id (greeting)", id.to_string()));
        }
        rows.push(("Greeting", format!("{line} (frame {frame})")));
    }
    rows.push((
        "Connection",
        format!(
            "{} → {} ({})",
            s.client,
            s.server,
            sd.server_identity.label()
        ),
    ));
    let user = s.dialogue.iter().find_map(|e| match &e.kind {
        EntryKind::Auth { auth } => auth.username.clone(),
        _ => None,
    });
    if let Some(u) = user {
        rows.push(("Login (user name)", u));
    }
    let mut recipients = Vec::new();
    for e in &s.dialogue {
        if let EntryKind::Command {
            command, argument, ..
        } = &e.kind
        {
            match command.as_str() {
                "MAIL" if !rows.iter().any(|r| r.0 == "Sender (MAIL FROM)") => {
                    rows.push(("Sender (MAIL FROM)", address(argument)));
                }
                "RCPT" => recipients.push(address(argument)),
                _ => {}
            }
        }
    }
    if !recipients.is_empty() {
        let more = recipients.len().saturating_sub(MAX_RECIPIENTS);
        recipients.truncate(MAX_RECIPIENTS);
        let mut list = recipients.join(", ");
        if more > 0 {
            let _ = write!(list, " and {more} more");
        }
        rows.push(("Recipients (RCPT TO)", list));
    }
    let when = sd
        .deciding_reply
        .as_ref()
        .and_then(|d| {
            s.dialogue
                .iter()
                .find(|e| e.frame == d.frame)
                .map(|e| e.time)
        })
        .unwrap_or(s.start_time);
    rows.push(("Time (UTC)", when.utc_string()));
    rows.push(("Outcome", sd.outcome_label()));
    if let Some(d) = &sd.deciding_reply {
        rows.push(("Reply", format!("{} (frame {})", d.text, d.frame)));
    }
    rows
}

/// The address of a `MAIL FROM:<a>` / `RCPT TO:<a>` argument.
fn address(argument: &str) -> String {
    let rest = argument.split_once(':').map_or(argument, |(_, r)| r).trim();
    match (rest.find('<'), rest.find('>')) {
        (Some(a), Some(b)) if a < b => rest[a + 1..b].to_string(),
        _ => rest.split_whitespace().next().unwrap_or("").to_string(),
    }
}
