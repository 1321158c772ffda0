use super::legacy::PcapVariant;
use super::reader::CaptureFormat;

/// What a file's first bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A capture smtpcap reads.
    Capture(CaptureFormat),
    /// gzip-compressed data (a compressed capture, perhaps: sniff what it decompresses to).
    Gzip,
}

/// Recognises a capture (pcap in either byte order, µs or ns, patched tcpdump's; pcapng) or gzip from its
/// first bytes: 4 for a capture, 2 for gzip. The one place these magic numbers live.
#[must_use]
pub fn sniff(head: &[u8]) -> Option<Format> {
    match head {
        [0x1f, 0x8b, ..] => Some(Format::Gzip),
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
