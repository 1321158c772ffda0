//! Where the reports of a run go: standard output, framed for the format (one JSON array,
//! one CSV header, one HTML page), or a directory with a file per capture and an index.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use maud::html;

use crate::args::Format;
use crate::batch::{CaptureResult, Skipped};

/// The reports of a run, as they come in order.
pub struct Output<'a> {
    out: &'a mut dyn Write,
    format: Format,
    /// Write each capture's report to a file here (the summary still goes to `out`).
    dir: Option<PathBuf>,
    /// Only the summary.
    summary_only: bool,
    written: usize,
}

impl<'a> Output<'a> {
    pub fn new(
        out: &'a mut dyn Write,
        format: Format,
        dir: Option<PathBuf>,
        summary_only: bool,
    ) -> io::Result<Self> {
        if let Some(d) = &dir {
            std::fs::create_dir_all(d)?;
        }
        Ok(Output {
            out,
            format,
            dir,
            summary_only,
            written: 0,
        })
    }

    /// Whether the run's reports go to standard output (several captures framed as one
    /// document).
    pub fn to_stdout(&self) -> bool {
        self.dir.is_none() && !self.summary_only
    }

    /// The start of the run's output, before the first report.
    pub fn begin(&mut self) -> io::Result<()> {
        if !self.to_stdout() {
            return Ok(());
        }
        match self.format {
            Format::Json => self.out.write_all(b"[\n"),
            Format::Csv => self.out.write_all(csv_header().as_bytes()),
            Format::Html => self.out.write_all(
                smtpcap::html_page_start("smtpcap: reports of a batch of captures").as_bytes(),
            ),
            _ => Ok(()),
        }
    }

    /// One capture's report (taken out of `r`).
    pub fn capture(&mut self, r: &mut CaptureResult) -> io::Result<()> {
        let report = std::mem::take(&mut r.report);
        if self.summary_only {
            return Ok(());
        }
        if let Some(dir) = &self.dir {
            let path = dir.join(file_name(&r.shown, self.format));
            let mut f = io::BufWriter::new(File::create(&path)?);
            report.drain(&mut |piece| f.write_all(piece))?;
            if self.format != Format::Csv {
                f.write_all(b"\n")?;
            }
            return f.flush();
        }
        let first = self.written == 0;
        self.written += 1;
        match self.format {
            Format::Text | Format::Markdown if !first => self.out.write_all(b"\n")?,
            Format::Json if !first => self.out.write_all(b",\n")?,
            Format::Html => {
                write!(self.out, "<div id=\"capture-{}\"></div>", self.written)?;
            }
            _ => {}
        }
        report.drain(&mut |piece| self.out.write_all(piece))?;
        match self.format {
            Format::Json | Format::Csv | Format::Html => Ok(()),
            _ => self.out.write_all(b"\n"),
        }
    }

    /// The end of the run: the frame closed, the summary (text, or the HTML index).
    pub fn end(
        &mut self,
        results: &[CaptureResult],
        skipped: &Skipped,
        width: usize,
    ) -> io::Result<()> {
        if self.to_stdout() {
            match self.format {
                Format::Json => return self.out.write_all(b"\n]\n"),
                Format::Html => {
                    self.out
                        .write_all(index(results, skipped, None).as_bytes())?;
                    return self.out.write_all(smtpcap::html_page_end().as_bytes());
                }
                Format::Text => {}
                _ => return Ok(()),
            }
            self.out.write_all(b"\n")?;
        }
        if let (Some(dir), Format::Html) = (&self.dir, self.format) {
            let mut page = smtpcap::html_page_start("smtpcap: index of the reports");
            page.push_str(&index(results, skipped, Some(self.format)));
            page.push_str(smtpcap::html_page_end());
            std::fs::write(dir.join("index.html"), page)?;
        }
        self.out
            .write_all(crate::batch::summary(results, skipped, width).as_bytes())
    }
}

/// The file a capture's report is written to: its name relative to the directory given,
/// folders joined by `__`.
fn file_name(shown: &str, format: Format) -> String {
    let ext = match format {
        Format::Text => "txt",
        Format::Json => "json",
        Format::Jsonl => "jsonl",
        Format::Markdown => "md",
        Format::Html => "html",
        Format::Csv => "csv",
    };
    format!("{}.{ext}", base_name(shown))
}

/// A capture's name for the files made from it: relative to the directory given,
/// folders joined by `__` (`visit__copier.pcap.gz`).
pub fn base_name(shown: &str) -> String {
    if shown == "-" {
        "stdin".to_string()
    } else {
        let p = Path::new(shown);
        p.components()
            .filter_map(|c| match c {
                std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("__")
    }
}

fn csv_header() -> String {
    let mut s = smtpcap::CSV_COLUMNS.join(",");
    s.push_str("\r\n");
    s
}

/// The captures worst first: outcome and cause first (what the eye meets), then the
/// capture with its device under it, the server and the reply code; each links to its
/// report (a file of `format` beside the index, or the section of the same page). Every
/// column shows from 1,024 pixels up; on a phone each capture is a card.
fn index(results: &[CaptureResult], skipped: &Skipped, files: Option<Format>) -> String {
    let mut order: Vec<(usize, &CaptureResult)> = results.iter().enumerate().collect();
    order.sort_by_key(|(_, r)| r.rank().0);
    html! {
        section.index {
            h1 { "Summary of " (results.len()) " captures, worst first" }
            table.sessions {
                tr.head { th { "" } th { "outcome" } th { "cause" } th { "capture / device" } th { "server" } th { "reply" } }
                @for (i, r) in order {
                    @let href = match files {
                        Some(f) => file_name(&r.shown, f),
                        None => format!("#capture-{}", i + 1),
                    };
                    @let cause = r.main_finding.as_deref().map(|id| {
                        let title = smtpcap::CATALOGUE.iter().find(|k| k.id.as_str() == id).map(|k| k.title);
                        (id.to_string(), title)
                    });
                    tr {
                        td class=(if r.rank().0 == 0 { "status bad" } else { "status" }) { (r.rank().1) }
                        @match (&r.worst, &r.error) {
                            (Some(w), _) => { td.outcome data-label="outcome" { (w.outcome) } }
                            (None, Some(e)) => { td.outcome data-label="outcome" { "cannot read: " (e) } }
                            (None, None) => { td.outcome data-label="outcome" { (r.verdict) } }
                        }
                        td.cause data-label="cause" {
                            @if let Some((id, title)) = &cause {
                                @if let Some(t) = title { (t) br; }
                                code { (id) }
                            }
                        }
                        td.capture data-label="capture" {
                            a href=(href) { (breakable(&r.shown)) }
                            @if let Some(w) = &r.worst { div.device { (w.device) } }
                        }
                        td.server data-label="server" { (breakable(r.worst.as_ref().map_or("", |w| w.server.as_str()))) }
                        td data-label="reply" { (r.worst.as_ref().and_then(|w| w.code.as_deref()).unwrap_or("")) }
                    }
                }
            }
            @if !skipped.files.is_empty() {
                p.skipped { (crate::batch::skipped_line(skipped.files.len())) }
            }
        }
    }
    .into_string()
}

/// A capture's name with a break opportunity after each `/`, `_` and `-`, so that a
/// long name wraps where it reads.
fn breakable(name: &str) -> maud::Markup {
    let mut out = String::with_capacity(name.len() * 2);
    for c in name.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
        if matches!(c, '/' | '_' | '-' | '.') {
            out.push_str("<wbr>");
        }
    }
    maud::PreEscaped(out)
}
