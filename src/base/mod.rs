//! The types every stage shares: who sent something, between which endpoints, and when.

mod endpoint;
mod side;
mod time;

pub use endpoint::Endpoint;
pub use side::Side;
pub use time::Timestamp;
