//! Stage 3: TCP segments → conversations with byte-exact, per-direction streams.
//!
//! The `assembler` keeps out-of-order data, `stream` turns one direction's segments into
//! in-order data and explicit gaps, `connection` follows a conversation's life and `table`
//! finds the conversation a segment belongs to.

mod assembler;
mod causal;
mod connection;
mod facts;
mod seq;
mod sink;
mod stream;
mod table;

pub use assembler::{Assembler, Origin};
pub use connection::Connection;
pub use facts::{Close, CloseHow, Handshake, TcpFacts, TcpSummary};
pub use seq::SeqNumber;
pub use sink::{SegmentMeta, StreamSink};
pub use stream::{GapReason, StreamEvent, StreamReassembler, StreamStats, LATE_PACKETS, LATE_SECS};
pub use table::{ConnectionTable, TableLimits, TableStats};
