//! Live capture through Wireshark's `dumpcap`, as Wireshark itself captures: only dumpcap
//! holds capture rights (Debian installs it root:wireshark 0750 with `cap_net_raw` and
//! `cap_net_admin`), and smtpcap, which parses what hostile hosts send, reads the pcapng
//! dumpcap writes to a pipe without holding any.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::live::{self, CaptureWith, LiveCounters, LiveParts};
use super::live_error::{Dumpcap, LiveError};
use crate::capture::{CaptureError, CaptureErrorKind};

/// How often the stop switch is looked at.
const STOP_POLL: Duration = Duration::from_millis(50);
/// How long dumpcap is given to end once its stream has closed.
const END_GRACE: Duration = Duration::from_secs(2);
/// dumpcap's standard error kept: its last lines (an error, the closing statistics).
const STDERR_LINES: usize = 64;

/// `dumpcap` on the search path.
pub(crate) fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("dumpcap"))
        .find(|p| p.is_file())
}

/// Captures on `iface` through the BPF `filter` with `dumpcap` (the one at `path`).
pub(crate) fn capture(
    path: &Path,
    iface: &str,
    filter: &str,
    write: Option<&Path>,
) -> Result<LiveParts, LiveError> {
    // -q: no running count on standard error; the closing statistics still come.
    let mut child = Command::new(path)
        .args(["-q", "-i", iface, "-f", filter, "-w", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => LiveError::NoRights {
                interface: iface.to_string(),
                dumpcap: Dumpcap::NotAllowed(path.to_path_buf()),
            },
            _ => LiveError::Other(iface.to_string(), format!("{}: {e}", path.display())),
        })?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        unreachable!("both were asked to be piped")
    };
    let stderr = keep_stderr(stderr);
    let end = Ending {
        child,
        stderr,
        path: path.to_path_buf(),
    };
    // The stream's header comes once dumpcap captures; when it cannot, it says why on
    // standard error and the stream ends before its header.
    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(LiveCounters {
        captured_with: Some(CaptureWith::Dumpcap),
        ..LiveCounters::default()
    });
    let ending = Arc::new(std::sync::Mutex::new(Some(end)));
    // Whoever comes first (the stream's end, or its refusal to start) takes dumpcap.
    let take = |ending: &std::sync::Mutex<Option<Ending>>| ending.lock().ok()?.take();
    let on_end = {
        let (ending, counters, stop) = (ending.clone(), counters.clone(), stop.clone());
        move |error: Option<CaptureError>| match take(&ending) {
            Some(end) => end.finish(error, &counters, stop.load(Ordering::Relaxed)),
            None => error,
        }
    };
    let parts = match live::stream_parts(
        Box::new(stdout),
        write,
        stop,
        counters,
        "live capture (dumpcap)",
        on_end,
    ) {
        Ok(parts) => parts,
        Err(e) => {
            return Err(match take(&ending) {
                Some(end) => end.refused(iface, filter, e),
                None => LiveError::Other(iface.to_string(), e.to_string()),
            });
        }
    };
    stop_when_asked(ending, parts.stop.clone());
    Ok(parts)
}

/// dumpcap, once its stream has ended or would not start.
struct Ending {
    child: Child,
    stderr: JoinHandle<Vec<String>>,
    path: PathBuf,
}

impl Ending {
    /// What dumpcap said, once it has ended: it is given [`END_GRACE`] to end by itself
    /// (its stream has closed), and is then ended.
    fn said(mut self) -> (Vec<String>, Option<std::process::ExitStatus>) {
        let start = std::time::Instant::now();
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if start.elapsed() < END_GRACE => std::thread::sleep(STOP_POLL),
                _ => {
                    let _ = self.child.kill();
                    break self.child.wait().ok();
                }
            }
        };
        (self.stderr.join().unwrap_or_default(), status)
    }

    /// Why the stream would not start, from what dumpcap said.
    fn refused(self, iface: &str, filter: &str, e: CaptureError) -> LiveError {
        let path = self.path.clone();
        let (lines, _) = self.said();
        let said = first_error(&lines);
        match said.as_deref() {
            Some(s) if s.contains("permission") => LiveError::NoRights {
                interface: iface.to_string(),
                dumpcap: Dumpcap::NoRights(path),
            },
            Some(s) if s.contains("There is no device named") => {
                LiveError::NoInterface(iface.to_string())
            }
            Some(s) if s.contains("Invalid capture filter") => {
                let why = lines
                    .iter()
                    .find_map(|l| l.split_once("valid capture filter (").map(|(_, r)| r))
                    .map_or("dumpcap refused it", |r| r.trim_end_matches(['.', ')']));
                LiveError::Filter(filter.to_string(), why.to_string())
            }
            Some(s) => LiveError::Other(iface.to_string(), s.to_string()),
            None => LiveError::Other(
                iface.to_string(),
                format!("{} wrote no capture: {e}", path.display()),
            ),
        }
    }

    /// The end of the stream: the kernel's drop count from dumpcap's closing statistics,
    /// and dumpcap's own error when it ended by itself and failed.
    fn finish(
        self,
        error: Option<CaptureError>,
        counters: &LiveCounters,
        stopped: bool,
    ) -> Option<CaptureError> {
        let (lines, status) = self.said();
        if let Some(dropped) = lines.iter().find_map(|l| dropped(l)) {
            counters.dropped.store(dropped, Ordering::Relaxed);
            counters.dropped_known.store(true, Ordering::Relaxed);
        }
        if error.is_some() || stopped || status.is_none_or(|s| s.success()) {
            return error;
        }
        let said = first_error(&lines).unwrap_or_else(|| format!("dumpcap ended: {status:?}"));
        Some(CaptureError::new(
            0,
            CaptureErrorKind::Io(std::io::Error::other(said)),
        ))
    }
}

