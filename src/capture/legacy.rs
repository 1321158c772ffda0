//! Classic pcap's record-header variants that libpcap and Wireshark read and pcap-parser
//! does not: Alexey Kuznetsov's patched tcpdump (magic `a1b2cd34`: 24-byte record
//! headers, 28 in SUSE 6.3's build, in either byte order), and two that carry the
//! standard magic, Red Hat 6.1's (24 bytes) and Nokia's (20). The standard layout stays
//! with pcap-parser's `LegacyPcapReader`.

use std::io::Read;

use pcap_parser::{LegacyPcapBlock, Linktype, PcapBlockOwned, PcapError, PcapHeader};

use pcap_parser::traits::PcapReaderIterator;

/// Which record header a classic pcap file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PcapVariant {
    /// 16 bytes: seconds, fraction, captured and original length.
    Standard,
    /// Patched tcpdump (magic `a1b2cd34`): 24 bytes, with interface index, protocol and
    /// packet type (`editcap -F modpcap`).
    Modified,
    /// SUSE Linux 6.3's patched tcpdump (magic `a1b2cd34`): 28 bytes, with two CPU bytes
    /// and more padding (`editcap -F suse6_3pcap`).
    Suse63,
    /// Red Hat Linux 6.1's patched tcpdump (standard magic): 24 bytes
    /// (`editcap -F rh6_1pcap`).
    RedHat61,
    /// Nokia firewalls' tcpdump (standard magic): 20 bytes (`editcap -F nokiapcap`).
    Nokia,
}

impl PcapVariant {
    /// The length of each record's header.
    #[must_use]
    pub fn record_header_len(self) -> usize {
        match self {
            PcapVariant::Standard => 16,
            PcapVariant::Nokia => 20,
            PcapVariant::Modified | PcapVariant::RedHat61 => 24,
            PcapVariant::Suse63 => 28,
        }
    }
}

/// What the 24-byte file header says.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileHeader {
    pub(crate) big_endian: bool,
    pub(crate) nanosecond: bool,
    /// Magic `a1b2cd34`: one of Kuznetsov's layouts.
    pub(crate) modified: bool,
    pub(crate) snaplen: u32,
    /// The link-type field as written (its upper bits may carry the FCS length).
    pub(crate) network: u32,
}

impl FileHeader {
    pub(crate) fn parse(b: &[u8]) -> Option<FileHeader> {
        let magic: [u8; 4] = b.get(..4)?.try_into().ok()?;
        let (big_endian, nanosecond, modified) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false, false),
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true, false),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true, false),
            [0x34, 0xcd, 0xb2, 0xa1] => (false, false, true),
            [0xa1, 0xb2, 0xcd, 0x34] => (true, false, true),
            _ => return None,
        };
        let mut header = FileHeader {
            big_endian,
            nanosecond,
            modified,
            snaplen: 0,
            network: 0,
        };
        header.snaplen = header.u32_at(b, 16)?;
        header.network = header.u32_at(b, 20)?;
        Some(header)
    }

    fn u32_at(self, b: &[u8], at: usize) -> Option<u32> {
        let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        })
    }

    /// Whether the records after the file header in `file` (its first bytes; `whole`
    /// when they are all of it) read sanely with `variant`: three records, or all there
    /// are, each with a fraction below one second, a captured length no more than the
    /// original, both plausible, and the record whole.
    pub(crate) fn reads_sanely(self, file: &[u8], whole: bool, variant: PcapVariant) -> bool {
        const RECORDS: usize = 3;
        let mut at = 24;
        for _ in 0..RECORDS {
            if at == file.len() && whole {
                return at > 24;
            }
            match self.record_at(file, at, variant.record_header_len()) {
                Record::Implausible => return false,
                // Cut off by the look-ahead, not by the file: sane so far.
                Record::Missing => return !whole && at > 24,
                Record::EndsAt(end) if end > file.len() => return !whole && at > 24,
                Record::EndsAt(end) => at = end,
            }
        }
        true
    }

    /// The layout this file's records use: the one its magic implies when that reads
    /// sanely, else the other of its family that does; the magic's own when none does
    /// (the damage is then reported as for any pcap).
    pub(crate) fn variant(self, file: &[u8], whole: bool) -> PcapVariant {
        let (usual, others): (PcapVariant, &[PcapVariant]) = if self.modified {
            (PcapVariant::Modified, &[PcapVariant::Suse63])
        } else {
            (
                PcapVariant::Standard,
                &[PcapVariant::RedHat61, PcapVariant::Nokia],
            )
        };
        if self.reads_sanely(file, whole, usual) {
            return usual;
        }
        // The standard reading must fail on the first record itself, not later.
        if !self.modified && self.first_record_sane(file) {
            return usual;
        }
        others
            .iter()
            .copied()
            .find(|&v| self.reads_sanely(file, whole, v))
            .unwrap_or(usual)
    }

    /// Whether the standard reading gets through the first record: it is whole, and
    /// the file ends after it or a plausible record header follows.
    fn first_record_sane(self, file: &[u8]) -> bool {
        match self.record_at(file, 24, 16) {
            Record::Missing => true,
            Record::Implausible => false,
            Record::EndsAt(end) if end > file.len() => false,
            Record::EndsAt(end) => {
                end == file.len() || !matches!(self.record_at(file, end, 16), Record::Implausible)
            }
        }
    }

    /// What the record header (`hlen` bytes) at `at` says.
    fn record_at(self, file: &[u8], at: usize, hlen: usize) -> Record {
        let second = if self.nanosecond {
            1_000_000_000
        } else {
            1_000_000
        };
        let fields = (
            self.u32_at(file, at + 4),
            self.u32_at(file, at + 8),
            self.u32_at(file, at + 12),
        );
        let (Some(frac), Some(caplen), Some(origlen)) = fields else {
            return Record::Missing;
        };
        if frac < second && caplen <= origlen && caplen <= MAX_RECORD && origlen <= MAX_ORIGINAL {
            Record::EndsAt(at + hlen + caplen as usize)
        } else {
            Record::Implausible
        }
    }
}

