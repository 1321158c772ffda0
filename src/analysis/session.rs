use super::app::Protocol;
use crate::base::{Endpoint, Timestamp};
use crate::dialogue::Entry;
use crate::tcp::TcpSummary;
use crate::tls::TlsFacts;

#[derive(Debug, Clone)]
pub struct DnsName {
    pub name: String,
    pub frame: u64,
}

/// One SMTP or POP3 conversation.
#[derive(Debug)]
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
    pub start_time: Timestamp,
    /// Time stamp of its last frame.
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
    pub dropped_entries: u64,
}

impl Session {
    /// This session with `entries` (read inside its TLS) joined to its dialogue in frame
    /// order, for the stages that read a dialogue whatever its provenance.
    #[must_use]
    pub fn with_entries(&self, entries: &[Entry]) -> Session {
        Session {
            id: self.id,
            protocol: self.protocol,
            client: self.client,
            server: self.server,
            start_time: self.start_time,
            end_time: self.end_time,
            tcp: self.tcp.clone(),
            dialogue: crate::dialogue::merged(&self.dialogue, entries)
                .into_iter()
                .cloned()
                .collect(),
            tls: self.tls.clone(),
            dns_name: self.dns_name.clone(),
            dropped_entries: self.dropped_entries,
        }
    }
}
