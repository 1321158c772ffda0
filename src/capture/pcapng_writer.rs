//! Writes what a live capture saw as pcapng (one section, one interface per link type,
//! nanosecond time stamps), so that the evidence can be analysed again and attached.

use std::io::{self, Write};

use super::LinkType;
use crate::base::Timestamp;

/// A pcapng file being written.
pub struct PcapngWriter<W: Write> {
    out: W,
    /// The link type of each interface described so far (its index is its id).
    interfaces: Vec<LinkType>,
}

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const EPB: u32 = 6;
/// `if_tsresol` = 9: time stamps in nanoseconds.
const TSRESOL_NS: u8 = 9;

impl<W: Write> PcapngWriter<W> {
    /// Starts the file: its section header (`application` in `shb_userappl`).
    ///
    /// # Errors
    /// Writing failed.
    pub fn new(mut out: W, application: &str) -> io::Result<Self> {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        option(&mut body, 4, application.as_bytes()); // shb_userappl
        option(&mut body, 0, &[]);
        block(&mut out, SHB, &body)?;
        Ok(PcapngWriter {
            out,
            interfaces: Vec::new(),
        })
    }

    /// Writes one frame as it was captured (`original`: its length on the wire).
    ///
    /// # Errors
    /// Writing failed.
    pub fn frame(
        &mut self,
        link: LinkType,
        time: Timestamp,
        data: &[u8],
        original: usize,
    ) -> io::Result<()> {
        let iface = if let Some(i) = self.interfaces.iter().position(|l| *l == link) {
            i
        } else {
            {
                let mut body = Vec::new();
                body.extend_from_slice(&(link.0 as u16).to_le_bytes());
                body.extend_from_slice(&0u16.to_le_bytes());
                body.extend_from_slice(&0u32.to_le_bytes()); // no snapshot length
                option(&mut body, 9, &[TSRESOL_NS]);
                option(&mut body, 0, &[]);
                block(&mut self.out, IDB, &body)?;
                self.interfaces.push(link);
                self.interfaces.len() - 1
            }
        };
        let ns = u64::try_from(time.secs)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(time.nanos));
        let mut body = Vec::with_capacity(20 + data.len() + 3);
        body.extend_from_slice(&(iface as u32).to_le_bytes());
        body.extend_from_slice(&((ns >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ns as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&(original.max(data.len()) as u32).to_le_bytes());
        body.extend_from_slice(data);
        pad(&mut body);
        block(&mut self.out, EPB, &body)
    }

    /// Pushes what is buffered to the file.
    ///
    /// # Errors
    /// Writing failed.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(value.len() as u16).to_le_bytes());
    body.extend_from_slice(value);
    pad(body);
}

fn pad(body: &mut Vec<u8>) {
    while body.len() % 4 != 0 {
        body.push(0);
    }
}

fn block<W: Write>(out: &mut W, kind: u32, body: &[u8]) -> io::Result<()> {
    let len = (12 + body.len()) as u32;
    out.write_all(&kind.to_le_bytes())?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&len.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureReader;

    #[test]
    fn what_is_written_reads_back_frame_for_frame() {
        let mut file = Vec::new();
        let mut w = PcapngWriter::new(&mut file, "smtpcap test").unwrap();
        let t = Timestamp::new(1_800_000_000, 123_456_789);
        w.frame(LinkType::ETHERNET, t, &[1, 2, 3, 4, 5], 5).unwrap();
        w.frame(LinkType::RAW, t, &[9; 7], 60).unwrap();
        w.frame(LinkType::ETHERNET, t, &[6; 3], 3).unwrap();
        drop(w);
        let mut r = CaptureReader::from_bytes(Box::new(std::io::Cursor::new(file))).unwrap();
        let mut got = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            got.push((f.link_type, f.time, f.data.to_vec()));
        }
        assert_eq!(
            got,
            vec![
                (LinkType::ETHERNET, t, vec![1, 2, 3, 4, 5]),
                (LinkType::RAW, t, vec![9; 7]),
                (LinkType::ETHERNET, t, vec![6; 3]),
            ]
        );
    }
}