/// A record header as read at some offset.
enum Record {
    /// The file (or the look-ahead) ends before it.
    Missing,
    Implausible,
    /// Plausible; the record ends at this offset.
    EndsAt(usize),
}

/// No packet record is larger (libpcap's largest snapshot length).
const MAX_RECORD: u32 = 262_144;
const MAX_ORIGINAL: u32 = 64 << 20;

/// A streaming reader of one variant's records, in the shape of pcap-parser's readers
/// (`next` / `consume` / `refill`), so the capture reader treats it like theirs.
pub(crate) struct VariantReader<R: Read> {
    header: FileHeader,
    variant: PcapVariant,
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    consumed: usize,
    exhausted: bool,
}

impl<R: Read> VariantReader<R> {
    /// Reads the first `capacity` bytes of `reader`, which starts with the file header.
    pub(crate) fn new(
        capacity: usize,
        mut reader: R,
        header: FileHeader,
        variant: PcapVariant,
    ) -> Result<Self, PcapError<&'static [u8]>> {
        let mut buf = vec![0; capacity.max(64)];
        let n = reader.read(&mut buf).map_err(|_| PcapError::ReadError)?;
        if n < 24 {
            return Err(PcapError::Incomplete(24 - n));
        }
        Ok(VariantReader {
            header,
            variant,
            reader,
            buf,
            start: 0,
            end: n,
            consumed: 0,
            exhausted: false,
        })
    }

    fn incomplete(&self, need: usize) -> PcapError<&'static [u8]> {
        if self.exhausted {
            PcapError::UnexpectedEof
        } else if need >= self.buf.len() {
            PcapError::BufferTooSmall
        } else {
            PcapError::Incomplete(need - (self.end - self.start))
        }
    }
}

