//! The `smtpcap` command: flags ([`args`]), which files a run reads and the batch around
//! them ([`batch`]); everything else is the library's.
#![forbid(unsafe_code)]

mod args;
mod batch;
mod output;
mod watch;

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use smtpcap::CATALOGUE;
use smtpcap::{KeyLog, TextOptions};

use args::{AnalyzeArgs, Cli, Color, Command, Format};
use batch::{CaptureResult, Status};

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(status) => status.into(),
        Err(e) => {
            eprintln!("smtpcap: {e:#}");
            Status::Trouble.into()
        }
    }
}

/// Runs one command; what goes wrong before any capture is read is the error.
fn run(cli: Cli) -> anyhow::Result<Status> {
    let mut out = io::stdout().lock();
    let written = match cli.command {
        Command::Analyze(args) => return analyze(&args, &mut out),
        Command::Watch(args) => return watch::watch(&args, &mut out),
        Command::Findings => CATALOGUE
            .iter()
            .try_for_each(|k| writeln!(out, "{:<26} {:<8} {}", k.id, k.severity.name(), k.title)),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "smtpcap", &mut out);
            Ok(())
        }
        Command::Man { command } => render_man_page(command.as_deref(), &mut out),
    };
    written_or_closed(written)?;
    Ok(Status::Ok)
}

/// What smtpcap(1) says besides the flags (roff).
const MAN_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
0
No finding of error severity (a failure later superseded by a delivery leaves it).
.TP
1
A finding of error severity in some capture.
.TP
2
A capture could not be read to its end, or smtpcap could not do what was asked.
.SH "CAPTURING WITHOUT ROOT"
\fBsmtpcap watch \-i\fR captures with libpcap when it may (root, or the CAP_NET_RAW
capability); otherwise through Wireshark's \fBdumpcap\fR(1), as Wireshark does, so that
smtpcap itself never holds capture rights. Allow it once:
\fBsudo dpkg\-reconfigure wireshark\-common\fR (answer Yes to non\-superusers capturing),
then \fBsudo usermod \-aG wireshark $USER\fR and log in again.
.SH FILES
.TP
/usr/share/doc/smtpcap/README.md
Usage for field work.
.TP
/usr/share/doc/smtpcap/findings.md
Every finding smtpcap reports: what it means, its evidence and its fix.
.SH "SEE ALSO"
\fBdumpcap\fR(1), \fBtshark\fR(1), \fBwireshark\fR(1)
"#;

/// Prints smtpcap(1) with its own sections, or the page of one of its commands.
fn render_man_page(command: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    let page = man_page(command).map_err(io::Error::other)?;
    if command.is_some() {
        return page.render(out);
    }
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    page.render_subcommands_section(out)?;
    out.write_all(MAN_SECTIONS.as_bytes())?;
    page.render_version_section(out)
}

/// smtpcap(1), or the page of one of its commands (`smtpcap-watch(1)`), as smtpcap(1) names
/// them. The version is the release alone: the pages are packaged as printed (docs/package/).
fn man_page(command: Option<&str>) -> anyhow::Result<clap_mangen::Man> {
    let mut cli = Cli::command()
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_subcommand(true);
    cli.build();
    let source = concat!("smtpcap ", env!("CARGO_PKG_VERSION"));
    let Some(name) = command else {
        return Ok(clap_mangen::Man::new(cli).source(source));
    };
    if let Some(sub) = cli.find_subcommand(name) {
        return Ok(clap_mangen::Man::new(sub.clone()).source(source));
    }
    let names: Vec<&str> = cli.get_subcommands().map(clap::Command::get_name).collect();
    anyhow::bail!("no command `{name}`: the pages are of {}", names.join(", "))
}

/// A write that failed because the reader went away (`smtpcap … | head`) is no error:
/// `Ok(false)` says to stop quietly. The one place a closed pipe is handled.
pub(crate) fn written_or_closed(written: io::Result<()>) -> anyhow::Result<bool> {
    match written {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("cannot write the output"),
    }
}

/// Key log files are small (a line per TLS session); past this, it is not one.
const MAX_KEYLOG: u64 = 256 << 20;

/// Reads the `--keylog` files; a file with no secret at all is refused, its bad lines
/// are named on standard error.
pub(crate) fn read_keylogs(paths: &[PathBuf]) -> anyhow::Result<Option<Arc<KeyLog>>> {
    if paths.is_empty() {
        return Ok(None);
    }
    let mut keys = KeyLog::default();
    for path in paths {
        let name = path.display();
        let mut text = Vec::new();
        File::open(path)
            .and_then(|f| f.take(MAX_KEYLOG + 1).read_to_end(&mut text))
            .with_context(|| format!("cannot read the key log {name}"))?;
        anyhow::ensure!(
            text.len() as u64 <= MAX_KEYLOG,
            "{name}: larger than {} MiB, not a key log",
            MAX_KEYLOG >> 20
        );
        let read = keys.add(&text);
        for p in &read.problems {
            eprintln!("smtpcap: {name}: line {}: {} (skipped)", p.line, p.what);
        }
        if read.skipped > read.problems.len() {
            eprintln!(
                "smtpcap: {name}: {} more lines skipped",
                read.skipped - read.problems.len()
            );
        }
        anyhow::ensure!(
            read.secrets > 0,
            "{name}: no TLS secret in it; a key log (SSLKEYLOGFILE) has lines like \
             `CLIENT_RANDOM <64 hex digits> <96 hex digits>` or \
             `SERVER_TRAFFIC_SECRET_0 <64 hex digits> <hex>`"
        );
    }
    Ok(Some(Arc::new(keys)))
}

