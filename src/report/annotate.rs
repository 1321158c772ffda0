//! The annotated copy of a capture: every packet and block as it was, each finding as a
//! comment on the frames it cites and the verdict, the checklist and smtpcap's version in
//! the first section header, so that Wireshark shows them (display filter
//! `frame.comment contains "smtpcap"`; Expert Information; Capture File Properties).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::capture::blocks::{self, BlockFramer, RawBlock, OPT_COMMENT};
use crate::capture::{CaptureFormat, CaptureReader, FileDigest};
use crate::diagnosis::{Evidence, Finding, Severity};
use crate::tls::KeyLog;

/// Comments are one line of at most this many bytes.
const MAX_COMMENT: usize = 1024;
/// Every comment smtpcap writes starts so; annotating again replaces only these.
const PREFIX: &str = "smtpcap:";

/// The comments an annotated copy carries, collected while the report is made
/// ([`render_annotated`](crate::render_annotated); [`render`](crate::render) collects none).
/// Bounded: each distinct text is held once and frames refer to it; past 200,000
/// comments on frames or 4,096 texts the rest are counted, and the section comment says
/// how many were left out.
#[derive(Clone, Debug, Default)]
pub struct Annotations {
    collecting: bool,
    /// Each distinct comment once, by position.
    texts: Vec<Arc<str>>,
    index: FxHashMap<Arc<str>, u32>,
    /// (frame, text) as noted; sorted by frame, first noted first, once sealed.
    marks: Vec<(u64, u32)>,
    /// Comments on frames not kept past the bounds.
    left_out: u64,
    /// The first section header's comments, one line each.
    section: Vec<String>,
    /// The client randoms of the capture's TLS sessions (whose keys may be embedded).
    randoms: Vec<[u8; 32]>,
}

/// Client randoms kept at most (a key log line per session).
const MAX_RANDOMS: usize = 100_000;
/// Comments on frames kept at most (16 bytes each).
const MAX_MARKS: usize = 200_000;
/// Distinct comment texts kept at most (each at most [`MAX_COMMENT`] bytes).
const MAX_TEXTS: usize = 4096;

impl Annotations {
    /// Annotations that collect what the report notes.
    pub(crate) fn collecting() -> Self {
        Self {
            collecting: true,
            ..Self::default()
        }
    }

    /// One comment per finding on each frame it cites.
    pub(crate) fn findings<'a>(&mut self, findings: impl IntoIterator<Item = &'a Finding>) {
        if !self.collecting {
            return;
        }
        for f in findings {
            let severity = match f.severity {
                Severity::Error => "ERROR",
                Severity::Warning => "WARNING",
                Severity::Info => "INFO",
            };
            let text = format!(
                "{PREFIX} {severity} {}: {}. Fix: {}",
                f.id,
                f.title.trim_end_matches('.'),
                f.remediation
            );
            for e in &f.evidence {
                self.note(e.frame, &text);
            }
        }
    }

    /// The reply that decided session `id`.
    pub(crate) fn deciding(&mut self, id: usize, reply: &Evidence) {
        if self.collecting {
            self.note(
                reply.frame,
                &format!("{PREFIX} deciding reply of session {id}"),
            );
        }
    }

    /// The first section header's lines: the verdict, the checklist, the version.
    pub(crate) fn section(&mut self, lines: impl IntoIterator<Item = String>) {
        if self.collecting {
            for l in lines {
                self.section.push(one_line(&format!("{PREFIX} {l}")));
            }
        }
    }

    /// A TLS session of the capture, by its client random.
    pub(crate) fn tls_session(&mut self, random: [u8; 32]) {
        if self.collecting && self.randoms.len() < MAX_RANDOMS {
            self.randoms.push(random);
        }
    }

    fn note(&mut self, frame: u64, text: &str) {
        if self.marks.len() >= MAX_MARKS {
            self.left_out += 1;
            return;
        }
        let text = one_line(text);
        let id = match self.index.get(text.as_str()) {
            Some(&id) => id,
            None if self.texts.len() < MAX_TEXTS => {
                let id = u32::try_from(self.texts.len()).unwrap_or(u32::MAX);
                let text: Arc<str> = text.into();
                self.texts.push(Arc::clone(&text));
                self.index.insert(text, id);
                id
            }
            None => {
                self.left_out += 1;
                return;
            }
        };
        self.marks.push((frame, id));
    }

    /// Ends the collection: comments in frame order (one copy of a text per frame), the
    /// randoms once each, and a section line for what the bounds left out.
    pub(crate) fn seal(&mut self) {
        self.marks.sort_by_key(|m| m.0);
        let mut kept: Vec<(u64, u32)> = Vec::with_capacity(self.marks.len());
        let mut start = 0;
        for m in self.marks.drain(..) {
            if kept.last().is_none_or(|k| k.0 != m.0) {
                start = kept.len();
            }
            if !kept[start..].iter().any(|k| k.1 == m.1) {
                kept.push(m);
            }
        }
        self.marks = kept;
        self.randoms.sort_unstable();
        self.randoms.dedup();
        if self.left_out > 0 {
            self.section.push(format!(
                "{PREFIX} {} more comments on frames were left out: this copy carries the first {} noted; the report lists every finding",
                self.left_out,
                self.marks.len()
            ));
        }
    }

    /// The comments on `frame` (once sealed).
    pub fn on(&self, frame: u64) -> impl Iterator<Item = &str> + '_ {
        let from = self.marks.partition_point(|m| m.0 < frame);
        self.marks[from..]
            .iter()
            .take_while(move |m| m.0 == frame)
            .filter_map(|m| self.texts.get(m.1 as usize).map(AsRef::as_ref))
    }

    /// Whether any frame carries a comment.
    fn any_on_frames(&self) -> bool {
        !self.marks.is_empty()
    }
}

