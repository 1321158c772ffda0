use super::legacy::PcapVariant;
use super::reader::CaptureFormat;

/// What a file's first bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A capture smtpcap reads.
    Capture(CaptureFormat),
    /// gzip-compressed data (a compressed capture, perhaps: sniff what it decompresses to).
    Gzip,
    /// A capture format or compression smtpcap recognises but does not read.
    Unsupported(Unsupported),
}

/// The capture formats and compressions smtpcap names but does not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// Solaris `snoop` (magic `snoop\0\0\0`).
    Snoop,
    /// Microsoft Network Monitor 1.x (`RTSS`) or 2.x (`GMBU`).
    NetMon,
    /// Endace ERF (no magic: known by its `.erf` name).
    Erf,
    /// zstd-compressed data.
    Zstd,
    /// xz-compressed data.
    Xz,
    /// bzip2-compressed data.
    Bzip2,
}

impl Unsupported {
    /// What the file is, and what to do with it.
    #[must_use]
    pub fn advice(self) -> &'static str {
        match self {
            Unsupported::Snoop => {
                "a snoop capture (Solaris), which smtpcap does not read: convert it with `editcap -F pcapng`"
            }
            Unsupported::NetMon => {
                "a Microsoft Network Monitor capture, which smtpcap does not read: convert it with `editcap -F pcapng`"
            }
            Unsupported::Erf => {
                "an ERF capture (Endace), which smtpcap does not read: convert it with `editcap -F pcapng`"
            }
            Unsupported::Zstd => {
                "a zstd-compressed file: decompress it first (`zstd -d`); smtpcap reads gzip only"
            }
            Unsupported::Xz => {
                "an xz-compressed file: decompress it first (`xz -d`); smtpcap reads gzip only"
            }
            Unsupported::Bzip2 => {
                "a bzip2-compressed file: decompress it first (`bunzip2`); smtpcap reads gzip only"
            }
        }
    }
}

/// Recognises a capture (pcap in either byte order, µs or ns, patched tcpdump's; pcapng) or gzip from its
/// first bytes: 4 for a capture, 2 for gzip. The one place these magic numbers live.
#[must_use]
pub fn sniff(head: &[u8]) -> Option<Format> {
    match head {
        [0x1f, 0x8b, ..] => Some(Format::Gzip),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Format::Unsupported(Unsupported::Zstd)),
        [0xfd, 0x37, 0x7a, 0x58, ..] => Some(Format::Unsupported(Unsupported::Xz)),
        [b'B', b'Z', b'h', b'1'..=b'9', ..] => Some(Format::Unsupported(Unsupported::Bzip2)),
        [b'G', b'M', b'B', b'U', ..] | [b'R', b'T', b'S', b'S', ..] => {
            Some(Format::Unsupported(Unsupported::NetMon))
        }
        [b's', b'n', b'o', b'o', rest @ ..]
            if b"p\0\0\0".starts_with(&rest[..rest.len().min(4)]) =>
        {
            Some(Format::Unsupported(Unsupported::Snoop))
        }
        [0x0a, 0x0d, 0x0d, 0x0a, ..] => Some(Format::Capture(CaptureFormat::PcapNg)),
        [0xd4, 0xc3, 0xb2, 0xa1, ..] | [0xa1, 0xb2, 0xc3, 0xd4, ..] => {
            Some(Format::Capture(CaptureFormat::PCAP))
        }
        [0x4d, 0x3c, 0xb2, 0xa1, ..] | [0xa1, 0xb2, 0x3c, 0x4d, ..] => {
            Some(Format::Capture(CaptureFormat::Pcap {
                nanosecond: true,
                variant: PcapVariant::Standard,
            }))
        }
        // Patched tcpdump's; 24- or 28-byte records, told apart when the records are read.
        [0x34, 0xcd, 0xb2, 0xa1, ..] | [0xa1, 0xb2, 0xcd, 0x34, ..] => {
            Some(Format::Capture(CaptureFormat::Pcap {
                nanosecond: false,
                variant: PcapVariant::Modified,
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_magic_and_nothing_shorter() {
        let pcap = Format::Capture(CaptureFormat::PCAP);
        assert_eq!(sniff(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]), Some(pcap));
        assert_eq!(sniff(&[0xa1, 0xb2, 0xc3, 0xd4]), Some(pcap));
        assert_eq!(
            sniff(&[0xa1, 0xb2, 0x3c, 0x4d]),
            Some(Format::Capture(CaptureFormat::Pcap {
                nanosecond: true,
                variant: PcapVariant::Standard
            }))
        );
        for modified in [[0x34, 0xcd, 0xb2, 0xa1], [0xa1, 0xb2, 0xcd, 0x34]] {
            assert_eq!(
                sniff(&modified),
                Some(Format::Capture(CaptureFormat::Pcap {
                    nanosecond: false,
                    variant: PcapVariant::Modified
                }))
            );
        }
        assert_eq!(
            sniff(&[0x0a, 0x0d, 0x0d, 0x0a]),
            Some(Format::Capture(CaptureFormat::PcapNg))
        );
        assert_eq!(sniff(&[0x1f, 0x8b]), Some(Format::Gzip));
        assert_eq!(sniff(&[0xd4, 0xc3, 0xb2]), None);
        assert_eq!(sniff(b"# smtpcap"), None);
        assert_eq!(sniff(&[]), None);
    }
}
