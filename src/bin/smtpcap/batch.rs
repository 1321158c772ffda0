//! A run over many captures: which files it reads, the order it reports them in while
//! every core works, its progress bar and the summary table that closes it.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use smtpcap::Severity;
use smtpcap::Spool;
use smtpcap::{sniff, FileFormat};
use smtpcap::{Analysis, Capture, Options};

/// One capture to analyse, in the order the run reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    /// Its name relative to the directory given (as given, for a file named directly).
    pub shown: String,
}

/// What the paths given expand to: the captures to read, and the other files that
/// directories held.
#[derive(Debug, Default)]
pub struct Expanded {
    pub inputs: Vec<Input>,
    /// Files in the directories given that are not captures, by name or by content.
    pub skipped: Vec<PathBuf>,
}

/// Expands directories (recursively, sorted by path) to the files in them that are
/// captures by name (`.pcap`, `.pcapng`, `.cap`, … with `.gz`, `.zst` or `.xz`) or by
/// their first bytes; the rest is listed as skipped. Files named directly are kept
/// whatever they hold, so that a wrong file gets its error message. `-` stands for
/// standard input.
pub fn expand(paths: &[PathBuf]) -> Expanded {
    let mut out = Expanded::default();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            let mut skipped = Vec::new();
            walk(p, &mut found, &mut skipped);
            found.sort();
            skipped.sort();
            out.inputs.extend(found.into_iter().map(|path| {
                let shown = path.strip_prefix(p).unwrap_or(&path).display().to_string();
                Input { path, shown }
            }));
            out.skipped.extend(skipped);
        } else {
            out.inputs.push(Input {
                path: p.clone(),
                shown: p.display().to_string(),
            });
        }
    }
    out
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>, skipped: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(&p, found, skipped);
        } else if ft.is_file() || (ft.is_symlink() && p.is_file()) {
            // Links to files are followed; links to directories are not (no loops).
            if capture_named(&p) || is_capture_file(&p) {
                found.push(p);
            } else {
                skipped.push(p);
            }
        }
    }
}

/// The name says capture: `.pcap`, `.pcapng`, `.cap`, `.dmp`, `.ntar`, `.erf`, `.snoop`
/// (and tcpdump's rotated `.pcap1`, `.pcap2`, …), compressed with gzip, zstd or xz or not.
fn capture_named(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = [".gz", ".zst", ".xz"]
        .iter()
        .find_map(|c| name.strip_suffix(c))
        .unwrap_or(&name);
    let Some((_, ext)) = name.rsplit_once('.') else {
        return false;
    };
    let rotated = ext
        .strip_prefix("pcap")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    rotated
        || matches!(
            ext,
            "pcap" | "pcapng" | "cap" | "dmp" | "ntar" | "erf" | "snoop"
        )
}

/// A capture by its first bytes: pcap, pcapng, a gzip-compressed one, or a capture
/// format smtpcap names but does not read.
fn is_capture_file(path: &Path) -> bool {
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let mut head = [0u8; 8];
    let n = f.read(&mut head).unwrap_or(0);
    let head = &head[..n];
    match sniff(head) {
        Some(FileFormat::Capture(_) | FileFormat::Unsupported(_)) => true,
        Some(FileFormat::Gzip) => {
            let Ok(f) = File::open(path) else {
                return false;
            };
            let mut gz = flate2::read::MultiGzDecoder::new(f);
            let mut inner = [0u8; 8];
            let n = gz.read(&mut inner).unwrap_or(0);
            matches!(
                sniff(&inner[..n]),
                Some(FileFormat::Capture(_) | FileFormat::Unsupported(_))
            )
        }
        _ => false,
    }
}

/// The files a run skipped as not captures, and whether to list them (`-v`).
#[derive(Debug, Default)]
pub struct Skipped {
    pub files: Vec<PathBuf>,
    pub listed: bool,
}

/// `12 other files skipped: not captures`.
pub fn skipped_line(n: usize) -> String {
    let files = if n == 1 { "file" } else { "files" };
    format!("{n} other {files} skipped: not captures")
}

/// How each capture of a run is reported.
pub struct Run {
    pub format: smtpcap::Format,
    pub min_severity: Severity,
    /// Keep only the sessions of these devices or servers (empty: all).
    pub hosts: Vec<ipnet::IpNet>,
    /// TLS secrets given with `--keylog`.
    pub keys: Option<std::sync::Arc<smtpcap::KeyLog>>,
    /// `--annotate`: the file (one capture) or the directory the annotated copies go to.
    pub annotate: Option<Annotate>,
    /// `--embed-keys`: the copies carry the key log lines of their own TLS sessions.
    pub embed_keys: bool,
}

