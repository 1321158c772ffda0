//! smtpcap: from a packet capture to a diagnosis of why scan-to-email fails.
//!
//! Open a capture, take its SMTP and POP3 sessions one by one as their conversations end,
//! diagnose each, and render a report:
//!
//! ```
//! use smtpcap::{Capture, Diagnoser};
//!
//! let mut capture = Capture::open("samples/reply-5xx-spamhaus-swaks.pcap")?;
//! let mut diagnoser = Diagnoser::default();
//! for session in capture.by_ref() {
//!     let (diagnosis, findings) = diagnoser.session(&session);
//!     println!("{} → {}: {}", session.client, session.server, diagnosis.outcome_label());
//!     for f in &findings {
//!         println!("  {} {}", f.severity.name(), f.id);
//!     }
//! }
//! let summary = capture.finish();
//! println!("{} packets", summary.packets);
//! # Ok::<(), smtpcap::CaptureError>(())
//! ```
//!
//! [`render`] does the same and writes text, Markdown or JSON
//! (`docs/json-schema.json`).
//!
//! Inside, one module per stage, each depending only on the ones before it: `capture`
//! (files → frames) → `packet` (frames → IP/TCP/UDP) → `tcp` (segments → byte streams)
//! → `smtp` / `pop3` / `tls` / `dns` (streams → dialogues) → `analysis` (a capture's
//! sessions) → `diagnosis` → `report`.
#![forbid(unsafe_code)]
// The stage modules re-export for `internals` what the crate itself may not use.
#![cfg_attr(not(feature = "internals"), warn(missing_docs))]

#[cfg_attr(not(feature = "internals"), allow(unused_imports))]
mod analysis;
mod base;
mod capture;
#[cfg_attr(not(feature = "internals"), allow(unused_imports))]
mod diagnosis;
#[cfg_attr(not(feature = "internals"), allow(unused_imports))]
mod dialogue;
#[cfg_attr(not(feature = "internals"), allow(unused_imports))]
mod dns;
#[cfg_attr(not(feature = "internals"), allow(unused_imports))]
mod packet;
#[cfg_attr(not(feature = "internals"), allow(unused_imports))]
mod pop3;
mod report;
#[cfg_attr(not(feature = "internals"), allow(unused_imports))]
mod smtp;
#[cfg_attr(not(feature = "internals"), allow(unused_imports))]
mod tcp;
#[cfg_attr(not(feature = "internals"), allow(unused_imports))]
mod tls;

pub use analysis::{
    Analysis, Capture, CaptureProblem, CaptureWith, Dumpcap, LiveError, LiveHandle, Options,
    Protocol, Session,
};
pub use base::{Endpoint, Side, Timestamp};
pub use capture::{
    sniff, CaptureError, CaptureErrorKind, CaptureFormat, FileDigest, Format as FileFormat,
    PcapVariant, Unsupported,
};
pub use diagnosis::{
    diagnose, Basis, Diagnoser, Diagnosis, Finding, FindingId, FindingKind, Outcome,
    SessionDiagnosis, Severity, Stage, Tally, Verdict, CATALOGUE,
};
pub use report::{
    html_page_end, html_page_start, render, render_annotated, render_unreadable, session_json_line,
    session_text, to_csv, to_html, to_json, to_json_line, to_markdown, to_text, verdict_line, wrap,
    write_annotated, AnnotateWith, Annotated, Annotations, CaptureVerdict, Format, ReportWriter,
    SessionBrief, Spool, TextOptions, CSV_COLUMNS, DEFAULT_WIDTH,
};
pub use tls::{KeyLog, KeyLogProblem, KeyLogRead};

/// This smtpcap's version and the commit it was built from, as `smtpcap --version` and the
/// files it writes name it: `0.1.0 (commit 0123456789ab, 2026-12-06)`.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("SMTPCAP_BUILD"), ")");

/// The stages' own types, for the fuzz targets and the tests that drive one stage: not
/// part of the API, and free to change.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals {
    #![allow(missing_docs)]
    pub mod analysis {
        pub use crate::analysis::*;

        /// The whole capture at `path` in memory (`.collect()` of the streaming form); a
        /// capture that cannot be opened as such.
        pub fn analyze_path(path: &std::path::Path) -> Analysis {
            let options = Options {
                digest: true,
                ..Options::default()
            };
            match Capture::open_with(path, &options) {
                Ok(c) => c.collect_all(),
                Err(e) => Analysis::unreadable(path.display().to_string(), &e),
            }
        }

        /// The same for a capture in any byte source.
        pub fn analyze_bytes(name: &str, bytes: impl std::io::Read + Send + 'static) -> Analysis {
            match Capture::from_reader(name, bytes) {
                Ok(c) => c.collect_all(),
                Err(e) => Analysis::unreadable(name.to_string(), &e),
            }
        }
    }
    pub mod capture {
        pub use crate::capture::*;
    }
    pub mod dialogue {
        pub use crate::dialogue::*;
    }
    pub mod diagnosis {
        pub use crate::diagnosis::*;
    }
    pub mod dns {
        pub use crate::dns::*;
    }
    pub mod packet {
        pub use crate::packet::*;
    }
    pub mod pop3 {
        pub use crate::pop3::*;
    }
    pub mod report {
        pub use crate::report::*;
    }
    pub mod smtp {
        pub use crate::smtp::*;
    }
    pub mod tcp {
        pub use crate::tcp::*;
    }
    pub mod tls {
        pub use crate::tls::*;
    }
}
