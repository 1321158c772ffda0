use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use super::pipeline::Pipeline;
use super::{involves_hosts, Analysis, CaptureProblem, Session};
use crate::base::Timestamp;
use crate::capture::{CaptureError, CaptureReader, Frame, Item};
use crate::tls::KeyLog;

/// What a frame source has next.
pub(crate) enum Next<'a> {
    /// A captured frame.
    Frame(Frame<'a>),
    /// No frame, but the clock reads this (a live source, between packets).
    #[cfg_attr(not(test), allow(dead_code))] // made by live sources, and by the tests
    Tick(Timestamp),
    /// TLS key log text the capture carries (a pcapng Decryption Secrets Block).
    Secrets(Vec<u8>),
    /// The input is over.
    End,
}

/// Where frames come from: a capture file or stream, or (live) an interface.
pub(crate) trait FrameSource: Send {
    /// The next frame, tick or end; an error ends the input.
    fn next(&mut self) -> Result<Next<'_>, CaptureError>;
    /// Fills in what the source knows of the capture: format, link types, frames.
    fn describe(&self, a: &mut Analysis);
}

impl FrameSource for CaptureReader {
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        Ok(match self.next_item()? {
            Item::Frame(frame) => Next::Frame(frame),
            Item::Secrets(text) => Next::Secrets(text),
            Item::End => Next::End,
        })
    }

    fn describe(&self, a: &mut Analysis) {
        a.format = Some(self.format().name());
        a.compression = self.gzip().then_some("gzip");
        a.link_types = self.link_types().iter().map(|l| l.name()).collect();
        a.packets = self.frames();
        a.digest = self.digest();
    }
}

/// Frames between two updates of a live capture's progress while packets keep coming (it
/// is updated at every clock tick too).
const STATUS_EVERY: u64 = 512;

/// A live capture's stop switch and what it has seen, shared across threads.
#[derive(Clone, Debug)]
pub struct LiveHandle {
    stop: Arc<std::sync::atomic::AtomicBool>,
    counters: Arc<super::LiveCounters>,
}

impl LiveHandle {
    /// Ends the capture: the frames already read are analysed, then the sessions still
    /// open are concluded and handed on.
    pub fn stop(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Frames read so far.
    pub fn frames(&self) -> u64 {
        self.counters
            .frames
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Packets the kernel dropped, once an interface capture has ended.
    pub fn dropped(&self) -> Option<u64> {
        use std::sync::atomic::Ordering::Relaxed;
        self.counters
            .dropped_known
            .load(Relaxed)
            .then(|| self.counters.dropped.load(Relaxed))
    }

    /// What captures on the interface (`None`: a capture stream).
    pub fn captured_with(&self) -> Option<super::CaptureWith> {
        self.counters.captured_with
    }

    /// Conversations in progress (that may be SMTP or POP3) at the last tick, and the
    /// newest of them as `client → server`.
    pub fn in_progress(&self) -> (usize, Option<String>) {
        let open = self
            .counters
            .open
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default();
        open
    }

    fn publish(
        &self,
        (n, newest): (
            usize,
            Option<(crate::base::Endpoint, crate::base::Endpoint, u64)>,
        ),
    ) {
        if let Ok(mut o) = self.counters.open.lock() {
            *o = (n, newest.map(|(c, s, _)| format!("{c} → {s}")));
        }
    }
}

/// How a capture is read.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Keep only the sessions (and DNS lookups) of these devices or servers (empty: all).
    pub hosts: Vec<ipnet::IpNet>,
    /// Compute the file's size and SHA-256 while reading it ([`Analysis::digest`]).
    pub digest: bool,
    /// TLS secrets (read with [`KeyLog::add`]) to decrypt the sessions after STARTTLS;
    /// the secrets a pcapng file carries are used as well.
    pub keys: Option<Arc<KeyLog>>,
}

/// An open capture: an iterator over its SMTP and POP3 sessions, each handed on as soon
/// as its conversation is over (in order of first frame, numbered from 1), read as they
/// are asked for. Memory does not grow with the capture.
///
/// ```
/// let mut capture = smtpcap::Capture::open("samples/plain-mx-swaks.pcap")?;
/// let ids: Vec<usize> = capture.by_ref().map(|session| session.id).collect();
/// assert_eq!(ids, [1]);
/// let summary = capture.finish();
/// assert!(summary.error.is_none());
/// # Ok::<(), smtpcap::CaptureError>(())
/// ```
pub struct Capture {
    name: String,
    /// A live capture's stop switch and counters.
    live: Option<LiveHandle>,
    source: Box<dyn FrameSource>,
    pipeline: Pipeline,
    hosts: Vec<ipnet::IpNet>,
    error: Option<CaptureProblem>,
    ended: bool,
}

impl Capture {
    /// Opens the capture at `path` (pcap or pcapng, gzip-compressed or not; `-` for
    /// standard input).
    ///
    /// # Errors
    /// The file cannot be opened, or is not a capture (the error names the byte offset).
    pub fn open(path: impl AsRef<Path>) -> Result<Capture, CaptureError> {
        Capture::open_with(path, &Options::default())
    }