/// Where annotated copies are written.
#[derive(Clone, Debug)]
pub enum Annotate {
    File(PathBuf),
    Dir(PathBuf),
}

impl Annotate {
    /// The copy of `input`: the file itself, or `NAME.annotated.pcapng` in the directory
    /// (named as `--output-dir` names reports).
    fn target(&self, input: &Input) -> PathBuf {
        match self {
            Annotate::File(p) => p.clone(),
            Annotate::Dir(d) => d.join(format!(
                "{}.annotated.pcapng",
                crate::output::base_name(&input.shown)
            )),
        }
    }
}

/// Exit statuses, as linters use them: the worst over all captures wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// No error finding.
    Ok,
    /// An error finding in some capture.
    Findings,
    /// A capture could not be read (to its end), or the run itself failed.
    Trouble,
}

impl From<Status> for std::process::ExitCode {
    fn from(s: Status) -> Self {
        std::process::ExitCode::from(match s {
            Status::Ok => 0,
            Status::Findings => 1,
            Status::Trouble => 2,
        })
    }
}

/// One capture's rendered report and what the batch summary shows of it.
pub struct CaptureResult {
    pub file: String,
    /// The name the summary shows (relative to the directory given).
    pub shown: String,
    /// The verdict is a failure (a refusal, a failed handshake, no connection).
    pub failure: bool,
    /// The session with the worst outcome.
    pub worst: Option<smtpcap::SessionBrief>,
    /// The report, held until the batch's order lets it out (on disk past a budget).
    pub report: Spool,
    pub status: Status,
    pub verdict: String,
    pub main_finding: Option<String>,
    pub sessions: usize,
    /// Why the capture could not be read to its end.
    pub error: Option<String>,
}

/// Analyses, diagnoses and renders one capture into a spool.
fn run_one(input: &Input, run: &Run) -> CaptureResult {
    let mut spooled = SpoolWriter::default();
    let (mut r, written) = run_one_into(input, run, &mut spooled);
    if let Err(e) = written {
        r.error
            .get_or_insert(format!("cannot write the report: {e}"));
        r.status = Status::Trouble;
    }
    r.report = spooled.0;
    r
}

/// Analyses, diagnoses and renders one capture straight into `out`; a failure to write
/// is handed back for the caller to judge.
pub fn run_one_into(
    input: &Input,
    run: &Run,
    out: &mut dyn io::Write,
) -> (CaptureResult, io::Result<()>) {
    let options = Options {
        hosts: run.hosts.clone(),
        // Only the escalation report names the file by its hash; the annotated copy
        // checks it reads the same file.
        digest: run.annotate.is_some()
            || matches!(
                run.format,
                smtpcap::Format::Markdown | smtpcap::Format::Html | smtpcap::Format::HtmlSection
            ),
        keys: run.keys.clone(),
    };
    let name = input.path.display().to_string();
    let rendered = match Capture::open_with(&input.path, &options) {
        Ok(capture) if run.annotate.is_some() => {
            smtpcap::render_annotated(capture, run.format, run.min_severity, out)
        }
        Ok(capture) => smtpcap::render(capture, run.format, run.min_severity, out),
        Err(e) => {
            let a = Analysis::unreadable(name, &e);
            smtpcap::render_unreadable(&a, run.format, out).map(|v| (a, v))
        }
    };
    let (a, verdict) = match rendered {
        Ok((a, v)) => (Some(a), Some(v)),
        Err(e) => return (result_unwritten(input), Err(e)),
    };
    let error = a
        .as_ref()
        .and_then(|a| a.error.as_ref())
        .map(|e| format!("at byte {}: {}", e.offset, e.message));
    let errors = verdict.as_ref().is_some_and(|v| v.errors);
    let status = if error.is_some() {
        Status::Trouble
    } else if errors {
        Status::Findings
    } else {
        Status::Ok
    };
    let unopened = a.as_ref().is_some_and(|a| a.format.is_none());
    let mut status = status;
    if let (Some(annotate), Some(a), Some(v), false) = (&run.annotate, &a, &verdict, unopened) {
        let target = annotate.target(input);
        let with = smtpcap::AnnotateWith {
            digest: a.digest.as_ref(),
            damage: error.as_deref(),
            notes: &v.annotations,
            keys: run.keys.as_deref().filter(|_| run.embed_keys),
        };
        let written = smtpcap::write_annotated(&input.path, &with, &target);
        if let Err(e) = written {
            eprintln!("smtpcap: {}: cannot annotate: {e}", input.path.display());
            status = Status::Trouble;
        }
    }
    let line = match (&error, &verdict) {
        (Some(e), _) if unopened => format!("cannot read: {e}"),
        (_, Some(v)) => smtpcap::verdict_line(&v.verdict),
        (_, None) => String::new(),
    };
    let result = CaptureResult {
        file: a.map_or_else(|| input.path.display().to_string(), |a| a.file),
        shown: input.shown.clone(),
        failure: verdict.as_ref().is_some_and(|v| v.verdict.is_failure()),
        worst: verdict.as_ref().and_then(|v| v.worst.clone()),
        report: Spool::default(),
        status,
        verdict: line,
        main_finding: verdict
            .as_ref()
            .and_then(|v| v.main_finding.map(|id| id.to_string())),
        sessions: verdict.as_ref().map_or(0, |v| v.sessions),
        error,
    };
    (result, Ok(()))
}

