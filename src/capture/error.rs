use std::fmt;

/// What is wrong with a capture file, and where.
#[derive(Debug, thiserror::Error)]
pub struct CaptureError {
    /// Byte offset in the (decompressed) capture where the problem was found.
    pub offset: u64,
    pub kind: CaptureErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureErrorKind {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is empty")]
    Empty,
    #[error("not a pcap or pcapng capture (starts with bytes {0})")]
    NotACapture(String),
    #[error("the capture is cut off inside a record (the file was truncated)")]
    Truncated,
    #[error("a record claims {0} bytes, more than any packet can have (damaged record length)")]
    RecordTooLarge(u64),
    #[error("damaged {0}")]
    Malformed(String),
    #[error("gzip data is damaged: {0}")]
    Gzip(String),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.kind)
    }
}

impl CaptureError {
    pub fn new(offset: u64, kind: CaptureErrorKind) -> Self {
        CaptureError { offset, kind }
    }
}
