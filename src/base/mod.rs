//! The types every stage shares: who sent something, between which endpoints, and when.

mod endpoint;
mod len;
mod mac;
mod side;
mod time;

pub use endpoint::Endpoint;
pub use len::Len;
pub use mac::MacAddr;
pub use side::Side;
pub use time::Timestamp;

/// A stream offset or length the capture supplied, as an index into bytes held in memory.
/// Such an index is below the length of what is held, so it fits a `usize`; a value that
/// does not (only possible on a 32-bit target, and only for a length never held) becomes
/// `usize::MAX`, which any slice lookup with `get` refuses.
pub(crate) fn to_index(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
