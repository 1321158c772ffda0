use std::fmt;

/// What is wrong with a capture file, and where.
#[derive(Debug, thiserror::Error)]
pub struct CaptureError {
    /// Byte offset in the (decompressed) capture where the problem was found.
    pub offset: u64,
    /// What is wrong.
    pub kind: CaptureErrorKind,
}

/// What is wrong with a capture file.
#[derive(Debug, thiserror::Error)]
pub enum CaptureErrorKind {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The file holds no byte.
    #[error("the file is empty")]
    Empty,
    /// The first bytes (shown in hex) are no capture's.
    #[error("not a pcap or pcapng capture (starts with bytes {0})")]
    NotACapture(String),
    /// A capture format or compression smtpcap recognises but does not read.
    #[error("{}", .0.advice())]
    Unsupported(super::sniff::Unsupported),
    /// The file ends inside a record.
    #[error("the capture is cut off inside a record (the file was truncated)")]
    Truncated,
    /// A record claims more bytes than any packet has.
    #[error("a record claims {0} bytes, more than any packet can have (damaged record length)")]
    RecordTooLarge(u64),
    /// A block or header is damaged (which one, and how).
    #[error("damaged {0}")]
    Malformed(String),
    /// The compressed data is damaged.
    #[error("gzip data is damaged: {0}")]
    Gzip(String),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.kind)
    }
}

impl CaptureError {
    /// A problem found at byte `offset`.
    pub fn new(offset: u64, kind: CaptureErrorKind) -> Self {
        CaptureError { offset, kind }
    }
}
