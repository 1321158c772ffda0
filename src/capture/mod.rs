//! Stage 1: capture files → link-layer frames.
//!
//! Reads classic pcap (either byte order, µs or ns timestamps, the record layouts of
//! patched tcpdump builds), pcapng (several sections
//! and interfaces; EPB, SPB and OPB) and gzip-compressed files of either, from a path or
//! from standard input, through a bounded buffer.

pub mod blocks;
mod digest;
mod error;
mod legacy;
mod pcapng_writer;
mod reader;
mod sniff;
mod source;

pub use digest::FileDigest;
pub use error::{CaptureError, CaptureErrorKind};
pub use legacy::PcapVariant;
pub use pcapng_writer::PcapngWriter;
pub(crate) use reader::Item;
pub use reader::{CaptureFormat, CaptureReader, Frame, LinkType};
pub use sniff::{sniff, Format, Unsupported};

/// A capture file's bytes (decompressed when gzip) and the handle that gives its size
/// and SHA-256 once read to the end: for a second reading that copies it.
pub(crate) fn open_raw(
    path: &std::path::Path,
) -> std::io::Result<(Box<dyn std::io::Read + Send>, Option<digest::DigestHandle>)> {
    let s = source::open_source(path, true)?;
    Ok((s.reader, s.digest))
}
