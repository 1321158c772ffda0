use super::stream::StreamStats;
use crate::base::{MacAddr, Side, Timestamp};

/// How the three-way handshake went, as far as the capture shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handshake {
    /// SYN and SYN-ACK were seen.
    Complete,
    /// The client's SYN got no answer.
    SynUnanswered,
    /// The server answered the SYN with a reset.
    Refused,
    /// The capture started after the handshake.
    NotSeen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseHow {
    Fin,
    Rst,
}

/// The first close of a conversation: who, how and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Close {
    pub by: Side,
    pub how: CloseHow,
    pub frame: u64,
}

/// The TCP facts of a conversation, for the report.
#[derive(Clone, Debug)]
pub struct TcpFacts {
    pub first_frame: u64,
    pub last_frame: u64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub handshake: Handshake,
    /// Frames of the client's SYNs (more than one: the client retried).
    pub syn_frames: Vec<u64>,
    pub syn_ack_frame: Option<u64>,
    /// The capture started after the conversation did.
    pub mid_stream: bool,
    pub close: Option<Close>,
    pub client_fin_frame: Option<u64>,
    pub server_fin_frame: Option<u64>,
    pub reset_frames: Vec<u64>,
    pub client_packets: u64,
    pub server_packets: u64,
    /// Each side's link-layer address as its SYN showed it (which box it was: one
    /// device's IPv4 and IPv6 addresses share it); none for a conversation picked up
    /// without its handshake.
    pub client_mac: Option<MacAddr>,
    pub server_mac: Option<MacAddr>,
}

/// A finished conversation's TCP facts with what its two streams counted (kept apart
/// from [`TcpFacts`] so that a live conversation does not carry a second copy).
#[derive(Clone, Debug)]
pub struct TcpSummary {
    pub facts: TcpFacts,
    pub client_stream: StreamStats,
    pub server_stream: StreamStats,
}

impl std::ops::Deref for TcpSummary {
    type Target = TcpFacts;
    fn deref(&self) -> &TcpFacts {
        &self.facts
    }
}
