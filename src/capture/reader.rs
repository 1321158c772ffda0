use std::io::{Cursor, Read};
use std::path::Path;

use pcap_parser::pcapng::{Block, SecretsType};
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use super::digest::{DigestHandle, FileDigest};
use super::error::{CaptureError, CaptureErrorKind};
use super::legacy::{FileHeader, PcapVariant, VariantReader};
use super::sniff::{sniff, Format, Unsupported};
use super::source::{from_raw, from_raw_as, open_source, read_full, FillingReader, Source};
use crate::base::Timestamp;

/// A libpcap LINKTYPE_ value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    pub fn name(self) -> String {
        match self.0 {
            0 => "NULL".into(),
            1 => "ETHERNET".into(),
            101 => "RAW".into(),
            108 => "LOOP".into(),
            113 => "LINUX_SLL".into(),
            228 => "IPV4".into(),
            229 => "IPV6".into(),
            276 => "LINUX_SLL2".into(),
            n => format!("LINKTYPE_{n}"),
        }
    }
}

/// The file format of a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap.
    Pcap {
        /// Time stamps in nanoseconds (magic `a1b23c4d`) rather than microseconds.
        nanosecond: bool,
        /// The record header's layout.
        variant: PcapVariant,
    },
    /// pcapng (Wireshark's and dumpcap's default).
    PcapNg,
}

impl CaptureFormat {
    /// The standard classic pcap, in microseconds.
    pub const PCAP: CaptureFormat = CaptureFormat::Pcap {
        nanosecond: false,
        variant: PcapVariant::Standard,
    };

    /// `pcap`, `pcap-ns`, `pcap-modified`, `pcap-suse-6.3`, `pcap-redhat-6.1`,
    /// `pcap-nokia` or `pcapng`.
    pub fn name(self) -> &'static str {
        match self {
            CaptureFormat::Pcap {
                nanosecond: true, ..
            } => "pcap-ns",
            CaptureFormat::Pcap { variant, .. } => match variant {
                PcapVariant::Standard => "pcap",
                PcapVariant::Modified => "pcap-modified",
                PcapVariant::Suse63 => "pcap-suse-6.3",
                PcapVariant::RedHat61 => "pcap-redhat-6.1",
                PcapVariant::Nokia => "pcap-nokia",
            },
            CaptureFormat::PcapNg => "pcapng",
        }
    }
}

/// One captured packet record, numbered from 1 as Wireshark numbers frames.
#[derive(Debug)]
pub struct Frame<'a> {
    pub number: u64,
    pub time: Timestamp,
    pub link_type: LinkType,
    pub data: &'a [u8],
    /// The packet's length on the wire (more than `data` when the snapshot length cut
    /// it); `data`'s length where the format does not say.
    pub orig_len: u32,
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    link_type: LinkType,
    units_per_sec: u64,
    ts_offset: i64,
}

const INITIAL_BUFFER: usize = 128 << 10;
/// No real packet record is larger; a bigger claimed length means a damaged file.
const MAX_BUFFER: usize = 64 << 20;
const OPB_MAGIC: u32 = 0x0000_0002;
/// Enough of a classic pcap to hold its file header and first three records, which
/// decide the record layout.
const LOOKAHEAD: usize = 24 + 3 * (262_144 + 28);

/// Streams frames out of a capture without reading it whole.
pub struct CaptureReader {
    inner: Box<dyn PcapReaderIterator + Send>,
    format: CaptureFormat,
    gzip: bool,
    interfaces: Vec<Interface>,
    link_types: Vec<LinkType>,
    big_endian_section: bool,
    nanosecond: bool,
    legacy_link: LinkType,
    /// Bytes of frame check sequence a classic pcap's link-type field declares.
    legacy_fcs: usize,
    /// Hand frames on with their frame check sequence (for a copy of the capture).
    keep_fcs: bool,
    /// A classic pcap's snapshot length.
    snaplen: u32,
    pending_consume: usize,
    capacity: usize,
    frames: u64,
    done: bool,
    digest: Option<DigestHandle>,
    /// The packet `advance` found last, while not consumed.
    current: Option<PacketAt>,
    /// Bytes of key log text handed on so far.
    secrets_read: usize,
}

