//! One CSV row per session (RFC 4180, the `csv` crate): for a spreadsheet of a day's
//! captures. The columns are [`CSV_COLUMNS`], documented in docs/csv-format.md.

use std::io;

use super::{Scrubbed, Spool};
use crate::analysis::{Analysis, Session};
use crate::diagnosis::{Basis, Diagnosis, Finding, SessionDiagnosis, Severity};

/// The header row.
pub const CSV_COLUMNS: [&str; 19] = [
    "capture",
    "session",
    "device",
    "client",
    "server",
    "server_name",
    "server_role",
    "protocol",
    "outcome",
    "stage",
    "outcome_basis",
    "reply_code",
    "enhanced_code",
    "reply",
    "cause",
    "first_frame",
    "last_frame",
    "attempt",
    "superseded_by",
];

/// The rows of an analysis held in memory, with the header.
pub fn to_csv(a: &Analysis, d: &Diagnosis) -> String {
    super::render_in_memory(super::Format::Csv { header: true }, a, d)
}

pub(super) struct CsvWriter {
    header: bool,
    /// Each row without its first column (the capture, known at the end).
    rows: Spool,
}

impl CsvWriter {
    pub(super) fn new(header: bool) -> Self {
        CsvWriter {
            header,
            rows: Spool::default(),
        }
    }

    pub(super) fn session(&mut self, s: &Session, sd: &SessionDiagnosis, findings: &[&Finding]) {
        let (code, enhanced) = sd
            .deciding_reply
            .as_ref()
            .and_then(|d| super::deciding_codes(&d.text))
            .map(|(code, enhanced)| (code.to_string(), enhanced.unwrap_or_default()))
            .unwrap_or_default();
        // The finding that explains the session: the one citing the deciding reply, else
        // its first error.
        let cause = sd
            .deciding_reply
            .as_ref()
            .and_then(|d| {
                findings
                    .iter()
                    .find(|f| f.evidence.iter().any(|e| e.frame == d.frame))
            })
            .or_else(|| findings.iter().find(|f| f.severity == Severity::Error))
            .map_or("", |f| f.id.as_str());
        let row = [
            s.id.to_string(),
            s.client.ip.to_string(),
            s.client.to_string(),
            s.server.to_string(),
            sd.server_name.clone().unwrap_or_default(),
            sd.server_role.name().to_string(),
            s.protocol.name().to_string(),
            sd.outcome.name().to_string(),
            sd.stage.map(|st| st.name().to_string()).unwrap_or_default(),
            match sd.basis {
                Basis::Observed => "observed",
                Basis::Inferred => "inferred",
                Basis::Decrypted => "decrypted",
            }
            .to_string(),
            code,
            enhanced,
            sd.deciding_reply
                .as_ref()
                .map(|d| d.text.clone())
                .unwrap_or_default(),
            cause.to_string(),
            s.tcp.first_frame.to_string(),
            s.tcp.last_frame.to_string(),
            sd.attempt
                .as_ref()
                .map(|m| m.number.to_string())
                .unwrap_or_default(),
            sd.attempt
                .as_ref()
                .and_then(|m| m.superseded_by)
                .map(|b| b.to_string())
                .unwrap_or_default(),
        ];
        self.rows.push(&record(&row));
    }

    pub(super) fn finish(mut self, a: &Analysis, out: &mut Scrubbed) -> io::Result<()> {
        // A capture that could not be read has no session: one row says why, so that a
        // spreadsheet of a day's captures misses none.
        if self.rows.is_empty() {
            if let Some(e) = &a.error {
                let mut row = vec![String::new(); CSV_COLUMNS.len() - 1];
                row[7] = "unread".into();
                row[12] = format!("at byte {}: {}", e.offset, e.message);
                self.rows.push(&record(&row));
            }
        }
        if self.header {
            out.put(&String::from_utf8_lossy(&record(&CSV_COLUMNS)))?;
        }
        // The capture's column, quoted as the rest.
        let mut capture = record(&[a.file.as_str()]);
        capture.truncate(capture.len().saturating_sub(2)); // its CRLF
        capture.push(b',');
        let capture = String::from_utf8_lossy(&capture).into_owned();
        out.spool(self.rows, &mut |_| capture.clone())
    }
}

/// One CSV record (with its line end).
fn record<S: AsRef<[u8]>>(fields: &[S]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = w.write_record(fields);
    w.into_inner().unwrap_or_default()
}
