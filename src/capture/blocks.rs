//! pcapng blocks as they are on disk, for a copy that keeps every block byte for byte:
//! a small framer (type, length, body; byte order per section from its header's magic)
//! and the option list of the blocks that carry comments.

use std::io::Read;

use super::error::{CaptureError, CaptureErrorKind};
use super::source::read_full;

/// Block types.
pub const SECTION_HEADER: u32 = 0x0A0D_0D0A;
/// Interface Description Block.
pub const INTERFACE: u32 = 0x0000_0001;
/// Obsolete Packet Block.
pub const OBSOLETE_PACKET: u32 = 0x0000_0002;
/// Simple Packet Block (no options, no time stamp).
pub const SIMPLE_PACKET: u32 = 0x0000_0003;
/// Enhanced Packet Block.
pub const ENHANCED_PACKET: u32 = 0x0000_0006;
/// systemd Journal Export Block.
pub const SYSTEMD_JOURNAL: u32 = 0x0000_0009;
/// A custom block its writer marked as not to be copied.
pub const CUSTOM_NOT_COPIED: u32 = 0x4000_0BAD;
/// `opt_endofopt`.
pub const OPT_ENDOFOPT: u16 = 0;
/// `opt_comment`.
pub const OPT_COMMENT: u16 = 1;

/// Blocks larger than this are taken for damage (as the reader does).
const MAX_BLOCK: usize = 64 << 20;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// A custom block that may be copied.
pub const CUSTOM_COPIED: u32 = 0x0000_0BAD;

/// Whether a block is a record Wireshark numbers as a frame: packets, systemd journal
/// entries, custom blocks and sysdig events.
#[must_use]
pub fn is_frame(kind: u32) -> bool {
    matches!(
        kind,
        ENHANCED_PACKET
            | SIMPLE_PACKET
            | OBSOLETE_PACKET
            | SYSTEMD_JOURNAL
            | CUSTOM_COPIED
            | CUSTOM_NOT_COPIED
            | 0x204
            | 0x208
            | 0x216
            | 0x217
            | 0x221
            | 0x222
    )
}

/// One block, whole, as read.
#[derive(Clone, Debug)]
pub struct RawBlock {
    /// The block type.
    pub kind: u32,
    /// The section's byte order.
    pub big_endian: bool,
    /// The block from its type to its trailing length.
    pub bytes: Vec<u8>,
    /// Its offset in the (decompressed) file.
    pub offset: u64,
}

impl RawBlock {
    fn u32_at(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// Where the options start: after the fixed fields (and the packet data) of the
    /// blocks that carry comments; `None` for the others.
    #[must_use]
    pub fn options_at(&self) -> Option<usize> {
        match self.kind {
            SECTION_HEADER => Some(24),
            INTERFACE => Some(16),
            ENHANCED_PACKET | OBSOLETE_PACKET => {
                let caplen = self.u32_at(20)? as usize;
                Some(28 + caplen.div_ceil(4) * 4)
            }
            _ => None,
        }
    }

    /// The block's options: (code, value).
    #[must_use]
    pub fn options(&self) -> Vec<(u16, Vec<u8>)> {
        let Some(mut at) = self.options_at() else {
            return Vec::new();
        };
        let end = self.bytes.len().saturating_sub(4);
        let mut out = Vec::new();
        while at + 4 <= end {
            let u16_at = |i: usize| {
                let b = [self.bytes[i], self.bytes[i + 1]];
                if self.big_endian {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                }
            };
            let (code, len) = (u16_at(at), usize::from(u16_at(at + 2)));
            if code == OPT_ENDOFOPT {
                break;
            }
            let Some(value) = self.bytes.get(at + 4..at + 4 + len) else {
                break;
            };
            out.push((code, value.to_vec()));
            at += 4 + len.div_ceil(4) * 4;
        }
        out
    }

    /// The block with `options` in place of its own (the fixed part kept byte for byte),
    /// both length fields updated.
    #[must_use]
    pub fn with_options(&self, options: &[(u16, Vec<u8>)]) -> RawBlock {
        let at = self
            .options_at()
            .unwrap_or(self.bytes.len().saturating_sub(4));
        let mut bytes = self.bytes[..at.min(self.bytes.len())].to_vec();
        let put16 = |b: &mut Vec<u8>, v: u16| {
            b.extend(if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            });
        };
        for (code, value) in options {
            let len = value.len().min(usize::from(u16::MAX));
            put16(&mut bytes, *code);
            put16(&mut bytes, len as u16);
            bytes.extend(&value[..len]);
            bytes.resize(bytes.len() + (4 - len % 4) % 4, 0);
        }
        if !options.is_empty() {
            put16(&mut bytes, OPT_ENDOFOPT);
            put16(&mut bytes, 0);
        }
        let total = (bytes.len() + 4) as u32;
        let total = if self.big_endian {
            total.to_be_bytes()
        } else {
            total.to_le_bytes()
        };
        bytes[4..8].copy_from_slice(&total);
        bytes.extend(total);
        RawBlock {
            kind: self.kind,
            big_endian: self.big_endian,
            bytes,
            offset: self.offset,
        }
    }
}