enum Step {
    Packet {
        iface: usize,
        time: Timestamp,
        /// Where the packet's data lies: its address and length in the reader's buffer.
        addr: usize,
        len: usize,
        orig_len: u32,
    },
    Skip,
    /// A record Wireshark numbers as a frame that carries no packet (a systemd journal
    /// entry, a sysdig event): it counts, and is not read.
    OtherFrame,
    /// TLS key log text.
    Secrets(Vec<u8>),
}

/// What the reader has next, as [`CaptureReader::next_item`] gives it.
pub(crate) enum Item<'a> {
    Frame(Frame<'a>),
    Secrets(Vec<u8>),
    End,
}

/// A packet's interface, time, the offset and length of its data in the buffer, and its
/// length on the wire.
type PacketAt = (usize, Timestamp, usize, usize, u32);

enum Advanced {
    Packet(PacketAt),
    Secrets(Vec<u8>),
}

/// Key log text taken from a capture's secrets blocks (a hostile file's are not let
/// grow past this).
const MAX_SECRETS: usize = 16 << 20;

impl CaptureReader {
    /// Opens the capture at `path` (`-` for standard input); with `digest`, the file's
    /// size and SHA-256 are computed as it is read ([`CaptureReader::digest`]).
    ///
    /// # Errors
    /// The file cannot be opened, or its header is no capture's.
    pub fn open(path: &Path, digest: bool) -> Result<Self, CaptureError> {
        let Source {
            reader,
            gzip,
            digest,
        } = open_source(path, digest).map_err(|e| CaptureError::new(0, CaptureErrorKind::Io(e)))?;
        let mut reader = Self::from_reader(reader, gzip).map_err(|e| match e.kind {
            // ERF has no magic: its name is all there is to go by.
            CaptureErrorKind::NotACapture(_) if is_erf(path) => {
                CaptureError::new(0, CaptureErrorKind::Unsupported(Unsupported::Erf))
            }
            _ => e,
        })?;
        reader.digest = digest;
        Ok(reader)
    }

    /// Reads a capture from any byte source, decompressing it when its first bytes say
    /// gzip.
    ///
    /// # Errors
    /// The bytes cannot be read, or their header is no capture's.
    pub fn from_bytes(bytes: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        let Source { reader, gzip, .. } =
            from_raw(bytes, false).map_err(|e| CaptureError::new(0, CaptureErrorKind::Io(e)))?;
        Self::from_reader(reader, gzip)
    }

    /// Reads a live stream (a pipe from `tcpdump -w -`): each frame as soon as its bytes
    /// have arrived.
    ///
    /// # Errors
    /// As [`CaptureReader::from_bytes`].
    pub fn from_stream(bytes: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        let Source { reader, gzip, .. } = from_raw_as(bytes, false, false)
            .map_err(|e| CaptureError::new(0, CaptureErrorKind::Io(e)))?;
        Self::from_reader_as(reader, gzip, false)
    }

    /// The file's size and SHA-256, when asked for at [`CaptureReader::open`] and the file
    /// could be read to its end.
    pub fn digest(&self) -> Option<FileDigest> {
        self.digest.as_ref().and_then(DigestHandle::finish)
    }

    /// Reads a capture from a byte source already decompressed (`gzip` tells whether it
    /// was, for the error messages).
    ///
    /// # Errors
    /// The source is empty, cannot be read, or its header is no capture's.
    pub fn from_reader(reader: Box<dyn Read + Send>, gzip: bool) -> Result<Self, CaptureError> {
        Self::from_reader_as(reader, gzip, true)
    }

