use serde::Serialize;

use super::app::Protocol;
use crate::base::{Endpoint, Timestamp};
use crate::dialogue::{seconds, Entry};
use crate::tcp::TcpSummary;
use crate::tls::TlsFacts;

#[derive(Debug, Clone, Serialize)]
pub struct DnsName {
    pub name: String,
    pub frame: u64,
}

/// One SMTP or POP3 conversation.
#[derive(Debug, Serialize)]
pub struct Session {
    /// Number in the capture, from 1, in order of first frame.
    pub id: usize,
    /// SMTP or POP3.
    pub protocol: Protocol,
    /// The end that connected (the device).
    pub client: Endpoint,
    /// The end that accepted (the mail server).
    pub server: Endpoint,
    /// Time stamp of the conversation's first frame.
    #[serde(serialize_with = "seconds")]
    pub start_time: Timestamp,
    /// Time stamp of its last frame.
    #[serde(serialize_with = "seconds")]
    pub end_time: Timestamp,
    /// What TCP showed: handshake, close, frames, missing bytes.
    pub tcp: TcpSummary,
    /// Commands, replies, TLS, gaps and bytes not parsed, in the order they happened.
    pub dialogue: Vec<Entry>,
    /// What the capture shows of the TLS session (after STARTTLS, or implicit TLS).
    pub tls: Option<TlsFacts>,
    /// The name the server's address was looked up as, and the frame of the answer.
    pub dns_name: Option<DnsName>,
    /// Dialogue entries not kept because the conversation exceeded the bound.
    #[serde(skip_serializing_if = "is_zero")]
    pub dropped_entries: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
