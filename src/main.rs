//! The `smtpcap` command: a thin layer over the library.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use smtpcap::batch::{
    expand, run_one, run_one_into, summary_table, CaptureResult, OutputFormat, RunOptions, EXIT_OK,
    EXIT_UNREADABLE,
};
use smtpcap::diagnosis::{Severity, CATALOGUE};
use smtpcap::report::TextOptions;

/// Explain why scan-to-email fails, from a packet capture.
#[derive(Parser)]
#[command(name = "smtpcap", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse captures: files and directories (searched recursively, captures recognised
    /// by content); `-` reads standard input.
    Analyze(AnalyzeArgs),
    /// List the findings smtpcap can report (see docs/findings.md).
    Findings,
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// Output format: text for a person, markdown for a ticket, json / jsonl for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Show each conversation's full transcript (text format).
    #[arg(long)]
    transcript: bool,
    /// Keep only the sessions of this device or server (an IP address or a CIDR range; repeatable).
    #[arg(long, value_name = "IP|CIDR")]
    host: Vec<String>,
    /// List only findings of this severity or worse.
    #[arg(long, value_enum, default_value_t = MinSeverity::Info)]
    min_severity: MinSeverity,
    /// Colour in the text format.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Captures analysed at once (default: one per core).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Capture files or directories; `-` for standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
    Jsonl,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum MinSeverity {
    Error,
    Warning,
    Info,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Analyze(args) => analyze(args),
        Command::Findings => {
            for k in CATALOGUE {
                println!("{:<26} {:<8} {}", k.id, k.severity.name(), k.title);
            }
            ExitCode::from(EXIT_OK)
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "smtpcap",
                &mut std::io::stdout(),
            );
            ExitCode::from(EXIT_OK)
        }
        Command::Man => {
            let page = clap_mangen::Man::new(Cli::command());
            if page.render(&mut std::io::stdout()).is_err() {
                return ExitCode::from(2);
            }
            ExitCode::from(EXIT_OK)
        }
    }
}

fn analyze(args: AnalyzeArgs) -> ExitCode {
    let mut hosts = Vec::new();
    for h in &args.host {
        let net = h
            .parse::<ipnet::IpNet>()
            .or_else(|_| h.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
        match net {
            Ok(n) => hosts.push(n),
            Err(_) => {
                eprintln!("smtpcap: --host {h}: not an IP address or CIDR range");
                return ExitCode::from(2);
            }
        }
    }
    let stdout_tty = std::io::stdout().is_terminal();
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => stdout_tty && std::env::var_os("NO_COLOR").is_none(),
    };
    let format = match args.format {
        Format::Text => OutputFormat::Text,
        Format::Json => OutputFormat::Json,
        Format::Jsonl => OutputFormat::Jsonl,
        Format::Markdown => OutputFormat::Markdown,
    };
    let opts = RunOptions {
        format,
        text: TextOptions {
            transcript: args.transcript,
            color,
        },
        hosts,
        min_severity: match args.min_severity {
            MinSeverity::Error => Severity::Error,
            MinSeverity::Warning => Severity::Warning,
            MinSeverity::Info => Severity::Info,
        },
    };
    let inputs = expand(&args.paths);
    if inputs.is_empty() {
        eprintln!("smtpcap: no capture file found in the paths given");
        return ExitCode::from(2);
    }
    let jobs = args.jobs.unwrap_or_else(rayon::current_num_threads).max(1);
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("smtpcap: cannot start worker threads: {e}");
            return ExitCode::from(2);
        }
    };
    let progress = (inputs.len() > 1 && std::io::stderr().is_terminal()).then(|| {
        let pb = ProgressBar::new(inputs.len() as u64);
        pb.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} captures {elapsed_precise} {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb
    });

    let mut status = EXIT_OK;
    let mut results: Vec<CaptureResult> = Vec::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let [input] = inputs.as_slice() {
        // One capture: its report goes straight out, nothing to hold back for order.
        let mut buffered = std::io::BufWriter::with_capacity(64 << 10, &mut out);
        let (r, written) = run_one_into(input, &opts, &mut buffered);
        let written = written
            .and_then(|()| buffered.write_all(b"\n"))
            .and_then(|()| buffered.flush());
        if let Some(e) = &r.error {
            eprintln!("smtpcap: {}: {e}", r.file);
        }
        return match written {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                eprintln!("smtpcap: {}: cannot write the report: {e}", r.file);
                ExitCode::from(EXIT_UNREADABLE)
            }
            // A closed pipe: the reader went away.
            _ => ExitCode::from(r.status),
        };
    }
    // Chunks keep the output in input order while every core works, and bound memory.
    for chunk in inputs.chunks(jobs * 4) {
        let done: Vec<CaptureResult> = pool.install(|| {
            chunk
                .par_iter()
                .map(|input| {
                    let r = run_one(input, &opts);
                    if let Some(pb) = &progress {
                        pb.set_message(r.file.clone());
                        pb.inc(1);
                    }
                    r
                })
                .collect()
        });
        for mut r in done {
            if let Some(e) = &r.error {
                let line = format!("smtpcap: {}: {e}", r.file);
                match &progress {
                    Some(pb) => pb.println(line),
                    None => eprintln!("{line}"),
                }
            }
            status = status.max(r.status);
            let sep = if !results.is_empty()
                && matches!(format, OutputFormat::Text | OutputFormat::Markdown)
            {
                "\n"
            } else {
                ""
            };
            let rendered = std::mem::take(&mut r.rendered);
            let written = out
                .write_all(sep.as_bytes())
                .and_then(|()| rendered.drain(&mut |piece| out.write_all(piece)))
                .and_then(|()| out.write_all(b"\n"));
            if let Err(e) = written {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    eprintln!("smtpcap: {}: cannot write the report: {e}", r.file);
                    status = status.max(EXIT_UNREADABLE);
                }
                // A closed pipe: the reader went away; stop quietly.
                return ExitCode::from(status);
            }
            results.push(r);
        }
    }
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    if results.len() > 1 && format == OutputFormat::Text {
        let _ = writeln!(
            out,
            "\n== Summary of {} captures\n{}",
            results.len(),
            summary_table(&results)
        );
    }
    ExitCode::from(status)
}