    /// Like [`CaptureReader::from_reader`]; without `fill`, the file header is read whole
    /// and then each read hands on what has arrived (a live stream).
    fn from_reader_as(
        mut reader: Box<dyn Read + Send>,
        gzip: bool,
        fill: bool,
    ) -> Result<Self, CaptureError> {
        let io_err = |e: std::io::Error| {
            let kind = if gzip {
                CaptureErrorKind::Gzip(e.to_string())
            } else {
                CaptureErrorKind::Io(e)
            };
            CaptureError::new(0, kind)
        };
        let mut magic = [0u8; 4];
        let n = read_full(&mut reader, &mut magic).map_err(io_err)?;
        if n == 0 {
            return Err(CaptureError::new(0, CaptureErrorKind::Empty));
        }
        let format = match sniff(magic.get(..n).unwrap_or_default()) {
            Some(Format::Capture(format)) => format,
            Some(Format::Unsupported(what)) => {
                return Err(CaptureError::new(0, CaptureErrorKind::Unsupported(what)));
            }
            // A gzip inside the gzip, or anything else.
            Some(Format::Gzip) | None => {
                let hex: Vec<String> = magic[..n].iter().map(|b| format!("{b:02x}")).collect();
                let mut what = hex.join(" ");
                if gzip {
                    what.push_str(", once gzip-decompressed");
                }
                return Err(CaptureError::new(0, CaptureErrorKind::NotACapture(what)));
            }
        };
        let mut format = format;
        let joined: Box<dyn Read + Send> = if fill {
            Box::new(FillingReader(
                Cursor::new(magic[..n].to_vec()).chain(reader),
            ))
        } else {
            // The parser reads the file header in one read: it comes whole, from memory.
            let header = whole_header(&mut reader, &magic[..n], format).map_err(io_err)?;
            Box::new(Cursor::new(header).chain(reader))
        };
        let header_err = |e: PcapError<&'static [u8]>| {
            let kind = match e {
                PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
                    CaptureErrorKind::Truncated
                }
                PcapError::ReadError if gzip => {
                    CaptureErrorKind::Gzip("cannot decompress the file header".into())
                }
                other => CaptureErrorKind::Malformed(format!("file header ({other})")),
            };
            CaptureError::new(0, kind)
        };
        let inner: Box<dyn PcapReaderIterator + Send> = match format {
            CaptureFormat::PcapNg => {
                Box::new(PcapNGReader::new(INITIAL_BUFFER, joined).map_err(header_err)?)
            }
            CaptureFormat::Pcap { .. } => {
                // The first records decide the record layout: they are read ahead.
                let mut joined = joined;
                let mut head = vec![0; if fill { LOOKAHEAD } else { 24 }];
                let got = read_full(&mut joined, &mut head).map_err(io_err)?;
                head.truncate(got);
                let whole = got < LOOKAHEAD;
                let Some(header) = FileHeader::parse(&head) else {
                    return Err(CaptureError::new(0, CaptureErrorKind::Truncated));
                };
                let variant = if fill {
                    header.variant(&head, whole)
                } else if header.modified {
                    PcapVariant::Modified
                } else {
                    PcapVariant::Standard
                };
                format = CaptureFormat::Pcap {
                    nanosecond: header.nanosecond,
                    variant,
                };
                let joined = Cursor::new(head).chain(joined);
                if variant == PcapVariant::Standard {
                    Box::new(LegacyPcapReader::new(INITIAL_BUFFER, joined).map_err(header_err)?)
                } else {
                    Box::new(
                        VariantReader::new(INITIAL_BUFFER, joined, header, variant)
                            .map_err(header_err)?,
                    )
                }
            }
        };
        Ok(CaptureReader {
            inner,
            format,
            gzip,
            interfaces: Vec::new(),
            link_types: Vec::new(),
            big_endian_section: false,
            nanosecond: matches!(
                format,
                CaptureFormat::Pcap {
                    nanosecond: true,
                    ..
                }
            ),
            legacy_link: LinkType::ETHERNET,
            legacy_fcs: 0,
            keep_fcs: false,
            snaplen: 0,
            pending_consume: 0,
            capacity: INITIAL_BUFFER,
            frames: 0,
            done: false,
            digest: None,
            current: None,
            secrets_read: 0,
        })
    }

    /// Frames keep the frame check sequence a classic pcap declares (a copy of the
    /// capture must keep every byte).
    pub(crate) fn keep_fcs(&mut self) {
        self.keep_fcs = true;
    }

    /// The frame check sequence's length in bytes that a classic pcap's header declares.
    pub(crate) fn fcs_len(&self) -> usize {
        self.legacy_fcs
    }

    /// The snapshot length of a classic pcap (0 for pcapng).
    pub(crate) fn snaplen(&self) -> u32 {
        self.snaplen
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    pub fn gzip(&self) -> bool {
        self.gzip
    }

    /// Every link type an interface of the capture declared, in order of first appearance.
    pub fn link_types(&self) -> &[LinkType] {
        &self.link_types
    }

    /// Frames returned so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The next frame, `Ok(None)` at the end, or an error naming the byte offset.
    /// After an error the reader is finished.
    ///
    /// # Errors
    /// The capture is damaged or cut off at the offset the error names.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the fuzz target reads frames alone
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        loop {
            // Borrowck: the frame is taken again once the loop has decided to return it.
            match self.next_item()? {
                Item::Frame(_) => break,
                Item::Secrets(_) => {}
                Item::End => return Ok(None),
            }
        }
        Ok(self.current_frame())
    }

    /// The next frame or TLS key log text (from a pcapng Decryption Secrets Block), in
    /// file order; `End` at the end. After an error the reader is finished.
    ///
    /// # Errors
    /// As [`CaptureReader::next_frame`].
    pub(crate) fn next_item(&mut self) -> Result<Item<'_>, CaptureError> {
        if self.done {
            return Ok(Item::End);
        }
        match self.advance() {
            Ok(Some(Advanced::Packet(packet))) => {
                self.frames += 1;
                self.current = Some(packet);
                Ok(self.current_frame().map_or(Item::End, Item::Frame))
            }
            Ok(Some(Advanced::Secrets(text))) => Ok(Item::Secrets(text)),
            Ok(None) => {
                self.done = true;
                Ok(Item::End)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    fn current_frame(&self) -> Option<Frame<'_>> {
        let (iface, time, at, len, orig_len) = self.current?;
        let link_type = self
            .interfaces
            .get(iface)
            .map_or(self.legacy_link, |i| i.link_type);
        // The record is not consumed yet: its bytes are where the parser saw them.
        let data = self.inner.data().get(at..at + len).unwrap_or_default();
        Some(Frame {
            number: self.frames,
            time,
            link_type,
            data,
            orig_len,
        })
    }

    /// The next packet: its interface, time, and the offset and length of its data in
    /// `self.inner.data()`. Frames are not copied.
    fn advance(&mut self) -> Result<Option<Advanced>, CaptureError> {
        self.current = None;
        if self.pending_consume > 0 {
            // No shift on consume: the buffer is compacted once per refill, not each time
            // half of it has been read.
            self.inner.consume_noshift(self.pending_consume);
            self.pending_consume = 0;
        }
        loop {
            let offset = self.inner.consumed() as u64;
            let base = self.inner.data().as_ptr() as usize;
            let step = match self.inner.next() {
                Ok((size, block)) => {
                    let step = interpret(
                        block,
                        &mut Ctx {
                            interfaces: &mut self.interfaces,
                            link_types: &mut self.link_types,
                            big_endian_section: &mut self.big_endian_section,
                            nanosecond: self.nanosecond,
                            legacy_link: &mut self.legacy_link,
                            legacy_fcs: &mut self.legacy_fcs,
                            keep_fcs: self.keep_fcs,
                            snaplen: &mut self.snaplen,
                        },
                        offset,
                    )?;
                    Ok((size, step))
                }
                Err(e) => Err(classify(e)),
            };
            match step {
                Ok((
                    size,
                    Step::Packet {
                        iface,
                        time,
                        addr,
                        len,
                        orig_len,
                    },
                )) => {
                    self.pending_consume = size;
                    return Ok(Some(Advanced::Packet((
                        iface,
                        time,
                        addr.wrapping_sub(base),
                        len,
                        orig_len,
                    ))));
                }
                Ok((size, Step::Secrets(text))) => {
                    self.inner.consume_noshift(size);
                    self.secrets_read += text.len();
                    if self.secrets_read <= MAX_SECRETS {
                        return Ok(Some(Advanced::Secrets(text)));
                    }
                }
                Ok((size, Step::Skip)) => self.inner.consume_noshift(size),
                Ok((size, Step::OtherFrame)) => {
                    self.inner.consume_noshift(size);
                    self.frames += 1;
                }
                Err(Next::Eof) => return Ok(None),
                Err(Next::Refill) => self.refill(offset)?,
                Err(Next::Grow) => {
                    if self.capacity >= MAX_BUFFER {
                        let claimed =
                            claimed_length(self.inner.data(), self.format, self.big_endian_section);
                        return Err(CaptureError::new(
                            offset,
                            CaptureErrorKind::RecordTooLarge(claimed),
                        ));
                    }
                    self.capacity *= 4;
                    self.inner.grow(self.capacity);
                    self.refill(offset)?;
                }
                Err(Next::Truncated) => {
                    let claimed =
                        claimed_length(self.inner.data(), self.format, self.big_endian_section);
                    let kind = if claimed > MAX_BUFFER as u64 {
                        CaptureErrorKind::RecordTooLarge(claimed)
                    } else {
                        CaptureErrorKind::Truncated
                    };
                    return Err(CaptureError::new(offset, kind));
                }
                Err(Next::Malformed(what)) => {
                    let what = match self.format {
                        CaptureFormat::PcapNg => format!("pcapng block ({what})"),
                        CaptureFormat::Pcap { .. } => format!("pcap record ({what})"),
                    };
                    return Err(CaptureError::new(offset, CaptureErrorKind::Malformed(what)));
                }
                Err(Next::Read) => return Err(self.read_failed(offset)),
            }
        }
    }

    fn refill(&mut self, offset: u64) -> Result<(), CaptureError> {
        if self.inner.refill().is_err() {
            return Err(self.read_failed(offset));
        }
        Ok(())
    }

    /// The source could not be read at `offset` (for gzip: the compressed data is bad).
    fn read_failed(&self, offset: u64) -> CaptureError {
        let kind = if self.gzip {
            CaptureErrorKind::Gzip("the compressed data is damaged or cut off".into())
        } else {
            CaptureErrorKind::Io(std::io::Error::other("read failed"))
        };
        CaptureError::new(offset, kind)
    }
}

