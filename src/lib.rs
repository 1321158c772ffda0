//! smtpcap: from a packet capture to a diagnosis of why scan-to-email fails.
//!
//! The pipeline, one module per stage, each depending only on the ones before it:
//! [`capture`] (files → frames) → [`packet`] (frames → IP/TCP/UDP) → [`tcp`] (segments →
//! byte streams) → [`smtp`] / [`pop3`] (streams → dialogues) → [`analysis`] (a capture's
//! sessions) → [`report`] (text and JSON).
#![forbid(unsafe_code)]

pub mod analysis;
pub mod batch;
pub mod capture;
pub mod diagnosis;
pub mod dialogue;
pub mod dns;
pub mod packet;
pub mod pop3;
pub mod report;
pub mod smtp;
pub mod tcp;
pub mod tls;