fn result_unwritten(input: &Input) -> CaptureResult {
    CaptureResult {
        file: input.path.display().to_string(),
        shown: input.shown.clone(),
        failure: false,
        worst: None,
        report: Spool::default(),
        status: Status::Trouble,
        verdict: String::new(),
        main_finding: None,
        sessions: 0,
        error: None,
    }
}

/// A report written into a spool, in pieces of at most 64 KiB.
#[derive(Default)]
struct SpoolWriter(Spool);

impl io::Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(64 << 10);
        self.0.push(buf.get(..n).unwrap_or_default());
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The captures of a run, analysed `jobs` at a time and handed on in input order:
/// chunks keep the order while every core works, and bound memory.
pub struct Batch<'a> {
    inputs: std::slice::Chunks<'a, Input>,
    run: &'a Run,
    pool: rayon::ThreadPool,
    progress: &'a Progress,
    done: std::vec::IntoIter<CaptureResult>,
}

impl<'a> Batch<'a> {
    pub fn new(
        inputs: &'a [Input],
        run: &'a Run,
        jobs: usize,
        progress: &'a Progress,
    ) -> anyhow::Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start worker threads: {e}"))?;
        Ok(Batch {
            inputs: inputs.chunks(jobs * 4),
            run,
            pool,
            progress,
            done: Vec::new().into_iter(),
        })
    }
}

impl Iterator for Batch<'_> {
    type Item = CaptureResult;

    fn next(&mut self) -> Option<CaptureResult> {
        if let Some(r) = self.done.next() {
            return Some(r);
        }
        let chunk = self.inputs.next()?;
        let (run, progress) = (self.run, self.progress);
        let done: Vec<CaptureResult> = self.pool.install(|| {
            chunk
                .par_iter()
                .map(|input| {
                    let r = run_one(input, run);
                    progress.done(&r.file);
                    r
                })
                .collect()
        });
        self.done = done.into_iter();
        self.done.next()
    }
}