/// An ERF file by its name (`.erf`, compressed or not).
fn is_erf(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    Path::new(name).extension().is_some_and(|e| e == "erf")
}

/// The file header of a stream, whole: 24 bytes for pcap, the section header block for
/// pcapng (its length in its second word).
fn whole_header(
    reader: &mut Box<dyn Read + Send>,
    magic: &[u8],
    format: CaptureFormat,
) -> std::io::Result<Vec<u8>> {
    let mut header = magic.to_vec();
    let mut more = |n: usize, header: &mut Vec<u8>| -> std::io::Result<()> {
        let at = header.len();
        header.resize(at + n, 0);
        let got = read_full(reader, &mut header[at..])?;
        header.truncate(at + got);
        Ok(())
    };
    match format {
        CaptureFormat::Pcap { .. } => more(24 - header.len(), &mut header)?,
        CaptureFormat::PcapNg => {
            more(12usize.saturating_sub(header.len()), &mut header)?;
            if let (Some(len), Some(bom)) = (header.get(4..8), header.get(8..12)) {
                let big = bom == [0x1A, 0x2B, 0x3C, 0x4D];
                let len: [u8; 4] = len.try_into().unwrap_or_default();
                let len = if big {
                    u32::from_be_bytes(len)
                } else {
                    u32::from_le_bytes(len)
                } as usize;
                // A header longer than the parser's buffer is read by it as usual.
                let rest = len.clamp(12, INITIAL_BUFFER) - 12;
                more(rest, &mut header)?;
            }
        }
    }
    Ok(header)
}

