use std::fmt::Write as _;
use std::io::{self, Read};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

/// A capture file's size and SHA-256, computed from the bytes as they are read (before
/// decompression): what an escalation report names the evidence by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDigest {
    /// Bytes of the file.
    pub size: u64,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
}

struct State {
    source: Box<dyn Read + Send>,
    hasher: Sha256,
    size: u64,
    /// The source reached its end: the digest covers the whole file.
    complete: bool,
    /// The source failed: no digest.
    failed: bool,
}

impl State {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.source.read(buf).inspect_err(|e| {
            self.failed |= e.kind() != io::ErrorKind::Interrupted;
        })?;
        let read = buf.get(..n).unwrap_or_default();
        self.hasher.update(read);
        self.size += read.len() as u64;
        self.complete |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}

/// A byte source that hashes what passes through it; the capture parser reads it and the
/// [`DigestHandle`] it was made with tells the digest afterwards.
pub(crate) struct Hashing(Arc<Mutex<State>>);

/// The digest side of a [`Hashing`] source.
pub(crate) struct DigestHandle(Arc<Mutex<State>>);

/// Wraps `source` so that its bytes are hashed as they are read.
pub(crate) fn hashing(source: Box<dyn Read + Send>) -> (Hashing, DigestHandle) {
    let state = Arc::new(Mutex::new(State {
        source,
        hasher: Sha256::new(),
        size: 0,
        complete: false,
        failed: false,
    }));
    (Hashing(Arc::clone(&state)), DigestHandle(state))
}

impl Read for Hashing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .read(buf)
    }
}

impl DigestHandle {
    /// The whole file's digest: what the parser left unread (it stopped at damage) is
    /// read to the end first. `None` when the source could not be read to its end.
    pub(crate) fn finish(&self) -> Option<FileDigest> {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut buf = vec![0u8; 64 << 10];
        while !state.complete && !state.failed {
            if let Err(e) = state.read(&mut buf) {
                if e.kind() != io::ErrorKind::Interrupted {
                    break;
                }
            }
        }
        (state.complete && !state.failed).then(|| FileDigest {
            size: state.size,
            sha256: state.hasher.clone().finalize().iter().fold(
                String::with_capacity(64),
                |mut hex, b| {
                    let _ = write!(hex, "{b:02x}");
                    hex
                },
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_covers_the_whole_source_however_far_it_was_read() {
        let (mut r, digest) = hashing(Box::new(&b"abc"[..]));
        let mut two = [0u8; 2];
        r.read_exact(&mut two).unwrap();
        let d = digest.finish().unwrap();
        assert_eq!(d.size, 3);
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