/// Reads dumpcap's standard error as it comes (so that dumpcap never blocks on it),
/// keeping the last lines.
fn keep_stderr(stderr: ChildStderr) -> JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut kept = std::collections::VecDeque::new();
        for line in BufReader::new(stderr.take(1 << 24)).lines() {
            let Ok(line) = line else { break };
            if kept.len() == STDERR_LINES {
                kept.pop_front();
            }
            kept.push_back(line);
        }
        kept.into()
    })
}

/// Signals dumpcap to end once the capture is stopped (it then writes its statistics
/// and closes the stream, which ends the capture).
fn stop_when_asked(ending: Arc<std::sync::Mutex<Option<Ending>>>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || loop {
        std::thread::sleep(STOP_POLL);
        let Ok(end) = ending.lock() else { return };
        let Some(end) = end.as_ref() else { return };
        if stop.load(Ordering::Relaxed) {
            terminate(&end.child);
            return;
        }
    });
}

/// Asks dumpcap to end (SIGTERM: it closes the stream and writes its statistics).
#[cfg(unix)]
fn terminate(child: &Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

/// Elsewhere the stream's end is awaited (for up to [`END_GRACE`]) and dumpcap then ended.
#[cfg(not(unix))]
fn terminate(_: &Child) {}

/// dumpcap's first line that says what went wrong (`dumpcap: …`), without the prefix.
fn first_error(lines: &[String]) -> Option<String> {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("dumpcap: "))
        .map(str::to_string)
}

/// The packets dropped, from dumpcap's closing line
/// `Packets received/dropped on interface 'lo': 6/0 (pcap:0/dumpcap:0/flushed:0/ps_ifdrop:0) (100.0%)`:
/// the dropped count (libpcap's, dumpcap's and those flushed), plus what the interface
/// itself dropped (`ps_ifdrop`), as the libpcap path counts them.
fn dropped(line: &str) -> Option<u64> {
    let counts = line.strip_prefix("Packets received/dropped on interface ")?;
    let counts = &counts[counts.rfind("': ")? + 3..];
    let (_, rest) = counts.split_once('/')?;
    let digits = |s: &str| -> Option<u64> {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        s[..end].parse().ok()
    };
    let dropped = digits(rest)?;
    let by_interface = rest
        .split_once("ps_ifdrop:")
        .and_then(|(_, n)| digits(n))
        .unwrap_or(0);
    Some(dropped + by_interface)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drop_count_is_read_from_dumpcaps_closing_line() {
        let line = "Packets received/dropped on interface 'Loopback: lo': 6/0 \
                    (pcap:0/dumpcap:0/flushed:0/ps_ifdrop:0) (100.0%)";
        assert_eq!(dropped(line), Some(0));
        let line = "Packets received/dropped on interface 'eth0': 84/3 \
                    (pcap:1/dumpcap:2/flushed:0/ps_ifdrop:5) (96.6%)";
        assert_eq!(dropped(line), Some(8));
        // Older dumpcap: no breakdown.
        let line = "Packets received/dropped on interface 'Loopback: lo': 8/2 (80.0%)";
        assert_eq!(dropped(line), Some(2));
        // An interface name with a quote and a colon in it.
        let line = "Packets received/dropped on interface 'a': b': 10/1 (90.0%)";
        assert_eq!(dropped(line), Some(1));
        assert_eq!(dropped("Packets captured: 6"), None);
        assert_eq!(
            dropped("Packets received/dropped on interface 'lo': x/y"),
            None
        );
    }

    #[test]
    fn dumpcaps_refusals_are_told_apart() {
        let lines = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
        let said = lines(
            "Capturing on 'Loopback: lo'\n\
             dumpcap: You do not have permission to capture on device \"lo\".\n\
             (socket: Operation not permitted)",
        );
        assert_eq!(
            first_error(&said).as_deref(),
            Some("You do not have permission to capture on device \"lo\".")
        );
        assert_eq!(first_error(&lines("Capturing on 'lo'\nFile: -")), None);
    }
}
