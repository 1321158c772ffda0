//! Helpers shared by the integration tests.
#![allow(dead_code)]

/// Says why a test did not run, where `cargo test` shows it: libtest captures `eprintln!`
/// in passing tests, not writes to the stderr handle.
pub fn skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

pub mod craft;

use std::path::{Path, PathBuf};

use smtpcap::internals::analysis::{analyze_path, Analysis};
use smtpcap::internals::dialogue::{BodyKind, EntryKind};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The captures in `samples/` and its folders `scenarios/`, `postfix/`, `inside-tls/`,
/// `keylog/`, `postfix-sasl/` and `retries/`, as paths
/// relative to the package root.
pub fn samples() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in [
        "samples",
        "samples/scenarios",
        "samples/postfix",
        "samples/inside-tls",
        "samples/keylog",
        "samples/postfix-sasl",
        "samples/retries",
    ] {
        for e in std::fs::read_dir(root().join(dir))
            .expect("samples/ exists")
            .flatten()
        {
            let p = e.path();
            if is_capture(&p) {
                v.push(PathBuf::from(dir).join(p.file_name().unwrap()));
            }
        }
    }
    v.sort();
    v
}

/// A capture (or a gzip file, which the shared folders hold only of captures), by its
/// first bytes, as the command recognises one.
pub fn is_capture(p: &Path) -> bool {
    let mut head = [0u8; 4];
    std::fs::File::open(p)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && smtpcap::sniff(&head).is_some()
}

/// `../shared/captures/public`, or `None` (with a note on stderr) where it is not beside
/// the checkout.
pub fn public_dir() -> Option<PathBuf> {
    let dir = root().join("../shared/captures/public");
    if dir.is_dir() {
        Some(dir)
    } else {
        skipped(&format!(
            "{} not found (the shared captures are not beside this checkout)",
            dir.display()
        ));
        None
    }
}

pub fn public_captures() -> Vec<PathBuf> {
    let Some(dir) = public_dir() else {
        return Vec::new();
    };
    captures_under(dir)
}

/// Both shared sets: `../shared/captures/public` and `public2` (40 more, from 9 projects).
pub fn all_public_captures() -> Vec<PathBuf> {
    let mut out = public_captures();
    let second = root().join("../shared/captures/public2");
    if second.is_dir() {
        out.extend(captures_under(second));
    } else {
        skipped(&format!("{} not found", second.display()));
    }
    out
}

/// The captures in a folder and its subfolders, sorted.
fn captures_under(dir: PathBuf) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if is_capture(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn analyze(path: &Path) -> Analysis {
    std::env::set_current_dir(root()).unwrap();
    analyze_path(path)
}

/// The key log recorded beside a sample (`NAME.keys`), read.
pub fn keylog_of(path: &Path) -> Option<smtpcap::KeyLog> {
    let text = std::fs::read(root().join(format!("{}.keys", path.display()))).ok()?;
    let mut keys = smtpcap::KeyLog::default();
    keys.add(&text);
    Some(keys)
}

/// Analyses `path` with the secrets of `keys`.
pub fn analyze_with(path: &Path, keys: smtpcap::KeyLog) -> Analysis {
    std::env::set_current_dir(root()).unwrap();
    let options = smtpcap::Options {
        digest: true,
        keys: Some(std::sync::Arc::new(keys)),
        ..smtpcap::Options::default()
    };
    smtpcap::Capture::open_with(path, &options)
        .expect("opens")
        .collect_all()
}

/// The samples recorded with a key log beside them.
pub fn keyed_samples() -> Vec<PathBuf> {
    samples()
        .into_iter()
        .filter(|p| root().join(format!("{}.keys", p.display())).is_file())
        .collect()
}

/// A session's dialogue without frames and times: what must not depend on how the
/// capture was taken. Gaps and unparsed bytes are left out.
pub fn content(a: &Analysis, session: usize) -> Vec<String> {
    a.sessions[session]
        .dialogue
        .iter()
        .filter_map(|e| {
            let who = format!("{:?}", e.from);
            Some(match &e.kind {
                EntryKind::Command {
                    command, argument, ..
                } => format!("{who} {command} {argument}"),
                EntryKind::Reply { code, lines, .. } => {
                    format!("{who} {code} {}", lines.join(" | "))
                }
                EntryKind::Status { status, lines, .. } => {
                    format!("{who} {status} {}", lines.join(" | "))
                }
                EntryKind::Auth { auth } => {
                    format!("{who} auth {:?} {}", auth.username, auth.redacted)
                }
                EntryKind::Body { body } => format!(
                    "{who} body {} {} {}",
                    if body.kind == BodyKind::Data {
                        "data"
                    } else {
                        "bdat"
                    },
                    body.bytes,
                    body.complete
                ),
                EntryKind::Tls { tls } => format!("{who} tls {}", tls.looks_like_tls),
                EntryKind::Gap { .. } | EntryKind::Unparsed { .. } => return None,
            })
        })
        .collect()
}

/// Every report of an analysis, with its diagnosis: text (with transcripts), JSON,
/// JSON Lines and Markdown.
pub fn render_all(a: &Analysis) -> Vec<String> {
    let d = smtpcap::internals::diagnosis::diagnose(a);
    let opts = smtpcap::internals::report::TextOptions {
        transcript: true,
        color: false,
        width: 0,
    };
    vec![
        smtpcap::internals::report::to_text(a, &d, &opts),
        smtpcap::internals::report::to_json(a, &d),
        smtpcap::internals::report::to_json_line(a, &d),
        smtpcap::internals::report::to_markdown(a, &d),
    ]
}

/// The text and JSON reports of an analysis.
pub fn render(a: &Analysis) -> (String, String) {
    let mut all = render_all(a);
    all.truncate(2);
    let json = all.pop().unwrap_or_default();
    (all.pop().unwrap_or_default(), json)
}

/// The diagnosis of one crafted SMTP conversation (`"C: …"` and `"S: …"` lines, see
/// [`craft::Capture::tcp`]) from a device at 192.168.1.50 to a server at 192.168.1.10:25.
pub fn diagnose_dialogue(turns: &[&str]) -> smtpcap::internals::diagnosis::Diagnosis {
    let pcap = craft::Capture::new()
        .tcp(([192, 168, 1, 50], 40000), ([192, 168, 1, 10], 25), turns)
        .pcap();
    let a = smtpcap::internals::analysis::analyze_bytes("crafted", std::io::Cursor::new(pcap));
    smtpcap::internals::diagnosis::diagnose(&a)
}

pub fn which(tool: &str) -> bool {
    std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}