/// Reads a pcapng file block by block.
pub struct BlockFramer<R: Read> {
    inner: R,
    big_endian: bool,
    offset: u64,
}

impl<R: Read> BlockFramer<R> {
    /// A framer at the start of a pcapng file.
    pub fn new(inner: R) -> Self {
        BlockFramer {
            inner,
            big_endian: false,
            offset: 0,
        }
    }

    /// The next block; `Ok(None)` at the end of the file.
    ///
    /// # Errors
    /// The file cannot be read, or a block is cut off or claims an impossible length
    /// (the error names the offset).
    pub fn next_block(&mut self) -> Result<Option<RawBlock>, CaptureError> {
        let offset = self.offset;
        let io = |e: std::io::Error| CaptureError::new(offset, CaptureErrorKind::Io(e));
        let mut head = [0u8; 12];
        let got = read_full(&mut self.inner, &mut head[..8]).map_err(io)?;
        if got == 0 {
            return Ok(None);
        }
        if got < 8 {
            return Err(CaptureError::new(offset, CaptureErrorKind::Truncated));
        }
        let le = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let mut have = 8;
        if le == SECTION_HEADER {
            // The section's byte order is in its header, after the length.
            if read_full(&mut self.inner, &mut head[8..12]).map_err(io)? < 4 {
                return Err(CaptureError::new(offset, CaptureErrorKind::Truncated));
            }
            have = 12;
            let magic = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
            self.big_endian = magic != BYTE_ORDER_MAGIC;
        }
        let word = |at: usize| {
            let b = [head[at], head[at + 1], head[at + 2], head[at + 3]];
            if self.big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let kind = word(0);
        let len = word(4) as usize;
        if len < 12 || len % 4 != 0 || len > MAX_BLOCK {
            return Err(CaptureError::new(
                offset,
                CaptureErrorKind::Malformed(format!("pcapng block (length {len})")),
            ));
        }
        let mut bytes = head[..have].to_vec();
        bytes.resize(len, 0);
        if read_full(&mut self.inner, &mut bytes[have..]).map_err(io)? < len - have {
            return Err(CaptureError::new(offset, CaptureErrorKind::Truncated));
        }
        self.offset += len as u64;
        Ok(Some(RawBlock {
            kind,
            big_endian: self.big_endian,
            bytes,
            offset,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_replaced_in_either_byte_order() {
        for big in [false, true] {
            let w32 = |v: u32| {
                if big {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                }
            };
            let w16 = |v: u16| {
                if big {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                }
            };
            // An EPB with 5 bytes of data and one comment "hi".
            let mut b = Vec::new();
            b.extend(w32(ENHANCED_PACKET));
            b.extend(w32(0));
            b.extend(w32(0));
            b.extend(w32(1));
            b.extend(w32(2));
            b.extend(w32(5));
            b.extend(w32(5));
            b.extend([1, 2, 3, 4, 5, 0, 0, 0]);
            b.extend(w16(OPT_COMMENT));
            b.extend(w16(2));
            b.extend(*b"hi\0\0");
            b.extend(w16(0));
            b.extend(w16(0));
            let len = (b.len() + 4) as u32;
            b[4..8].copy_from_slice(&w32(len));
            b.extend(w32(len));
            let mut framer = BlockFramer::new(std::io::Cursor::new(b.clone()));
            framer.big_endian = big;
            let block = framer.next_block().unwrap().unwrap();
            assert_eq!(block.options(), vec![(OPT_COMMENT, b"hi".to_vec())]);
            let more = block.with_options(&[
                (OPT_COMMENT, b"hi".to_vec()),
                (OPT_COMMENT, b"smtpcap: x".to_vec()),
            ]);
            assert_eq!(more.bytes.len() % 4, 0);
            assert_eq!(more.u32_at(4), Some(more.bytes.len() as u32));
            assert_eq!(more.options().len(), 2);
            // The type and the fixed part with the packet are kept byte for byte.
            assert_eq!(&more.bytes[..4], &b[..4]);
            assert_eq!(&more.bytes[8..36], &b[8..36]);
        }
    }
}
