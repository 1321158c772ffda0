//! Every flag of the command, in one place.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};
use smtpcap::Severity;

/// Explain why scan-to-email fails, from a packet capture.
///
/// smtpcap reads pcap and pcapng captures (gzip too) of a copier or any SMTP client,
/// reassembles the TCP conversations, follows the SMTP (and POP3, DNS) dialogue up to
/// STARTTLS, what the TLS handshake shows and what the encrypted records' lengths tell,
/// and says what happened in each attempt, why, and what to change, with the frame
/// numbers to open in Wireshark and the server's replies quoted. Passwords seen in a
/// capture never appear in its output.
#[derive(Parser)]
#[command(name = "smtpcap", version = smtpcap::VERSION, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Analyse captures: files and directories (searched recursively, captures recognised
    /// by content); `-` reads standard input.
    Analyze(AnalyzeArgs),
    /// Watch the copier live: capture on an interface (`-i`), or read a capture stream on
    /// standard input (`-`), and print each conversation's verdict the moment it is over.
    Watch(WatchArgs),
    /// List the findings smtpcap can report (see docs/findings.md).
    Findings,
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): smtpcap(1), or a command's own (`smtpcap man watch` prints
    /// smtpcap-watch(1)).
    Man {
        /// The command whose page to print.
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
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
    /// Write a copy of each capture with the findings as comments on the frames they cite
    /// and the verdict in the section header (pcapng, for Wireshark): PATH is the file for
    /// one capture, a directory for several (`NAME.annotated.pcapng`).
    #[arg(long, value_name = "PATH")]
    pub annotate: Option<PathBuf>,
    /// With --annotate: write the --keylog lines of the capture's own TLS sessions into
    /// the copy (a Decryption Secrets Block). Anyone holding the copy can then read what
    /// was sent inside TLS, a password included.
    #[arg(long, requires = "annotate")]
    pub embed_keys: bool,
    /// Print only the summary of the run (worst first, captures per cause).
    #[arg(long)]
    pub summary_only: bool,
    /// Captures analysed at once (default: one per core).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// List the files in the directories given that were skipped as not captures.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Capture files or directories; `-` for standard input.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// What smtpcap analyses: SMTP, POP3 and DNS; 802.1Q-tagged frames and IP fragments
/// after the first (which carry no ports) pass too.
pub const DEFAULT_FILTER_PORTS: &str = "tcp port 25 or tcp port 587 or tcp port 465 or tcp port 2525 or tcp port 110 or tcp port 995 or port 53";

#[derive(clap::Args)]
pub struct WatchArgs {
    /// Capture on this interface: with libpcap when smtpcap may (root, or `CAP_NET_RAW`),
    /// else through Wireshark's dumpcap (for members of the `wireshark` group).
    #[arg(short = 'i', long, value_name = "IFACE", conflicts_with = "source")]
    pub interface: Option<String>,
    /// How to capture on the interface: auto (libpcap if smtpcap may, else dumpcap),
    /// libpcap (in smtpcap itself), dumpcap (smtpcap never holds capture rights).
    #[arg(long, value_enum, default_value_t = CaptureWith::Auto, requires = "interface")]
    pub capture_with: CaptureWith,
    /// `-`: read a pcap or pcapng stream from standard input (`tcpdump -w - | smtpcap watch -`).
    #[arg(value_name = "-", required_unless_present = "interface")]
    pub source: Option<PathBuf>,
    /// Capture filter (BPF) instead of the default: SMTP, POP3 and DNS ports, VLAN-tagged
    /// frames and IP fragments.
    #[arg(long, value_name = "BPF")]
    pub filter: Option<String>,
    /// Follow only this device or server (an IP address or a CIDR range; repeatable).
    #[arg(long, value_name = "IP|CIDR", value_parser = parse_host)]
    pub host: Vec<ipnet::IpNet>,
    /// text: each verdict as it comes; jsonl: one JSON object per finished session.
    #[arg(long, value_enum, default_value_t = WatchFormat::Text)]
    pub format: WatchFormat,
    /// Print each conversation's transcript with its verdict.
    #[arg(long)]
    pub transcript: bool,
    /// Keep what was captured in this pcapng file (to analyse again, to attach).
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Stop after this many conversations.
    #[arg(long, value_name = "N")]
    pub stop_after: Option<usize>,
    /// Stop after this long (`90`, `90s`, `5m`, `1h`).
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// TLS secrets (NSS key log) to decrypt the dialogue after STARTTLS.
    #[arg(long, value_name = "FILE")]
    pub keylog: Vec<PathBuf>,
    /// Colour in the text view.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

impl WatchArgs {
    /// The capture filter: the one given, or the default narrowed to the hosts followed.
    pub fn bpf(&self) -> String {
        if let Some(f) = &self.filter {
            return f.clone();
        }
        let f = DEFAULT_FILTER_PORTS;
        let base = format!("({f}) or (vlan and ({f})) or (ip[6:2] & 0x1fff != 0)");
        if self.host.is_empty() {
            return base;
        }
        let hosts: Vec<String> = self.host.iter().map(|h| format!("net {h}")).collect();
        let hosts = hosts.join(" or ");
        format!("({base}) and (({hosts}) or (vlan and ({hosts})))")
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CaptureWith {
    Auto,
    Libpcap,
    Dumpcap,
}

impl From<CaptureWith> for smtpcap::CaptureWith {
    fn from(c: CaptureWith) -> Self {
        match c {
            CaptureWith::Auto => smtpcap::CaptureWith::Auto,
            CaptureWith::Libpcap => smtpcap::CaptureWith::Libpcap,
            CaptureWith::Dumpcap => smtpcap::CaptureWith::Dumpcap,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WatchFormat {
    Text,
    Jsonl,
}

/// Seconds, or a number with `s`, `m` or `h`.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let (n, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (90, 90s, 5m, 1h)"))?;
    let secs = match unit {
        's' => n,
        'm' => n * 60,
        'h' => n * 3600,
        _ => return Err(format!("`{s}`: the unit is s, m or h")),
    };
    Ok(std::time::Duration::from_secs(secs))
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