    /// Like [`Capture::open`], with options.
    ///
    /// # Errors
    /// As [`Capture::open`].
    pub fn open_with(path: impl AsRef<Path>, options: &Options) -> Result<Capture, CaptureError> {
        let path = path.as_ref();
        let reader = CaptureReader::open(path, options.digest)?;
        Ok(Capture::new(
            path.display().to_string(),
            Box::new(reader),
            options,
        ))
    }

    /// Reads a capture from any byte source (gzip recognised by its first bytes);
    /// `name` is what reports call it.
    ///
    /// # Errors
    /// The bytes are not a capture.
    pub fn from_reader(
        name: impl Into<String>,
        bytes: impl Read + Send + 'static,
    ) -> Result<Capture, CaptureError> {
        let reader = CaptureReader::from_bytes(Box::new(bytes))?;
        Ok(Capture::new(
            name.into(),
            Box::new(reader),
            &Options::default(),
        ))
    }

    pub(crate) fn new(name: String, source: Box<dyn FrameSource>, options: &Options) -> Self {
        Capture {
            name,
            live: None,
            source,
            pipeline: Pipeline::with_keys(options.keys.clone()),
            hosts: options.hosts.clone(),
            error: None,
            ended: false,
        }
    }

    /// Reads a capture stream that does not end by itself (`tcpdump -w -` on a pipe): each
    /// frame as soon as it has arrived, the clock ticking between frames, and each session
    /// handed on as soon as its conversation is over, numbered in that order. `write`: a
    /// pcapng file to keep what was read.
    ///
    /// # Errors
    /// The stream does not start as a capture, or `write` cannot be made.
    pub fn watch_stream(
        name: impl Into<String>,
        bytes: impl Read + Send + 'static,
        options: &Options,
        write: Option<&Path>,
    ) -> Result<Capture, CaptureError> {
        let parts = super::live::stream(Box::new(bytes), write)?;
        Ok(Capture::from_live(name.into(), parts, options))
    }

    /// Captures on the interface `iface` through the BPF `filter`, as
    /// [`Capture::watch_stream`] reads: with libpcap (immediate mode), or through
    /// Wireshark's dumpcap when smtpcap may not capture itself, as `with` says.
    ///
    /// # Errors
    /// No such interface, no permission to capture (for smtpcap nor dumpcap), a link type
    /// or filter that does not do, or `write` cannot be made: each said as a person can act
    /// on it.
    pub fn watch_interface(
        iface: &str,
        filter: &str,
        options: &Options,
        write: Option<&Path>,
        with: super::CaptureWith,
    ) -> Result<Capture, super::LiveError> {
        let parts = super::live::interface(iface, filter, write, with)?;
        Ok(Capture::from_live(iface.to_string(), parts, options))
    }

