//! The `smtpcap` command: flags ([`args`]), which files a run reads and the batch around
//! them ([`batch`]); everything else is the library's.
#![forbid(unsafe_code)]

mod args;
mod batch;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use smtpcap::TextOptions;
use smtpcap::CATALOGUE;

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
        Command::Findings => CATALOGUE
            .iter()
            .try_for_each(|k| writeln!(out, "{:<26} {:<8} {}", k.id, k.severity.name(), k.title)),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "smtpcap", &mut out);
            Ok(())
        }
        Command::Man => clap_mangen::Man::new(Cli::command()).render(&mut out),
    };
    written_or_closed(written)?;
    Ok(Status::Ok)
}

/// A write that failed because the reader went away (`smtpcap … | head`) is no error:
/// `Ok(false)` says to stop quietly. The one place a closed pipe is handled.
fn written_or_closed(written: io::Result<()>) -> anyhow::Result<bool> {
    match written {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("cannot write the output"),
    }
}

fn analyze(args: &AnalyzeArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let format = match args.format {
        Format::Text => smtpcap::Format::Text(TextOptions {
            transcript: args.transcript,
            color,
        }),
        Format::Json => smtpcap::Format::Json,
        Format::Jsonl => smtpcap::Format::Jsonl,
        Format::Markdown => smtpcap::Format::Markdown,
    };
    let run = batch::Run {
        format,
        min_severity: args.min_severity,
        hosts: args.host.clone(),
    };
    let inputs = batch::expand(&args.paths);
    anyhow::ensure!(
        !inputs.is_empty(),
        "no capture file found in the paths given"
    );
    let jobs = args.jobs.unwrap_or_else(rayon::current_num_threads).max(1);
    if let [input] = inputs.as_slice() {
        // One capture: its report goes straight out, nothing to hold back for order.
        let mut buffered = io::BufWriter::with_capacity(64 << 10, out);
        let (r, written) = batch::run_one_into(input, &run, &mut buffered);
        if let Some(e) = &r.error {
            eprintln!("smtpcap: {}: {e}", r.file);
        }
        let written = written
            .and_then(|()| buffered.write_all(b"\n"))
            .and_then(|()| buffered.flush());
        written_or_closed(written).with_context(|| r.file.clone())?;
        return Ok(r.status);
    }
    let mut status = Status::Ok;
    let mut results: Vec<CaptureResult> = Vec::new();
    let progress = batch::Progress::new(inputs.len());
    for mut r in batch::Batch::new(&inputs, &run, jobs, &progress)? {
        if let Some(e) = &r.error {
            progress.note(&format!("smtpcap: {}: {e}", r.file));
        }
        status = status.max(r.status);
        let sep = !results.is_empty() && matches!(args.format, Format::Text | Format::Markdown);
        let report = std::mem::take(&mut r.report);
        let written = (|| {
            if sep {
                out.write_all(b"\n")?;
            }
            report.drain(&mut |piece| out.write_all(piece))?;
            out.write_all(b"\n")
        })();
        match written_or_closed(written) {
            Ok(true) => results.push(r),
            Ok(false) => return Ok(status),
            Err(e) => {
                progress.note(&format!("smtpcap: {}: {e:#}", r.file));
                return Ok(Status::Trouble);
            }
        }
    }
    progress.finish();
    if results.len() > 1 && args.format == Format::Text {
        let table = batch::summary_table(&results);
        let written = writeln!(out, "\n== Summary of {} captures\n{table}", results.len());
        written_or_closed(written)?;
    }
    Ok(status)
}
