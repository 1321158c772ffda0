//! The `smtpcap` command: a thin layer over the library.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use smtpcap::analysis::analyze_path;
use smtpcap::diagnosis::{diagnose, CATALOGUE};
use smtpcap::report::{to_json, to_text};

/// Explain why scan-to-email fails, from a packet capture.
#[derive(Parser)]
#[command(name = "smtpcap", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse captures (pcap, pcapng, gzip; `-` reads standard input).
    Analyze {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Capture files; `-` for standard input.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List the findings smtpcap can report (see docs/findings.md).
    Findings,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Exit statuses, as linters use them: 0 no error finding, 1 an error finding, 2 a capture
/// could not be read (the worst wins).
const EXIT_OK: u8 = 0;
const EXIT_FINDINGS: u8 = 1;
const EXIT_UNREADABLE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Analyze { format, paths } => analyze(format, &paths),
        Command::Findings => {
            for k in CATALOGUE {
                println!("{:<26} {:<8} {}", k.id, k.severity.name(), k.title);
            }
            ExitCode::from(EXIT_OK)
        }
    }
}

fn analyze(format: Format, paths: &[PathBuf]) -> ExitCode {
    let mut status = EXIT_OK;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (i, path) in paths.iter().enumerate() {
        let analysis = analyze_path(path);
        let diagnosis = diagnose(&analysis);
        if let Some(e) = &analysis.error {
            eprintln!(
                "smtpcap: {}: at byte {}: {}",
                analysis.file, e.offset, e.message
            );
            status = EXIT_UNREADABLE;
        } else if diagnosis.has_errors() {
            status = status.max(EXIT_FINDINGS);
        }
        let rendered = match format {
            Format::Text => to_text(&analysis, &diagnosis),
            Format::Json => to_json(&analysis, &diagnosis),
        };
        let sep = if i > 0 && matches!(format, Format::Text) {
            "\n"
        } else {
            ""
        };
        if writeln!(out, "{sep}{rendered}").is_err() {
            // Reader went away (a closed pipe): stop quietly.
            return ExitCode::from(status);
        }
    }
    ExitCode::from(status)
}
