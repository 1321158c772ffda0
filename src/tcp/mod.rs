//! Stage 3: TCP segments → conversations with byte-exact, per-direction streams.
//!
//! The `assembler` keeps out-of-order data, `stream` turns one direction's segments into
//! in-order data and explicit gaps, `connection` follows a conversation's life and `table`
//! finds the conversation a segment belongs to.

mod assembler;
mod causal;
mod connection;
mod seq;
mod stream;
mod table;

pub use assembler::{Assembler, Origin};
pub use connection::{
    Close, CloseHow, Connection, Endpoint, Handshake, Side, TcpFacts, TcpSummary,
};
pub use seq::SeqNumber;
pub use stream::{GapReason, StreamEvent, StreamReassembler, StreamStats, LATE_PACKETS, LATE_SECS};
pub use table::{ConnectionTable, SegmentMeta, StreamSink, TableLimits, TableStats};
