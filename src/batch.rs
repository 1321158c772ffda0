//! Which files a run analyses: files named on the command line, and capture files found
//! (recursively, by content) in the directories named.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::diagnosis::Diagnoser;
use crate::report::{Format, ReportWriter, Spool};

/// One capture to analyse, in the order the run reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
}

/// Expands directories (recursively, sorted by path) to the capture files they hold,
/// recognised by content; files named directly are kept whatever they hold, so that a
/// wrong file gets its error message. `-` stands for standard input.
pub fn expand(paths: &[PathBuf]) -> Vec<Input> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found);
            found.sort();
            out.extend(found.into_iter().map(|path| Input { path }));
        } else {
            out.push(Input { path: p.clone() });
        }
    }
    out
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(&p, found);
        } else if (ft.is_file() || (ft.is_symlink() && p.is_file())) && is_capture_file(&p) {
            // Links to files are followed; links to directories are not (no loops).
            found.push(p);
        }
    }
}

/// A pcap or pcapng file, or a gzip-compressed one, by its first bytes.
pub fn is_capture_file(path: &Path) -> bool {
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let mut head = [0u8; 4];
    if f.read_exact(&mut head).is_err() {
        return false;
    }
    if head[..2] == [0x1f, 0x8b] {
        let Ok(f) = File::open(path) else {
            return false;
        };
        let mut gz = flate2::read::MultiGzDecoder::new(f);
        if gz.read_exact(&mut head).is_err() {
            return false;
        }
    }
    is_capture_magic(&head)
}

pub fn is_capture_magic(head: &[u8; 4]) -> bool {
    matches!(
        head,
        [0x0a, 0x0d, 0x0d, 0x0a]
            | [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_to_capture_files_are_followed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = std::env::temp_dir().join(format!("smtpcap-links-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("visit.pcap");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(root.join("samples/plain-mx-swaks.pcap"), &link).unwrap();
        assert_eq!(
            expand(std::slice::from_ref(&dir)),
            vec![Input { path: link }]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn directories_yield_captures_by_content_recursively() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let found = expand(&[root.join("samples")]);
        assert!(found.len() >= 40, "{}", found.len());
        assert!(found
            .iter()
            .any(|i| i.path.ends_with("scenarios/supported-587.pcap")));
        assert!(found
            .iter()
            .any(|i| i.path.ends_with("auth-login-cleartext-swaks.pcap.gz")));
        // README.md and the expected JSON files are not captures.
        assert!(found
            .iter()
            .all(|i| !i.path.to_string_lossy().ends_with(".md")));
        assert!(found
            .iter()
            .all(|i| !i.path.to_string_lossy().ends_with(".json")));
        let mut sorted = found.clone();
        sorted.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(found, sorted);
    }
}

/// What a run produces, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
    Jsonl,
    Markdown,
}

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub format: OutputFormat,
    pub text: crate::report::TextOptions,
    /// Keep only the sessions of these devices or servers (empty: all).
    pub hosts: Vec<ipnet::IpNet>,
    pub min_severity: crate::diagnosis::Severity,
}

impl RunOptions {
    fn report_format(&self) -> Format {
        match self.format {
            OutputFormat::Text => Format::Text(self.text),
            OutputFormat::Json => Format::Json,
            OutputFormat::Jsonl => Format::Jsonl,
            OutputFormat::Markdown => Format::Markdown,
        }
    }
}

/// Exit statuses, as linters use them: the worst over all captures wins.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_UNREADABLE: u8 = 2;

/// One capture's rendered report and what the batch summary shows of it.
pub struct CaptureResult {
    pub file: String,
    /// The report, held until the batch's order lets it out (on disk past a budget).
    pub rendered: Spool,
    pub status: u8,
    pub verdict: String,
    pub main_finding: Option<String>,
    pub sessions: usize,
    /// Why the capture could not be read to its end.
    pub error: Option<String>,
}

/// Analyses, diagnoses and renders one capture, each session as soon as the analysis
/// hands it on: memory does not grow with the number of sessions. The report is held in
/// the result until the batch's order lets it out.
pub fn run_one(input: &Input, opts: &RunOptions) -> CaptureResult {
    let mut rendered = SpoolWriter::default();
    let (mut r, written) = run_one_into(input, opts, &mut rendered);
    if let Err(e) = written {
        r.error
            .get_or_insert(format!("cannot write the report: {e}"));
        r.status = EXIT_UNREADABLE;
    }
    r.rendered = rendered.0;
    r
}

/// Like [`run_one`], writing the report straight to `out` (a single capture needs no
/// holding back); a failure to write is handed back for the caller to judge.
pub fn run_one_into(
    input: &Input,
    opts: &RunOptions,
    out: &mut dyn std::io::Write,
) -> (CaptureResult, std::io::Result<()>) {
    let mut diagnoser = Diagnoser::default();
    let mut writer = ReportWriter::new(opts.report_format(), opts.min_severity);
    let mut a = crate::analysis::analyze_path_with(&input.path, &mut |s| {
        if !crate::analysis::involves_hosts(&opts.hosts, &s.client, &s.server) {
            return;
        }
        let (sd, findings) = diagnoser.session(&s);
        writer.session(&s, &sd, &findings);
    });
    a.retain_hosts(&opts.hosts);
    let capture_findings = diagnoser.finish(&a);
    let (report, written) = match writer.finish(&a, &capture_findings, out) {
        Ok(r) => (Some(r), Ok(())),
        Err(e) => (None, Err(e)),
    };
    let error = a
        .error
        .as_ref()
        .map(|e| format!("at byte {}: {}", e.offset, e.message));
    let errors = report.as_ref().is_some_and(|r| r.errors);
    let status = if error.is_some() {
        EXIT_UNREADABLE
    } else if errors {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    };
    let verdict = match (&error, &report) {
        (Some(e), _) if a.format.is_none() => format!("cannot read: {e}"),
        (_, Some(r)) => crate::report::verdict_line(&r.verdict),
        (_, None) => String::new(),
    };
    let result = CaptureResult {
        file: a.file.clone(),
        rendered: Spool::default(),
        status,
        verdict,
        main_finding: report
            .as_ref()
            .and_then(|r| r.main_finding.map(|id| id.to_string())),
        sessions: report.as_ref().map_or(0, |r| r.sessions),
        error,
    };
    (result, written)
}

/// A report written into a spool, in pieces of at most 64 KiB.
#[derive(Default)]
struct SpoolWriter(Spool);

impl std::io::Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len().min(64 << 10);
        self.0.push(buf.get(..n).unwrap_or_default());
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The table that closes a batch in the text view.
pub fn summary_table(results: &[CaptureResult]) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_header(vec!["capture", "verdict", "main finding", "sessions"]);
    for r in results {
        t.add_row(vec![
            r.file.clone(),
            r.verdict.clone(),
            r.main_finding.clone().unwrap_or_else(|| "-".into()),
            r.sessions.to_string(),
        ]);
    }
    format!("{t}\n")
}