enum Next {
    Eof,
    Refill,
    Grow,
    Truncated,
    Malformed(String),
    Read,
}

fn classify(e: PcapError<&[u8]>) -> Next {
    match e {
        PcapError::Eof => Next::Eof,
        PcapError::Incomplete(_) => Next::Refill,
        PcapError::BufferTooSmall => Next::Grow,
        PcapError::UnexpectedEof => Next::Truncated,
        PcapError::ReadError => Next::Read,
        PcapError::HeaderNotRecognized => Next::Malformed("header not recognised".into()),
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            Next::Malformed(format!("{kind:?}").to_lowercase())
        }
    }
}

/// The length the damaged or cut-off record at the start of `data` claims.
fn claimed_length(data: &[u8], format: CaptureFormat, big_endian: bool) -> u64 {
    let field = |at: usize, be: bool| -> Option<u64> {
        let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        Some(u64::from(if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }))
    };
    match format {
        // The byte order of a legacy file is not known here; the smaller reading is the honest one.
        CaptureFormat::Pcap { .. } => match (field(8, false), field(8, true)) {
            (Some(a), Some(b)) => a.min(b),
            _ => 0,
        },
        CaptureFormat::PcapNg => field(4, big_endian).unwrap_or(0),
    }
}

struct Ctx<'c> {
    interfaces: &'c mut Vec<Interface>,
    link_types: &'c mut Vec<LinkType>,
    big_endian_section: &'c mut bool,
    nanosecond: bool,
    legacy_link: &'c mut LinkType,
    legacy_fcs: &'c mut usize,
    keep_fcs: bool,
    snaplen: &'c mut u32,
}