/// The width to fit: `COLUMNS` when set, else the terminal's, else the text view's default.
pub(crate) fn columns() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
        .unwrap_or(smtpcap::DEFAULT_WIDTH)
}

/// Where `--annotate PATH` writes: the file itself for one capture named directly, else
/// a directory (made if missing): PATH is one already, or several captures or a folder
/// were given. Standard input and a PATH that is one of the inputs are refused.
fn annotate_target(
    path: Option<&std::path::Path>,
    given: &[std::path::PathBuf],
    inputs: &[batch::Input],
) -> anyhow::Result<Option<batch::Annotate>> {
    let Some(path) = path else { return Ok(None) };
    anyhow::ensure!(
        inputs.iter().all(|i| i.path.as_os_str() != "-"),
        "--annotate cannot copy standard input: the capture is read twice (once to analyse it, once to copy it); save it to a file first"
    );
    let same = |a: &std::path::Path, b: &std::path::Path| {
        a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    };
    anyhow::ensure!(
        !inputs.iter().any(|i| same(&i.path, path)),
        "--annotate {}: that is one of the captures; give another file",
        path.display()
    );
    if inputs.len() == 1 && !path.is_dir() && !given.iter().any(|g| g.is_dir()) {
        return Ok(Some(batch::Annotate::File(path.to_path_buf())));
    }
    std::fs::create_dir_all(path)
        .with_context(|| format!("cannot create the directory {}", path.display()))?;
    Ok(Some(batch::Annotate::Dir(path.to_path_buf())))
}

fn analyze(args: &AnalyzeArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let batch::Expanded { inputs, skipped } = batch::expand(&args.paths);
    anyhow::ensure!(
        !inputs.is_empty(),
        "no capture file found in the paths given{}",
        if skipped.is_empty() {
            String::new()
        } else {
            format!(" ({})", batch::skipped_line(skipped.len()))
        }
    );
    let skipped = batch::Skipped {
        files: skipped,
        listed: args.verbose,
    };
    let many = inputs.len() > 1;
    let format = match args.format {
        Format::Text => smtpcap::Format::Text(TextOptions {
            transcript: args.transcript,
            color,
            width: columns(),
        }),
        Format::Json => smtpcap::Format::Json,
        Format::Jsonl => smtpcap::Format::Jsonl,
        Format::Markdown => smtpcap::Format::Markdown,
        // Several captures on standard output share one page and one header row.
        Format::Html if many && args.output_dir.is_none() => smtpcap::Format::HtmlSection,
        Format::Html => smtpcap::Format::Html,
        Format::Csv => smtpcap::Format::Csv {
            header: !many || args.output_dir.is_some(),
        },
    };
    let run = batch::Run {
        format,
        min_severity: args.min_severity,
        hosts: args.host.clone(),
        keys: read_keylogs(&args.keylog)?,
        annotate: annotate_target(args.annotate.as_deref(), &args.paths, &inputs)?,
        embed_keys: args.embed_keys,
    };
    let jobs = args.jobs.unwrap_or_else(rayon::current_num_threads).max(1);
    if let ([input], None, false, true) = (
        inputs.as_slice(),
        &args.output_dir,
        args.summary_only,
        skipped.files.is_empty(),
    ) {
        // One capture: its report goes straight out, nothing to hold back for order.
        let mut buffered = io::BufWriter::with_capacity(64 << 10, out);
        let (r, written) = batch::run_one_into(input, &run, &mut buffered);
        if let Some(e) = &r.error {
            eprintln!("smtpcap: {}: {e}", r.file);
        }
        // CSV rows end their own lines.
        let end: &[u8] = if args.format == Format::Csv {
            b""
        } else {
            b"\n"
        };
        let written = written
            .and_then(|()| buffered.write_all(end))
            .and_then(|()| buffered.flush());
        written_or_closed(written).with_context(|| r.file.clone())?;
        return Ok(r.status);
    }
    let mut status = Status::Ok;
    let mut results: Vec<CaptureResult> = Vec::new();
    let progress = batch::Progress::new(inputs.len());
    let mut output =
        output::Output::new(out, args.format, args.output_dir.clone(), args.summary_only)
            .with_context(|| {
                format!(
                    "cannot write to {}",
                    args.output_dir
                        .as_deref()
                        .unwrap_or(std::path::Path::new("-"))
                        .display()
                )
            })?;
    if !written_or_closed(output.begin())? {
        return Ok(status);
    }
    for mut r in batch::Batch::new(&inputs, &run, jobs, &progress)? {
        if let Some(e) = &r.error {
            progress.note(&format!("smtpcap: {}: {e}", r.file));
        }
        status = status.max(r.status);
        match written_or_closed(output.capture(&mut r)) {
            Ok(true) => results.push(r),
            Ok(false) => return Ok(status),
            Err(e) => {
                progress.note(&format!("smtpcap: {}: {e:#}", r.file));
                return Ok(Status::Trouble);
            }
        }
    }
    progress.finish();
    written_or_closed(output.end(&results, &skipped, columns()))?;
    Ok(status)
}
