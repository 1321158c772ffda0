//! Every flag of the command, in one place.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};
use smtpcap::Severity;

/// Explain why scan-to-email fails, from a packet capture.
#[derive(Parser)]
#[command(name = "smtpcap", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
pub struct AnalyzeArgs {
    /// Output format: text for a person, markdown or html for a ticket, json / jsonl for
    /// tools, csv (one row per session) for a spreadsheet.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Show each conversation's full transcript (text format).
    #[arg(long)]
    pub transcript: bool,
    /// Keep only the sessions of this device or server (an IP address or a CIDR range; repeatable).
    #[arg(long, value_name = "IP|CIDR", value_parser = parse_host)]
    pub host: Vec<ipnet::IpNet>,
    /// TLS secrets in the NSS key log format (`SSLKEYLOGFILE`) to decrypt the dialogue
    /// after STARTTLS (repeatable); the secrets a pcapng file carries are used as well.
    #[arg(long, value_name = "FILE")]
    pub keylog: Vec<PathBuf>,
    /// List only findings of this severity or worse.
    #[arg(
        long,
        default_value = "info",
        value_parser = PossibleValuesParser::new(Severity::ALL.map(Severity::name))
            .try_map(|s| s.parse::<Severity>())
    )]
    pub min_severity: Severity,
    /// Colour in the text format.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Write each capture's report to a file in DIR (named after the capture; an
    /// index.html with html); the summary goes to standard output.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Print only the summary of the run (worst first, captures per cause).
    #[arg(long)]
    pub summary_only: bool,
    /// Captures analysed at once (default: one per core).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Capture files or directories; `-` for standard input.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Jsonl,
    Markdown,
    Html,
    Csv,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// An IP address or a CIDR range.
fn parse_host(h: &str) -> Result<ipnet::IpNet, String> {
    h.parse::<ipnet::IpNet>()
        .or_else(|_| h.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{h}` is not an IP address or CIDR range"))
}
