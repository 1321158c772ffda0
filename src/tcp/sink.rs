use super::facts::TcpFacts;
use super::stream::StreamEvent;
use crate::base::{Endpoint, MacAddr, Side, Timestamp};

/// Receives a conversation's stream events, in the order they become known.
pub trait StreamSink {
    fn event(&mut self, side: Side, frame: u64, time: Timestamp, event: StreamEvent<'_>);
    /// False once the conversation's content no longer matters (then only facts are kept).
    fn wants_data(&self) -> bool {
        true
    }
    /// True once the protocol's dialogue is over (SMTP: QUIT answered): a live capture
    /// then concludes the conversation after a moment of quiet once either side has closed,
    /// without waiting for the other.
    fn is_over(&self) -> bool {
        false
    }
    /// Called once, when the conversation is finished or the capture ends.
    fn finish(&mut self, _facts: &TcpFacts) {}
    /// True (once) when the content shows the roles are the other way round; only asked
    /// of conversations whose handshake was not seen.
    fn take_role_swap(&mut self) -> bool {
        false
    }
}

/// Where a segment was captured and between whom.
#[derive(Clone, Copy, Debug)]
pub struct SegmentMeta {
    pub frame: u64,
    pub time: Timestamp,
    pub src: Endpoint,
    pub dst: Endpoint,
    /// The sender's link-layer address, where the capture has one (read for SYNs only:
    /// a conversation keeps its sides' from its handshake).
    pub src_mac: Option<MacAddr>,
}