impl Ctx<'_> {
    fn note_link(&mut self, lt: LinkType) {
        if !self.link_types.contains(&lt) {
            self.link_types.push(lt);
        }
    }

    fn packet(iface: usize, time: Timestamp, data: &[u8], orig_len: u32) -> Step {
        Step::Packet {
            iface,
            time,
            addr: data.as_ptr() as usize,
            len: data.len(),
            orig_len,
        }
    }

    fn ng_time(&self, iface: usize, ts: u64) -> Timestamp {
        let i = self.interfaces.get(iface);
        let units = i.map_or(1_000_000, |i| i.units_per_sec);
        let t = Timestamp::from_units(ts, units);
        Timestamp::new(t.secs.saturating_add(i.map_or(0, |i| i.ts_offset)), t.nanos)
    }
}

fn interpret(
    block: PcapBlockOwned<'_>,
    ctx: &mut Ctx<'_>,
    offset: u64,
) -> Result<Step, CaptureError> {
    let malformed =
        |what: &str| CaptureError::new(offset, CaptureErrorKind::Malformed(what.into()));
    match block {
        PcapBlockOwned::LegacyHeader(h) => {
            // libpcap's LT_LINKTYPE: the upper bits carry the FCS length, in 16-bit words.
            let field = h.network.0 as u32;
            let lt = LinkType(field & 0x03FF_FFFF);
            *ctx.legacy_fcs = if field & 0x0400_0000 != 0 {
                (field >> 28) as usize * 2
            } else {
                0
            };
            *ctx.legacy_link = lt;
            *ctx.snaplen = h.snaplen;
            ctx.note_link(lt);
            Ok(Step::Skip)
        }
        PcapBlockOwned::Legacy(b) => {
            // An Ethernet FCS ends each frame captured whole; a length Ethernet does not
            // have is kept, not cut (the IP header bounds the datagram anyway).
            let fcs = *ctx.legacy_fcs;
            let data = if fcs == 4
                && !ctx.keep_fcs
                && *ctx.legacy_link == LinkType::ETHERNET
                && b.caplen == b.origlen
                && b.data.len() > fcs
            {
                &b.data[..b.data.len() - fcs]
            } else {
                b.data
            };
            let nanos = if ctx.nanosecond {
                b.ts_usec
            } else {
                b.ts_usec.saturating_mul(1000)
            };
            let time = Timestamp::new(i64::from(b.ts_sec), nanos);
            Ok(Ctx::packet(usize::MAX, time, data, b.origlen))
        }
        PcapBlockOwned::NG(block) => match block {
            Block::SectionHeader(shb) => {
                // A new section starts a new interface numbering.
                ctx.interfaces.clear();
                *ctx.big_endian_section = shb.big_endian();
                Ok(Step::Skip)
            }
            Block::InterfaceDescription(idb) => {
                let lt = LinkType(idb.linktype.0 as u32);
                ctx.note_link(lt);
                let units_per_sec = idb
                    .ts_resolution()
                    .ok_or_else(|| malformed("pcapng interface block (invalid if_tsresol)"))?;
                ctx.interfaces.push(Interface {
                    link_type: lt,
                    units_per_sec,
                    ts_offset: idb.ts_offset(),
                });
                Ok(Step::Skip)
            }
            Block::EnhancedPacket(epb) => {
                let iface = epb.if_id as usize;
                if iface >= ctx.interfaces.len() {
                    return Err(malformed(&format!(
                        "pcapng packet block (interface {iface} was never described)"
                    )));
                }
                let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let time = ctx.ng_time(iface, ts);
                Ok(Ctx::packet(iface, time, epb.packet_data(), epb.origlen))
            }
            Block::SimplePacket(spb) => {
                if ctx.interfaces.is_empty() {
                    return Err(malformed(
                        "pcapng simple packet block (no interface described)",
                    ));
                }
                Ok(Ctx::packet(
                    0,
                    Timestamp::default(),
                    spb.packet_data(),
                    spb.origlen,
                ))
            }
            Block::Unknown(ub)
                if ub.block_type == OPB_MAGIC || ub.block_type.swap_bytes() == OPB_MAGIC =>
            {
                obsolete_packet(ub.data, ctx, offset)
            }
            Block::DecryptionSecrets(dsb) if dsb.secrets_type == SecretsType::TlsKeyLog => {
                Ok(Step::Secrets(dsb.data.to_vec()))
            }
            Block::SystemdJournalExport(_) | Block::Custom(_) => Ok(Step::OtherFrame),
            Block::Unknown(ub) if super::blocks::is_frame(ub.block_type) => Ok(Step::OtherFrame),
            _ => Ok(Step::Skip),
        },
    }
}

