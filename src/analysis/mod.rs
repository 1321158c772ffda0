//! Stage 5: one capture, end to end: frames → packets → conversations → dialogues.
//!
//! [`Capture`] reads a capture and hands on its sessions as an iterator; the work is done
//! by a `Pipeline` that takes frames and clock ticks and has no input of its own, so a
//! live source can drive it as well as a file.

mod app;
mod capture;
mod dumpcap;
mod live;
mod live_error;
mod pipeline;
mod session;

use crate::base::{Endpoint, Timestamp};
use crate::capture::{CaptureError, FileDigest};
use crate::dns::Lookup;
use crate::packet::DecodeStats;
use crate::tcp::TableStats;

pub use app::{is_server_port, App, Dialogue, Protocol};
pub use capture::{Capture, LiveHandle, Options};
pub use live::{CaptureWith, LiveCounters, TICK};
pub use live_error::{Dumpcap, LiveError};
pub use session::{DnsName, Session};

/// Everything smtpcap learned from one capture.
#[derive(Debug)]
pub struct Analysis {
    /// The capture's name as given (its path, or `-`).
    pub file: String,
    /// The format's name ([`crate::CaptureFormat::name`]); null when the file could not be read at all.
    pub format: Option<&'static str>,
    /// `gzip` when the file was compressed.
    pub compression: Option<&'static str>,
    /// The link types of the capture's interfaces (`ETHERNET`, `LINUX_SLL2`, …).
    pub link_types: Vec<String>,
    /// Frames read.
    pub packets: u64,
    /// Time stamp of the first frame.
    pub first_time: Option<Timestamp>,
    /// Time stamp of the last frame.
    pub last_time: Option<Timestamp>,
    /// Why the capture could not be read to its end (what was read is still analysed).
    pub error: Option<CaptureProblem>,
    /// What the packet decoder counted (non-IP frames, fragments, damaged headers, …).
    pub decode: DecodeStats,
    /// What the TCP conversation table counted.
    pub tcp: TableStats,
    /// DNS lookups (UDP port 53).
    pub dns: Vec<Lookup>,
    /// Connection attempts that carried no data, beyond the first thousand listed as
    /// sessions (a SYN flood must not fill memory).
    pub attempts_not_listed: u64,
    /// Sessions numbered before an older conversation that was still open (more than
    /// 256 finished sessions waited for it); normally 0 and then not serialised.
    pub sessions_out_of_order: u64,
    /// Serialised by the report, next to each session's diagnosis.
    pub sessions: Vec<Session>,
    /// Passwords seen in the clear; never serialised, used to scrub every output.
    pub secrets: Vec<String>,
    /// The file's size and SHA-256, when asked for ([`Options::digest`]).
    pub digest: Option<FileDigest>,
}

/// Why a capture could not be read to its end.
#[derive(Debug)]
pub struct CaptureProblem {
    /// Byte offset in the (decompressed) capture.
    pub offset: u64,
    /// What is wrong there.
    pub message: String,
}

impl From<&CaptureError> for CaptureProblem {
    fn from(e: &CaptureError) -> Self {
        CaptureProblem {
            offset: e.offset,
            message: e.kind.to_string(),
        }
    }
}

impl Analysis {
    /// What was dropped or cut short to keep memory bounded, one sentence each (none for
    /// an ordinary capture).
    pub fn bounds_reached(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.tcp.evicted_full > 0 {
            out.push(format!(
                "{} conversations were closed early because more than 32,768 were open at once",
                self.tcp.evicted_full
            ));
        }
        if self.attempts_not_listed > 0 {
            out.push(format!(
                "{} connection attempts without data were counted but not listed (beyond the first 1,000)",
                self.attempts_not_listed
            ));
        }
        if self.sessions_out_of_order > 0 {
            out.push(format!(
                "{} sessions were numbered before an older conversation that stayed open",
                self.sessions_out_of_order
            ));
        }
        out
    }

    /// `2026-11-27 08:53:47.654723 to 2026-11-27 08:53:47.657944 UTC (0.0 s)`.
    pub fn time_span(&self) -> Option<String> {
        let (f, l) = (self.first_time?, self.last_time?);
        Some(format!(
            "{} to {} UTC ({:.1} s)",
            f.utc_string(),
            l.utc_string(),
            l.since(f)
        ))
    }

    /// Keeps only the sessions (and DNS lookups) of hosts in `nets`: a device or a server.
    pub fn retain_hosts(&mut self, nets: &[ipnet::IpNet]) {
        self.sessions
            .retain(|s| involves_hosts(nets, &s.client, &s.server));
        self.dns
            .retain(|l| involves_hosts(nets, &l.client, &l.server));
    }

    /// What a report says of a capture that could not be opened.
    #[must_use]
    pub fn unreadable(file: String, e: &CaptureError) -> Self {
        pipeline::Pipeline::default().summary(file, Some(e.into()))
    }
}

/// Whether a conversation between `a` and `b` concerns a host in `nets` (every one does
/// when `nets` is empty: no filter).
pub fn involves_hosts(nets: &[ipnet::IpNet], a: &Endpoint, b: &Endpoint) -> bool {
    nets.is_empty() || nets.iter().any(|n| n.contains(&a.ip) || n.contains(&b.ip))
}