    fn from_live(name: String, parts: super::live::LiveParts, options: &Options) -> Self {
        let mut c = Capture::new(name, Box::new(parts.source), options);
        c.pipeline.set_live();
        c.live = Some(LiveHandle {
            stop: parts.stop,
            counters: parts.counters,
        });
        c
    }

    /// A live capture's stop switch and counters (to stop it from a signal handler, and
    /// show its progress from another thread).
    pub fn live_handle(&self) -> Option<LiveHandle> {
        self.live.clone()
    }

    /// The name reports give the capture (its path as given).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads what is left (sessions not yet taken are counted but dropped) and tells
    /// what the capture showed as a whole; its `sessions` are empty.
    #[must_use]
    pub fn finish(mut self) -> Analysis {
        while self.next().is_some() {}
        let mut a = self.pipeline.summary(self.name, self.error);
        self.source.describe(&mut a);
        a.retain_hosts(&self.hosts);
        a
    }

    /// Reads the whole capture, keeping its sessions in [`Analysis::sessions`].
    #[must_use]
    pub fn collect_all(mut self) -> Analysis {
        let sessions: Vec<Session> = self.by_ref().collect();
        let mut a = self.finish();
        a.sessions = sessions;
        a
    }
}

impl Iterator for Capture {
    type Item = Session;

    fn next(&mut self) -> Option<Session> {
        loop {
            while let Some(s) = self.pipeline.pop() {
                if involves_hosts(&self.hosts, &s.client, &s.server) {
                    return Some(s);
                }
            }
            if self.ended {
                return None;
            }
            match self.source.next() {
                Ok(Next::Frame(frame)) => {
                    let number = frame.number;
                    self.pipeline.frame(&frame);
                    // A live capture's progress, also while packets keep coming.
                    if number % STATUS_EVERY == 0 {
                        if let Some(live) = &self.live {
                            live.publish(self.pipeline.open_conversations());
                        }
                    }
                }
                Ok(Next::Tick(now)) => {
                    self.pipeline.tick(now);
                    if let Some(live) = &self.live {
                        live.publish(self.pipeline.open_conversations());
                    }
                }
                Ok(Next::Secrets(text)) => self.pipeline.secrets(&text),
                Ok(Next::End) => {
                    self.ended = true;
                    self.pipeline.end();
                }
                Err(e) => {
                    self.error = Some(CaptureProblem::from(&e));
                    self.ended = true;
                    self.pipeline.end();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureReader;

    /// A live source: the frames of a capture file, then the clock ticks and no frame
    /// comes, then (much later) the end.
    struct Live {
        reader: CaptureReader,
        ticks: Vec<Timestamp>,
        ended: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }

    impl FrameSource for Live {
        fn next(&mut self) -> Result<Next<'_>, CaptureError> {
            if self.ticks.is_empty() {
                self.ended.store(true, std::sync::atomic::Ordering::SeqCst);
                return Ok(Next::End);
            }
            match self.reader.next_frame()? {
                Some(frame) => Ok(Next::Frame(frame)),
                None => Ok(Next::Tick(self.ticks.remove(0))),
            }
        }

        fn describe(&self, a: &mut Analysis) {
            self.reader.describe(a);
        }
    }

    #[test]
    fn a_live_source_yields_each_session_before_its_input_ends() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/loss-clean-swaks.pcap");
        let reader = CaptureReader::open(Path::new(path), false).unwrap();
        // Three ticks an hour apart: idle conversations close on the clock alone.
        let start = Timestamp::new(1_900_000_000, 0);
        let ticks = (1..=3)
            .map(|h| Timestamp::new(start.secs + h * 3600, 0))
            .collect();
        let ended = std::sync::Arc::default();
        let source = Live {
            reader,
            ticks,
            ended: std::sync::Arc::clone(&ended),
        };
        let mut capture = Capture::new("live".into(), Box::new(source), &Options::default());
        let first = capture.next().expect("a session");
        assert_eq!(first.id, 1);
        assert!(
            !ended.load(std::sync::atomic::Ordering::SeqCst),
            "the session waited for the end of the input"
        );
    }
}