/// Obsolete Packet Block (type 2): `if_id` u16, drops u16, `ts_high`, `ts_low`, caplen, origlen, data.
fn obsolete_packet(body: &[u8], ctx: &mut Ctx<'_>, offset: u64) -> Result<Step, CaptureError> {
    let be = *ctx.big_endian_section;
    let u16_at = |at: usize| -> Option<u32> {
        let b: [u8; 2] = body.get(at..at + 2)?.try_into().ok()?;
        Some(u32::from(if be {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }))
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = body.get(at..at + 4)?.try_into().ok()?;
        Some(if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let parsed = (|| {
        let iface = u16_at(0)? as usize;
        let ts = (u64::from(u32_at(4)?) << 32) | u64::from(u32_at(8)?);
        let caplen = u32_at(12)? as usize;
        let data = body.get(20..20 + caplen)?;
        Some((iface, ts, data, u32_at(16)?))
    })();
    let (iface, ts, data, orig_len) = parsed.ok_or_else(|| {
        CaptureError::new(
            offset,
            CaptureErrorKind::Malformed("pcapng obsolete packet block".into()),
        )
    })?;
    if iface >= ctx.interfaces.len() {
        return Err(CaptureError::new(
            offset,
            CaptureErrorKind::Malformed(format!(
                "pcapng packet block (interface {iface} was never described)"
            )),
        ));
    }
    let time = ctx.ng_time(iface, ts);
    Ok(Ctx::packet(iface, time, data, orig_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()).div_ceil(4) * 4;
        let mut b = kind.to_le_bytes().to_vec();
        b.extend((len as u32).to_le_bytes());
        b.extend(body);
        b.resize(len - 4, 0);
        b.extend((len as u32).to_le_bytes());
        b
    }

    fn shb() -> Vec<u8> {
        let mut body = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        body.extend(1u16.to_le_bytes());
        body.extend(0u16.to_le_bytes());
        body.extend((-1i64).to_le_bytes());
        block(0x0a0d_0d0a, &body)
    }

    fn idb(link: u16) -> Vec<u8> {
        let mut body = link.to_le_bytes().to_vec();
        body.extend(0u16.to_le_bytes());
        body.extend(65535u32.to_le_bytes());
        block(1, &body)
    }

    #[test]
    fn simple_and_obsolete_packet_blocks_are_frames() {
        let packet = [0xaau8; 20];
        let mut file = shb();
        file.extend(idb(1));
        let mut spb = 20u32.to_le_bytes().to_vec();
        spb.extend(packet);
        file.extend(block(3, &spb));
        let mut opb = 0u16.to_le_bytes().to_vec();
        opb.extend(0u16.to_le_bytes());
        opb.extend(0u32.to_le_bytes());
        opb.extend(1_000_000u32.to_le_bytes());
        opb.extend(20u32.to_le_bytes());
        opb.extend(20u32.to_le_bytes());
        opb.extend(packet);
        file.extend(block(2, &opb));
        let mut r = CaptureReader::from_reader(Box::new(Cursor::new(file)), false).unwrap();
        let f1 = r.next_frame().unwrap().unwrap();
        assert_eq!(
            (f1.number, f1.data.len(), f1.link_type),
            (1, 20, LinkType::ETHERNET)
        );
        let f2 = r.next_frame().unwrap().unwrap();
        assert_eq!(
            (f2.number, f2.data.len(), f2.time),
            (2, 20, Timestamp::new(1, 0))
        );
        assert!(r.next_frame().unwrap().is_none());
    }

    #[test]
    fn packet_block_naming_an_undescribed_interface_is_an_error() {
        let mut file = shb();
        let mut epb = 3u32.to_le_bytes().to_vec();
        epb.extend([0u8; 8]);
        epb.extend(4u32.to_le_bytes());
        epb.extend(4u32.to_le_bytes());
        epb.extend([1, 2, 3, 4]);
        file.extend(block(6, &epb));
        let mut r = CaptureReader::from_reader(Box::new(Cursor::new(file)), false).unwrap();
        let e = r.next_frame().unwrap_err();
        assert_eq!(e.offset, 28);
        assert!(
            e.to_string().contains("interface 3 was never described"),
            "{e}"
        );
    }

    #[test]
    fn absurd_record_length_is_named() {
        let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        file.extend([0u8; 8]);
        file.extend(65535u32.to_le_bytes());
        file.extend(1u32.to_le_bytes());
        file.extend([0u8; 8]);
        file.extend(0xffff_fff0u32.to_le_bytes());
        file.extend(60u32.to_le_bytes());
        file.extend([0u8; 100]);
        let mut r = CaptureReader::from_reader(Box::new(Cursor::new(file)), false).unwrap();
        let e = r.next_frame().unwrap_err();
        assert_eq!(e.offset, 24);
        assert!(
            matches!(e.kind, CaptureErrorKind::RecordTooLarge(n) if n >= 0xffff_fff0 || n == 0xf0ff_ffff),
            "{e}"
        );
    }
}