/// A comment as one line of UTF-8 without NUL, at most [`MAX_COMMENT`] bytes.
fn one_line(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.len() > MAX_COMMENT {
        let mut cut = MAX_COMMENT - 3;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// What writing a copy found.
#[derive(Debug, Default)]
pub struct Annotated {
    /// Frames copied.
    pub frames: u64,
    /// Comments written on frames.
    pub comments: u64,
    /// Where the original stopped reading, when it is damaged (what reads is copied).
    pub damaged: Option<String>,
}

/// What goes into an annotated copy besides the capture.
pub struct AnnotateWith<'a> {
    /// The file's size and SHA-256 as the analysis read it: a file that changed since is
    /// refused.
    pub digest: Option<&'a FileDigest>,
    /// Where the analysis found the capture unreadable, for the section comment.
    pub damage: Option<&'a str>,
    /// The comments.
    pub notes: &'a Annotations,
    /// `--embed-keys`: the key log whose lines for this capture's sessions are written in
    /// a Decryption Secrets Block (anyone holding the copy can then decrypt them).
    pub keys: Option<&'a KeyLog>,
}

/// Writes the annotated copy of the capture at `input` to `output` (through a temporary
/// file beside it).
///
/// # Errors
/// The input cannot be read again or has changed, or the output cannot be written.
pub fn write_annotated(
    input: &Path,
    with: &AnnotateWith<'_>,
    output: &Path,
) -> io::Result<Annotated> {
    let AnnotateWith {
        digest,
        damage,
        notes,
        keys,
    } = *with;
    let secrets = keys
        .map(|k| k.lines_for(&notes.randoms))
        .filter(|t| !t.is_empty());
    let reader = CaptureReader::open(input, true).map_err(|e| io::Error::other(e.to_string()))?;
    let tmp = output.with_extension("pcapng.part");
    let mut out = BufWriter::with_capacity(256 << 10, File::create(&tmp)?);
    let mut section = notes.section.clone();
    if let Some(d) = damage {
        section.push(one_line(&format!(
            "{PREFIX} the original is damaged {d}; what could be read is copied"
        )));
    }
    let written = if reader.format() == CaptureFormat::PcapNg {
        drop(reader);
        copy_pcapng(input, &section, notes, secrets.as_deref(), &mut out)
    } else {
        copy_pcap(reader, &section, notes, secrets.as_deref(), &mut out)
    };
    let (result, second) = match written {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    out.flush()?;
    drop(out);
    if let (Some(first), Some(second)) = (digest, second.as_ref()) {
        if first.sha256 != second.sha256 || first.size != second.size {
            let _ = std::fs::remove_file(&tmp);
            return Err(io::Error::other(
                "the capture changed while it was being analysed (its SHA-256 differs on the second reading)",
            ));
        }
    }
    std::fs::rename(&tmp, output)?;
    Ok(result)
}

type Copied = (Annotated, Option<FileDigest>);

/// Options of a block without smtpcap's earlier comments.
fn kept_options(block: &RawBlock) -> Vec<(u16, Vec<u8>)> {
    block
        .options()
        .into_iter()
        .filter(|(code, v)| !(*code == OPT_COMMENT && v.starts_with(PREFIX.as_bytes())))
        .collect()
}

fn comments<'a, S: AsRef<str> + 'a>(
    list: impl IntoIterator<Item = S> + 'a,
) -> impl Iterator<Item = (u16, Vec<u8>)> + 'a {
    list.into_iter()
        .map(|c| (OPT_COMMENT, c.as_ref().as_bytes().to_vec()))
}

/// A TLS key log Decryption Secrets Block, in the section's byte order.
fn write_secrets(out: &mut dyn Write, text: &str, big_endian: bool) -> io::Result<()> {
    let w = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut body = w(0x544C_534B).to_vec();
    body.extend(w(u32::try_from(text.len()).unwrap_or(u32::MAX)));
    body.extend(text.as_bytes());
    write_block(out, 0x0000_000A, &body, big_endian, &[])
}

fn copy_pcapng(
    input: &Path,
    section: &[String],
    notes: &Annotations,
    secrets: Option<&str>,
    out: &mut dyn Write,
) -> io::Result<Copied> {
    let open = || -> io::Result<_> {
        let src = crate::capture::open_raw(input)?;
        Ok((BlockFramer::new(src.0), src.1))
    };
    // Simple packet blocks have no options: their comments go in the section header,
    // which comes first, so they are found before the copy.
    let mut spb_notes = Vec::new();
    if notes.any_on_frames() {
        let (mut framer, _) = open()?;
        let mut frame = 0;
        while let Ok(Some(b)) = framer.next_block() {
            if blocks::is_frame(b.kind) {
                frame += 1;
                if b.kind == blocks::SIMPLE_PACKET {
                    for c in notes.on(frame) {
                        let text = c.trim_start_matches(PREFIX).trim_start();
                        spb_notes.push(one_line(&format!("{PREFIX} frame {frame}: {text}")));
                    }
                }
            }
        }
    }
    let (mut framer, digest) = open()?;
    let mut done = Annotated::default();
    let mut first_section = true;
    loop {
        let block = match framer.next_block() {
            Ok(Some(b)) => b,
            Ok(None) => break,
            Err(e) => {
                done.damaged = Some(e.to_string());
                break;
            }
        };
        let copy = match block.kind {
            blocks::SECTION_HEADER => {
                let mut options = kept_options(&block);
                if first_section {
                    first_section = false;
                    options.extend(comments(section));
                    options.extend(comments(&spb_notes));
                    let mut b = block.with_options(&options);
                    // Its length is no longer the section's: unknown.
                    b.bytes[16..24].copy_from_slice(&[0xff; 8]);
                    if let Some(text) = secrets {
                        // Right after the header, in the section's byte order.
                        out.write_all(&b.bytes)?;
                        write_secrets(out, text, b.big_endian)?;
                        continue;
                    }
                    b
                } else {
                    block.with_options(&options)
                }
            }
            // Not to be copied; Wireshark numbered it, so the frames after it move up one.
            blocks::CUSTOM_NOT_COPIED => {
                done.frames += 1;
                continue;
            }
            kind if blocks::is_frame(kind) => {
                done.frames += 1;
                let on: Vec<&str> = notes.on(done.frames).collect();
                let stale = block
                    .options()
                    .iter()
                    .any(|(c, v)| *c == OPT_COMMENT && v.starts_with(PREFIX.as_bytes()));
                if block.options_at().is_some() && (!on.is_empty() || stale) {
                    done.comments += on.len() as u64;
                    let mut options = kept_options(&block);
                    options.extend(comments(on));
                    block.with_options(&options)
                } else {
                    block
                }
            }
            _ => block,
        };
        out.write_all(&copy.bytes)?;
    }
    Ok((done, digest.and_then(|d| d.finish())))
}

fn copy_pcap(
    mut reader: CaptureReader,
    section: &[String],
    notes: &Annotations,
    secrets: Option<&str>,
    out: &mut dyn Write,
) -> io::Result<Copied> {
    reader.keep_fcs();
    let nanosecond = matches!(
        reader.format(),
        CaptureFormat::Pcap {
            nanosecond: true,
            ..
        }
    );
    let mut done = Annotated::default();
    let mut header_written = false;
    loop {
        // The frame is copied out so that the reader can be asked about its header.
        let (number, time, link, data, orig_len) = match reader.next_frame() {
            Ok(Some(f)) => (f.number, f.time, f.link_type, f.data.to_vec(), f.orig_len),
            Ok(None) => break,
            Err(e) => {
                done.damaged = Some(e.to_string());
                break;
            }
        };
        if !header_written {
            header_written = true;
            let facts = (reader.snaplen(), reader.fcs_len());
            write_headers(out, section, link.0, nanosecond, facts)?;
            if let Some(text) = secrets {
                write_secrets(out, text, false)?;
            }
        }
        done.frames += 1;
        let on: Vec<&str> = notes.on(number).collect();
        done.comments += on.len() as u64;
        let secs = u64::try_from(time.secs).unwrap_or(0);
        let units = if nanosecond {
            secs * 1_000_000_000 + u64::from(time.nanos)
        } else {
            secs * 1_000_000 + u64::from(time.nanos / 1000)
        };
        let caplen = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let mut body = Vec::with_capacity(data.len() + 24);
        body.extend(0u32.to_le_bytes());
        body.extend(((units >> 32) as u32).to_le_bytes());
        body.extend((units as u32).to_le_bytes());
        body.extend(caplen.to_le_bytes());
        body.extend(orig_len.max(caplen).to_le_bytes());
        body.extend(&data);
        let options: Vec<_> = comments(on).collect();
        write_block(out, blocks::ENHANCED_PACKET, &body, false, &options)?;
    }
    if !header_written {
        let link = reader.link_types().first().map_or(1, |l| l.0);
        write_headers(
            out,
            section,
            link,
            nanosecond,
            (reader.snaplen(), reader.fcs_len()),
        )?;
    }
    Ok((done, reader.digest()))
}

/// A section header with smtpcap's comments and one interface description.
fn write_headers(
    out: &mut dyn Write,
    section: &[String],
    link_type: u32,
    nanosecond: bool,
    (snaplen, fcs): (u32, usize),
) -> io::Result<()> {
    let mut shb = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
    shb.extend(1u16.to_le_bytes());
    shb.extend(0u16.to_le_bytes());
    shb.extend((-1i64).to_le_bytes());
    let options: Vec<_> = comments(section).collect();
    write_block(out, blocks::SECTION_HEADER, &shb, false, &options)?;
    let mut idb = (link_type as u16).to_le_bytes().to_vec();
    idb.extend(0u16.to_le_bytes());
    idb.extend(snaplen.to_le_bytes());
    let mut options = Vec::new();
    if nanosecond {
        options.push((9u16, vec![9u8]));
    }
    // if_fcslen: the FCS length, as the pcap header declared it.
    if fcs > 0 {
        options.push((13u16, vec![u8::try_from(fcs).unwrap_or(u8::MAX)]));
    }
    write_block(out, blocks::INTERFACE, &idb, false, &options)
}

/// A block of `kind` with `body` (its fields already in the byte order given) and
/// `options`: framed and its options encoded as a copied block's are.
fn write_block(
    out: &mut dyn Write,
    kind: u32,
    body: &[u8],
    big_endian: bool,
    options: &[(u16, Vec<u8>)],
) -> io::Result<()> {
    let mut bytes = if big_endian {
        kind.to_be_bytes()
    } else {
        kind.to_le_bytes()
    }
    .to_vec();
    bytes.extend([0u8; 4]);
    bytes.extend(body);
    bytes.resize(bytes.len().div_ceil(4) * 4 + 4, 0);
    let block = RawBlock {
        kind,
        big_endian,
        bytes,
        offset: 0,
    };
    out.write_all(&block.with_options(options).bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_in_frame_order_once_per_frame_and_the_rest_is_counted() {
        let mut n = Annotations::collecting();
        n.note(9, "smtpcap: b");
        n.note(3, "smtpcap: a");
        n.note(9, "smtpcap: c");
        n.note(9, "smtpcap: b");
        n.seal();
        assert_eq!(n.on(9).collect::<Vec<_>>(), ["smtpcap: b", "smtpcap: c"]);
        assert_eq!(n.on(3).collect::<Vec<_>>(), ["smtpcap: a"]);
        assert_eq!(n.on(4).count(), 0);
        assert_eq!(n.texts.len(), 3, "each text held once");
        assert!(n.section.is_empty());

        let mut n = Annotations::collecting();
        for frame in 0..MAX_MARKS as u64 + 5 {
            n.note(frame + 1, "smtpcap: same");
        }
        n.seal();
        assert_eq!(n.marks.len(), MAX_MARKS);
        assert_eq!(n.texts.len(), 1);
        assert_eq!(n.on(MAX_MARKS as u64).count(), 1);
        assert_eq!(n.on(MAX_MARKS as u64 + 1).count(), 0);
        assert!(
            n.section[0].starts_with("smtpcap: 5 more comments on frames were left out"),
            "{:?}",
            n.section
        );
    }

    #[test]
    fn a_report_without_a_copy_collects_nothing() {
        let mut n = Annotations::default();
        let reply = Evidence {
            frame: 7,
            text: "535 5.7.3".into(),
        };
        n.deciding(1, &reply);
        n.section(["VERDICT: FAIL".to_string()]);
        n.tls_session([1; 32]);
        n.seal();
        assert!(!n.any_on_frames() && n.section.is_empty() && n.randoms.is_empty());
    }
}
