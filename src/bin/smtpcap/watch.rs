//! `smtpcap watch`: a live capture (an interface, or a stream on standard input), each
//! conversation's verdict printed the moment it is over; at the end (Ctrl-C, `--duration`,
//! `--stop-after`, or the end of the input) the capture's summary and the kernel's count
//! of dropped packets.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use smtpcap::{
    Capture, Diagnoser, Finding, LiveHandle, Options, SessionDiagnosis, Severity, Tally,
    TextOptions,
};

use crate::args::{Color, WatchArgs, WatchFormat};
use crate::batch::Status;

pub fn watch(args: &WatchArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    let options = Options {
        hosts: args.host.clone(),
        digest: false,
        keys: crate::read_keylogs(&args.keylog)?,
    };
    let write = args.write.as_deref();
    let mut capture = open(args, &options)?;
    let live = capture.live_handle().context("not a live capture")?;
    let stopping = stop_on_signal_or_time(&live, args.duration)?;
    let name = capture.name().to_string();
    let status_line = io::stderr().is_terminal() && args.format == WatchFormat::Text;
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let over = Arc::new(AtomicBool::new(false));
    if status_line {
        let (live, done, name, over) = (live.clone(), done.clone(), name.clone(), over.clone());
        let start = Instant::now();
        std::thread::spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
            if over.load(Ordering::Relaxed) {
                return;
            }
            let (open, newest) = live.in_progress();
            let newest = newest.map(|n| format!(", newest {n}")).unwrap_or_default();
            eprint!(
                "\r\x1b[Klistening on {name}: {} conversations done, {open} in progress{newest}, {} s",
                done.load(Ordering::Relaxed),
                start.elapsed().as_secs()
            );
        });
    }
    let opts = TextOptions {
        transcript: args.transcript,
        color: match args.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        },
        width: crate::columns(),
    };
    let mut diagnoser = Diagnoser::default();
    let mut summary = Tally::default();
    let mut errors = Standing::default();
    for s in capture.by_ref() {
        let (sd, findings) = diagnoser.session(&s);
        errors.session(s.id, &sd, &findings);
        summary.session(&sd);
        for f in &findings {
            summary.finding(f);
        }
        let text = match args.format {
            WatchFormat::Text => smtpcap::session_text(&s, &sd, &findings, &opts),
            WatchFormat::Jsonl => smtpcap::session_json_line(&name, &s, &sd, &findings),
        };
        if status_line {
            eprint!("\r\x1b[K");
        }
        let written = writeln!(out, "{text}").and_then(|()| out.flush());
        if !crate::written_or_closed(written)? {
            live.stop();
            break;
        }
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if args.stop_after.is_some_and(|max| n >= max) {
            live.stop();
        }
    }
    let a = capture.finish();
    over.store(true, Ordering::Relaxed);
    let capture_findings = diagnoser.finish(&a);
    let errors = errors.any()
        || capture_findings
            .iter()
            .any(|f| f.severity == Severity::Error);
    if status_line {
        eprint!("\r\x1b[K");
    }
    let dropped = live
        .dropped()
        .map(|d| format!(", the kernel dropped {d} packets"))
        .unwrap_or_default();
    let ended = if stopping.load(Ordering::SeqCst) {
        "stopped"
    } else {
        "ended"
    };
    let by = match live.captured_with() {
        Some(smtpcap::CaptureWith::Dumpcap) => " (captured by dumpcap)",
        Some(_) => " (captured by libpcap)",
        None => "",
    };
    let mut head = format!(
        "== {name}{by} {ended}: {} frames, {} conversations{dropped}",
        live.frames(),
        done.load(Ordering::Relaxed)
    );
    if let Some(w) = write {
        let _ = write!(head, "; kept in {}", w.display());
    }
    if args.format == WatchFormat::Text {
        let mut first = Tally::default();
        for f in &capture_findings {
            first.finding(f);
        }
        let verdict = smtpcap::verdict_line(&first.then(&summary).verdict());
        crate::written_or_closed(writeln!(out, "{head}\n   VERDICT: {verdict}"))?;
    } else {
        eprintln!("{head}");
    }
    Ok(if a.error.is_some() {
        if let Some(e) = &a.error {
            eprintln!("smtpcap: {name}: at byte {}: {}", e.offset, e.message);
        }
        Status::Trouble
    } else if errors {
        Status::Findings
    } else {
        Status::Ok
    })
}

/// The capture `args` ask for: an interface, or the stream on standard input.
fn open(args: &WatchArgs, options: &Options) -> anyhow::Result<Capture> {
    let write = args.write.as_deref();
    Ok(match (&args.interface, &args.source) {
        (Some(iface), _) => Capture::watch_interface(
            iface,
            &args.bpf(),
            options,
            write,
            args.capture_with.into(),
        )?,
        (None, Some(p)) if p.as_os_str() == "-" => {
            Capture::watch_stream("-", io::stdin(), options, write)
                .context("standard input")?
        }
        (None, Some(p)) => anyhow::bail!(
            "{}: watch reads an interface (-i) or standard input (-); for a file, use `smtpcap analyze`",
            p.display()
        ),
        (None, None) => anyhow::bail!("nothing to watch: give -i IFACE or -"),
    })
}

/// Ctrl-C (a second one leaves at once) and `--duration` stop the capture; tells whether
/// it was stopped.
fn stop_on_signal_or_time(
    live: &LiveHandle,
    duration: Option<std::time::Duration>,
) -> anyhow::Result<Arc<AtomicBool>> {
    let stopping = Arc::new(AtomicBool::new(false));
    {
        let (live, stopping) = (live.clone(), stopping.clone());
        // A second Ctrl-C leaves at once.
        ctrlc::set_handler(move || {
            if stopping.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            live.stop();
        })
        .context("cannot catch Ctrl-C")?;
    }
    if let Some(d) = duration {
        let live = live.clone();
        std::thread::spawn(move || {
            std::thread::sleep(d);
            live.stop();
        });
    }
    Ok(stopping)
}

/// The errors that set the exit status as sessions go by: a failure's errors stand until a
/// later delivery supersedes it; a password that crossed in clear stands whatever comes.
#[derive(Default)]
struct Standing {
    /// Sessions whose errors stand, up to [`MAX_FAILING`].
    failing: Vec<usize>,
    /// Errors that stand whatever comes (and those past the bound).
    kept: bool,
}

const MAX_FAILING: usize = 10_000;

impl Standing {
    fn session(&mut self, id: usize, sd: &SessionDiagnosis, findings: &[Finding]) {
        if let Some(m) = &sd.attempt {
            self.failing
                .retain(|f| !m.supersedes.iter().any(|x| x.session == *f));
        }
        let mut errors = findings.iter().filter(|f| f.severity == Severity::Error);
        let Some(first) = errors.next() else { return };
        self.kept |= std::iter::once(first)
            .chain(errors)
            .any(Finding::stands_when_superseded);
        if self.failing.len() < MAX_FAILING {
            self.failing.push(id);
        } else {
            self.kept = true;
        }
    }

    fn any(&self) -> bool {
        self.kept || !self.failing.is_empty()
    }
}