impl<R: Read> PcapReaderIterator for VariantReader<R> {
    fn next(&mut self) -> Result<(usize, PcapBlockOwned<'_>), PcapError<&'_ [u8]>> {
        if self.consumed == 0 {
            let h = self.header;
            let magic = if h.modified { 0xa1b2_cd34 } else { 0xa1b2_c3d4 };
            let header = PcapHeader {
                magic_number: magic,
                version_major: 2,
                version_minor: 4,
                thiszone: 0,
                sigfigs: 0,
                snaplen: h.snaplen,
                network: Linktype(h.network as i32),
            };
            return Ok((24, PcapBlockOwned::LegacyHeader(header)));
        }
        let available = self.end - self.start;
        if available == 0 && self.exhausted {
            return Err(PcapError::Eof);
        }
        let hlen = self.variant.record_header_len();
        if available < hlen {
            return Err(self.incomplete(hlen));
        }
        let data = &self.buf[self.start..self.end];
        let field = |at: usize| self.header.u32_at(data, at).unwrap_or(0);
        let (ts_sec, ts_usec, caplen, origlen) = (field(0), field(4), field(8), field(12));
        let need = hlen.saturating_add(caplen as usize);
        if available < need {
            return Err(self.incomplete(need));
        }
        let block = LegacyPcapBlock {
            ts_sec,
            ts_usec,
            caplen,
            origlen,
            data: &data[hlen..need],
        };
        Ok((need, PcapBlockOwned::Legacy(block)))
    }

    fn consume(&mut self, offset: usize) {
        self.consume_noshift(offset);
        self.shift();
    }

    fn consume_noshift(&mut self, offset: usize) {
        let offset = offset.min(self.end - self.start);
        self.start += offset;
        self.consumed += offset;
    }

    fn consumed(&self) -> usize {
        self.consumed
    }

    fn refill(&mut self) -> Result<(), PcapError<&[u8]>> {
        self.shift();
        if self.end == self.buf.len() {
            return Ok(());
        }
        let n = self
            .reader
            .read(&mut self.buf[self.end..])
            .map_err(|_| PcapError::ReadError)?;
        self.exhausted = n == 0;
        self.end += n;
        Ok(())
    }

    fn position(&self) -> usize {
        self.start
    }

    fn grow(&mut self, new_size: usize) -> bool {
        if new_size > self.buf.len() {
            self.buf.resize(new_size, 0);
        }
        true
    }

    fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn reader_exhausted(&self) -> bool {
        self.exhausted
    }
}

impl<R: Read> VariantReader<R> {
    fn shift(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(magic: [u8; 4], hlen: usize, records: &[&[u8]]) -> Vec<u8> {
        let mut f = magic.to_vec();
        f.extend(2u16.to_le_bytes());
        f.extend(4u16.to_le_bytes());
        f.extend([0u8; 8]);
        f.extend(65535u32.to_le_bytes());
        f.extend(1u32.to_le_bytes());
        for (i, r) in records.iter().enumerate() {
            f.extend((1_000 + i as u32).to_le_bytes());
            f.extend(500_000u32.to_le_bytes());
            f.extend((r.len() as u32).to_le_bytes());
            f.extend((r.len() as u32).to_le_bytes());
            f.extend(vec![0x77; hlen - 16]);
            f.extend(*r);
        }
        f
    }

    #[test]
    fn modified_magic_chooses_24_or_28_by_what_reads() {
        let records: [&[u8]; 3] = [&[1; 60], &[2; 61], &[3; 200]];
        for (hlen, want) in [(24, PcapVariant::Modified), (28, PcapVariant::Suse63)] {
            let f = file([0x34, 0xcd, 0xb2, 0xa1], hlen, &records);
            let h = FileHeader::parse(&f).unwrap();
            assert!(h.modified && !h.big_endian);
            assert_eq!(h.variant(&f, true), want, "{hlen}");
        }
    }

    #[test]
    fn standard_magic_tries_the_others_only_when_the_first_record_fails() {
        let records: [&[u8]; 3] = [&[1; 60], &[2; 61], &[3; 200]];
        let standard = file([0xd4, 0xc3, 0xb2, 0xa1], 16, &records);
        let h = FileHeader::parse(&standard).unwrap();
        assert_eq!(h.variant(&standard, true), PcapVariant::Standard);
        for (hlen, want) in [(24, PcapVariant::RedHat61), (20, PcapVariant::Nokia)] {
            let f = file([0xd4, 0xc3, 0xb2, 0xa1], hlen, &records);
            assert_eq!(h.variant(&f, true), want, "{hlen}");
        }
        // Cut inside the first record: no other reading, the damage stays the standard's.
        let cut = &standard[..50];
        assert_eq!(h.variant(cut, true), PcapVariant::Standard);
    }

    #[test]
    fn reads_records_across_refills() {
        let records: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; 100 + usize::from(i)]).collect();
        let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        let f = file([0x34, 0xcd, 0xb2, 0xa1], 28, &refs);
        let h = FileHeader::parse(&f).unwrap();
        let mut r =
            VariantReader::new(256, std::io::Cursor::new(f), h, PcapVariant::Suse63).unwrap();
        let mut got = Vec::new();
        loop {
            match r.next() {
                Ok((n, PcapBlockOwned::Legacy(b))) => {
                    got.push(b.data.to_vec());
                    r.consume(n);
                }
                Ok((n, _)) => r.consume(n),
                Err(PcapError::Eof) => break,
                Err(PcapError::Incomplete(_)) => r.refill().unwrap(),
                Err(PcapError::BufferTooSmall) => {
                    let n = r.buf.len() * 2;
                    r.grow(n);
                    r.refill().unwrap();
                }
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(got, records);
    }
}
