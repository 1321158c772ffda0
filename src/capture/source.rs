use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use super::digest::{hashing, DigestHandle};
use super::sniff::{sniff, Format};

/// A capture's byte source: a file or standard input, decompressed when gzip.
pub(crate) struct Source {
    pub(crate) reader: Box<dyn Read + Send>,
    pub(crate) gzip: bool,
    /// The file's digest, when asked for.
    pub(crate) digest: Option<DigestHandle>,
}

/// Opens `path` (`-` is standard input) and recognises gzip by its magic bytes; with
/// `digest`, the file's bytes are hashed as they are read.
pub(crate) fn open_source(path: &Path, digest: bool) -> io::Result<Source> {
    let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        let file = File::open(path)?;
        if file.metadata()?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory, not a capture file",
            ));
        }
        Box::new(file)
    };
    from_raw(raw, digest)
}

/// A byte source (a file's, standard input's, or any other) made ready for the parser:
/// decompressed when its first bytes say gzip, hashed with `digest`.
pub(crate) fn from_raw(raw: Box<dyn Read + Send>, digest: bool) -> io::Result<Source> {
    from_raw_as(raw, digest, true)
}

/// Like [`from_raw`]; without `fill`, each read hands on what has arrived (a live stream
/// from a pipe: a frame is read as soon as it is there, not when a buffer is full).
pub(crate) fn from_raw_as(
    raw: Box<dyn Read + Send>,
    digest: bool,
    fill: bool,
) -> io::Result<Source> {
    let (mut raw, digest): (Box<dyn Read + Send>, _) = if digest {
        let (reader, handle) = hashing(raw);
        (Box::new(reader), Some(handle))
    } else {
        (raw, None)
    };
    let mut head = [0u8; 2];
    let n = read_full(&mut raw, &mut head)?;
    let gzip = sniff(head.get(..n).unwrap_or_default()) == Some(Format::Gzip);
    let joined = Cursor::new(head[..n].to_vec()).chain(raw);
    // Plain captures are read straight into the parser's buffer (no second copy); the
    // decompressor wants a buffered source.
    let reader: Box<dyn Read + Send> = if gzip {
        let buffered = BufReader::with_capacity(256 * 1024, joined);
        Box::new(FillingReader(MultiGzDecoder::new(buffered)))
    } else if fill {
        Box::new(FillingReader(joined))
    } else {
        Box::new(joined)
    };
    Ok(Source {
        reader,
        gzip,
        digest,
    })
}

/// Reads until `buf` is full or the input ends; returns the count read.
pub(crate) fn read_full<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// pcap-parser treats a short read as the data available; pipes and decoders give short
/// reads, so every read is filled as far as the input allows.
pub(crate) struct FillingReader<R>(pub(crate) R);

impl<R: Read> Read for FillingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_full(&mut self.0, buf)
    }
}