/// A progress bar on a terminal for runs of several captures; nothing otherwise.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    pub fn new(captures: usize) -> Self {
        let shown = captures > 1 && io::IsTerminal::is_terminal(&io::stderr());
        Progress(shown.then(|| {
            let pb = ProgressBar::new(captures as u64);
            pb.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} captures {elapsed_precise} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            pb
        }))
    }

    fn done(&self, file: &str) {
        if let Some(pb) = &self.0 {
            pb.set_message(file.to_string());
            pb.inc(1);
        }
    }

    /// A line on standard error that does not break the bar.
    pub fn note(&self, line: &str) {
        match &self.0 {
            Some(pb) => pb.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

impl CaptureResult {
    /// Its place in the summary: failures first, then error findings, captures not
    /// read to their end (`PART` where sessions were read before the damage), warnings,
    /// and captures where all is well.
    pub fn rank(&self) -> (u8, &'static str) {
        if self.failure {
            (0, "FAIL")
        } else if self.status == Status::Findings {
            (1, "ERROR")
        } else if self.status == Status::Trouble {
            (2, if self.sessions > 0 { "PART" } else { "UNREAD" })
        } else if self.main_finding.is_some() {
            (3, "WARN")
        } else {
            (4, "OK")
        }
    }
}

/// The summary that closes a batch: one entry per capture, worst first, each with its
/// device, server, outcome, deciding reply code and cause; then the captures per cause.
/// Fits `width` columns (a long name or path runs over alone).
pub fn summary(results: &[CaptureResult], skipped: &Skipped, width: usize) -> String {
    let wrap = |text: &str, first: &str, rest: &str| smtpcap::wrap(text, width, first, rest);
    let mut order: Vec<&CaptureResult> = results.iter().collect();
    order.sort_by_key(|r| r.rank().0);
    let mut out = format!("== Summary of {} captures, worst first\n", results.len());
    let unread = results
        .iter()
        .filter(|r| r.error.is_some() && r.sessions == 0)
        .count();
    let damaged = results
        .iter()
        .filter(|r| r.error.is_some() && r.sessions > 0)
        .count();
    if unread + damaged > 0 {
        let damaged = if damaged > 0 {
            format!(" ({damaged} read only in part)")
        } else {
            String::new()
        };
        out.push_str(&wrap(
            &format!(
                "{} analysed{damaged}, {unread} could not be read",
                results.len() - unread
            ),
            "  ",
            "    ",
        ));
    }
    for r in &order {
        let (_, label) = r.rank();
        out.push_str(&wrap(&r.shown, &format!("  {label:<6} "), "         "));
        let detail = match (&r.worst, &r.error) {
            (_, Some(e)) if r.sessions == 0 => format!("cannot read: {e}"),
            (Some(w), Some(e)) => format!(
                "{} → {}: {}, read only in part: {e}",
                w.device, w.server, w.outcome
            ),
            (Some(w), _) => {
                let code = w
                    .code
                    .as_deref()
                    .map(|c| format!(", {c}"))
                    .unwrap_or_default();
                let cause = r
                    .main_finding
                    .as_deref()
                    .map(|c| format!(" [{c}]"))
                    .unwrap_or_default();
                format!("{} → {}: {}{code}{cause}", w.device, w.server, w.outcome)
            }
            (None, _) => r.verdict.clone(),
        };
        out.push_str(&wrap(&detail, "         ", "           "));
    }
    if !skipped.files.is_empty() {
        out.push_str(&wrap(&skipped_line(skipped.files.len()), "  ", "    "));
        if skipped.listed {
            for f in &skipped.files {
                out.push_str(&wrap(&f.display().to_string(), "    ", "      "));
            }
        }
    }
    let mut causes: Vec<(String, usize)> = Vec::new();
    for r in results {
        let cause = r.main_finding.clone().unwrap_or_else(|| {
            match (&r.error, r.sessions) {
                (Some(_), 0) => "(unreadable)",
                (Some(_), _) => "(read in part)",
                (None, _) => "(none)",
            }
            .to_string()
        });
        match causes.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, n)) => *n += 1,
            None => causes.push((cause, 1)),
        }
    }
    causes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.push_str("\nCaptures per cause:\n");
    for (cause, n) in causes {
        let title = smtpcap::CATALOGUE
            .iter()
            .find(|k| k.id.as_str() == cause)
            .map(|k| k.title)
            .unwrap_or_default();
        out.push_str(&wrap(
            &format!("{cause}  {title}"),
            &format!("  {n:>5}  "),
            "         ",
        ));
    }
    out
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
            expand(std::slice::from_ref(&dir)).inputs,
            vec![Input {
                path: link,
                shown: "visit.pcap".into()
            }]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn directories_yield_captures_by_content_recursively() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let found = expand(&[root.join("samples")]).inputs;
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

    #[test]
    fn names_that_say_capture() {
        for yes in [
            "a.pcap",
            "a.PCAPNG",
            "visit.cap",
            "x.dmp",
            "x.ntar",
            "x.erf.gz",
            "x.snoop",
            "x.pcap.zst",
            "x.pcapng.xz",
            "rotated.pcap12",
        ] {
            assert!(capture_named(Path::new(yes)), "{yes}");
        }
        for no in [
            "README.md",
            "notes.txt",
            "x.gz",
            "pcap",
            "x.pcapx",
            "x.keys",
        ] {
            assert!(!capture_named(Path::new(no)), "{no}");
        }
    }
}
