//! Captures that do not end by themselves: a capture stream on a pipe (`tcpdump -w -`) or
//! an interface (libpcap, the `live` feature). A thread reads the frames; the analysis
//! waits for them at most [`TICK`] and otherwise hears the clock tick, so that idle
//! conversations are concluded and finished sessions handed on while no packet comes.

use std::fs::File;
use std::io::{BufWriter, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::capture::{FrameSource, Next};
use super::live_error::{Dumpcap, LiveError};
use super::Analysis;
use crate::base::Timestamp;
use crate::capture::{
    CaptureError, CaptureErrorKind, CaptureReader, Frame, Item, LinkType, PcapngWriter,
};

/// How long the analysis waits for a frame before the clock ticks.
pub const TICK: Duration = Duration::from_millis(200);
/// Frames in flight between the reading thread and the analysis.
const QUEUE: usize = 4096;

/// What the reading thread hands over.
enum Msg {
    Frame {
        time: Timestamp,
        link: LinkType,
        data: Vec<u8>,
        /// The length on the wire.
        original: usize,
    },
    End(Option<CaptureError>),
}

/// What a live capture has seen so far, shared with whoever shows its progress.
#[derive(Debug, Default)]
pub struct LiveCounters {
    /// Frames received.
    pub frames: AtomicU64,
    /// Packets the kernel dropped (known when an interface capture ends).
    pub dropped: AtomicU64,
    /// The kernel's drop count is known.
    pub dropped_known: AtomicBool,
    /// Conversations in progress at the last tick, and the newest as `client → server`.
    pub open: std::sync::Mutex<(usize, Option<String>)>,
    /// What captures on an interface (`None`: a capture stream).
    pub captured_with: Option<CaptureWith>,
}

/// Frames from a reading thread, with clock ticks between them.
pub(crate) struct LiveSource {
    rx: Receiver<Msg>,
    stop: Arc<AtomicBool>,
    current: Vec<u8>,
    frames: u64,
    link_types: Vec<LinkType>,
    /// The capture clock at the last frame, and when it came: a tick reads the capture
    /// clock as that plus the wall time since (right for a live interface and for a
    /// capture replayed through a pipe alike).
    clock: Option<(Timestamp, Instant)>,
    write: Option<PcapngWriter<BufWriter<File>>>,
    counters: Arc<LiveCounters>,
    what: &'static str,
    stopped_at: Option<Instant>,
}

/// How long a stopped interface capture's last message is awaited.
const END_WAIT: Duration = Duration::from_secs(2);

impl LiveSource {
    fn new(
        rx: Receiver<Msg>,
        stop: Arc<AtomicBool>,
        write: Option<&Path>,
        counters: Arc<LiveCounters>,
        what: &'static str,
    ) -> std::io::Result<Self> {
        let write = match write {
            Some(p) => Some(PcapngWriter::new(
                BufWriter::new(File::create(p)?),
                &format!("smtpcap {}", crate::VERSION),
            )?),
            None => None,
        };
        Ok(LiveSource {
            rx,
            stop,
            current: Vec::new(),
            frames: 0,
            link_types: Vec::new(),
            clock: None,
            write,
            counters,
            what,
            stopped_at: None,
        })
    }

    /// Flushes the file being written; an error ends the capture.
    fn flush(&mut self) -> Result<(), CaptureError> {
        match &mut self.write {
            Some(w) => w
                .flush()
                .map_err(|e| CaptureError::new(self.frames, CaptureErrorKind::Io(e))),
            None => Ok(()),
        }
    }
}

impl FrameSource for LiveSource {
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        loop {
            match self.rx.recv_timeout(TICK) {
                Ok(Msg::Frame {
                    time,
                    link,
                    data,
                    original,
                }) => {
                    if let Some(w) = &mut self.write {
                        w.frame(link, time, &data, original)
                            .map_err(|e| CaptureError::new(self.frames, CaptureErrorKind::Io(e)))?;
                    }
                    self.frames += 1;
                    self.counters.frames.store(self.frames, Ordering::Relaxed);
                    if !self.link_types.contains(&link) {
                        self.link_types.push(link);
                    }
                    self.clock = Some((time, Instant::now()));
                    self.current = data;
                    let orig_len =
                        u32::try_from(original.max(self.current.len())).unwrap_or(u32::MAX);
                    return Ok(Next::Frame(Frame {
                        number: self.frames,
                        time,
                        link_type: link,
                        data: &self.current,
                        orig_len,
                    }));
                }
                Ok(Msg::End(error)) => {
                    self.flush()?;
                    return match error {
                        Some(e) => Err(e),
                        None => Ok(Next::End),
                    };
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.flush()?;
                    return Ok(Next::End);
                }
                Err(RecvTimeoutError::Timeout) => {
                    // Nothing is lost from the file when stopped between frames.
                    self.flush()?;
                    if self.stop.load(Ordering::Relaxed) {
                        let since = *self.stopped_at.get_or_insert_with(Instant::now);
                        // An interface's reading thread (libpcap or dumpcap) ends by
                        // itself once stopped: its last message, with the kernel's
                        // counts, is awaited; a pipe may block in a read.
                        let awaits_end = self.counters.captured_with.is_some();
                        if !awaits_end || since.elapsed() > END_WAIT {
                            return Ok(Next::End);
                        }
                        continue;
                    }
                    if let Some((time, at)) = self.clock {
                        return Ok(Next::Tick(time.plus(at.elapsed())));
                    }
                }
            }
        }
    }

    fn describe(&self, a: &mut Analysis) {
        a.format = Some(self.what);
        a.packets = self.frames;
        a.link_types = self.link_types.iter().map(|l| l.name()).collect();
    }
}

/// What a live capture needs besides its input.
pub(crate) struct LiveParts {
    pub(crate) source: LiveSource,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) counters: Arc<LiveCounters>,
}

/// Reads a capture stream (pcap or pcapng, e.g. `tcpdump -w -`) as its bytes arrive.
pub(crate) fn stream(
    bytes: Box<dyn Read + Send>,
    write: Option<&Path>,
) -> Result<LiveParts, CaptureError> {
    stream_parts(
        bytes,
        write,
        Arc::default(),
        Arc::default(),
        "pcap stream",
        |e| e,
    )
}

/// Reads a capture stream in a thread of its own; at its end, `on_end` is given the
/// reading's error and returns the capture's (and may fill in the counters first).
pub(crate) fn stream_parts(
    bytes: Box<dyn Read + Send>,
    write: Option<&Path>,
    stop: Arc<AtomicBool>,
    counters: Arc<LiveCounters>,
    what: &'static str,
    on_end: impl FnOnce(Option<CaptureError>) -> Option<CaptureError> + Send + 'static,
) -> Result<LiveParts, CaptureError> {
    let mut reader = CaptureReader::from_stream(bytes)?;
    let (tx, rx) = sync_channel(QUEUE);
    std::thread::spawn(move || {
        let end = loop {
            let msg = match reader.next_item() {
                Ok(Item::Frame(f)) => Msg::Frame {
                    time: f.time,
                    link: f.link_type,
                    original: f.orig_len as usize,
                    data: f.data.to_vec(),
                },
                Ok(Item::Secrets(_)) => continue,
                Ok(Item::End) => break None,
                Err(e) => break Some(e),
            };
            if tx.send(msg).is_err() {
                break None;
            }
        };
        let _ = tx.send(Msg::End(on_end(end)));
    });
    let source = LiveSource::new(rx, stop.clone(), write, counters.clone(), what)
        .map_err(|e| CaptureError::new(0, CaptureErrorKind::Io(e)))?;
    Ok(LiveParts {
        source,
        stop,
        counters,
    })
}

/// How `watch -i` captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaptureWith {
    /// libpcap when smtpcap may capture (root, or the capabilities), else dumpcap.
    #[default]
    Auto,
    /// libpcap, in smtpcap's own process.
    Libpcap,
    /// Wireshark's dumpcap, which alone holds the capture rights.
    Dumpcap,
}

/// Captures on `iface` through the BPF `filter`, as `with` says.
pub(crate) fn interface(
    iface: &str,
    filter: &str,
    write: Option<&Path>,
    with: CaptureWith,
) -> Result<LiveParts, LiveError> {
    // `missing`: the error where there is no dumpcap.
    let through_dumpcap = |missing: LiveError| match super::dumpcap::find() {
        Some(path) => super::dumpcap::capture(&path, iface, filter, write),
        None => Err(missing),
    };
    match with {
        CaptureWith::Libpcap => libpcap(iface, filter, write),
        CaptureWith::Dumpcap => through_dumpcap(LiveError::Other(
            iface.to_string(),
            "there is no dumpcap on the search path (Debian: `sudo apt install wireshark-common`)"
                .to_string(),
        )),
        CaptureWith::Auto => match libpcap(iface, filter, write) {
            Err(LiveError::NoRights { .. } | LiveError::NoLibpcap) => {
                through_dumpcap(LiveError::NoRights {
                    interface: iface.to_string(),
                    dumpcap: Dumpcap::NotFound,
                })
            }
            done => done,
        },
    }
}

#[cfg(feature = "live")]
use interface::libpcap;

#[cfg(not(feature = "live"))]
fn libpcap(_: &str, _: &str, _: Option<&Path>) -> Result<LiveParts, LiveError> {
    Err(LiveError::NoLibpcap)
}

#[cfg(feature = "live")]
mod interface {
    use super::LiveError;
    use super::{
        sync_channel, Arc, AtomicBool, LinkType, LiveCounters, LiveParts, LiveSource, Msg,
        Ordering, Path, SyncSender, Timestamp, QUEUE,
    };
    use crate::capture::{CaptureError, CaptureErrorKind};

    /// The pause between two reads that found no packet.
    const IDLE_POLL: std::time::Duration = std::time::Duration::from_millis(5);

    /// Link types the packet decoder reads.
    const SUPPORTED: [u32; 6] = [0, 1, 101, 108, 113, 276];

    /// Captures on `iface` (libpcap, immediate mode) through the BPF `filter`.
    pub(crate) fn libpcap(
        iface: &str,
        filter: &str,
        write: Option<&Path>,
    ) -> Result<LiveParts, LiveError> {
        let device = pcap::Device::list()
            .map_err(|e| LiveError::from_pcap(iface, &e))?
            .into_iter()
            .find(|d| d.name == iface)
            .ok_or_else(|| LiveError::NoInterface(iface.to_string()))?;
        let mut cap = pcap::Capture::from_device(device)
            .and_then(|c| {
                c.immediate_mode(true)
                    .promisc(true)
                    .snaplen(65_535)
                    .timeout(100)
                    .open()
            })
            .map_err(|e| LiveError::from_pcap(iface, &e))?;
        let link = cap.get_datalink().0 as u32;
        if !SUPPORTED.contains(&link) {
            return Err(LiveError::LinkType(iface.to_string(), link));
        }
        cap.filter(filter, true)
            .map_err(|e| LiveError::Filter(filter.to_string(), e.to_string()))?;
        // In immediate mode libpcap's read timeout is not kept: without a packet a read
        // would block for ever, and a stop would not be seen. Non-blocking reads with a
        // short sleep between empty ones (at most `IDLE_POLL` of delay) see both.
        let cap = cap
            .setnonblock()
            .map_err(|e| LiveError::from_pcap(iface, &e))?;
        let (tx, rx) = sync_channel(QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(LiveCounters {
            captured_with: Some(super::CaptureWith::Libpcap),
            ..LiveCounters::default()
        });
        let (thread_stop, thread_counters) = (stop.clone(), counters.clone());
        std::thread::spawn(move || read(cap, LinkType(link), &tx, &thread_stop, &thread_counters));
        let source = LiveSource::new(rx, stop.clone(), write, counters.clone(), "live capture")
            .map_err(|e| LiveError::Write(e.to_string()))?;
        Ok(LiveParts {
            source,
            stop,
            counters,
        })
    }

    fn read(
        mut cap: pcap::Capture<pcap::Active>,
        link: LinkType,
        tx: &SyncSender<Msg>,
        stop: &AtomicBool,
        counters: &LiveCounters,
    ) {
        let end = loop {
            if stop.load(Ordering::Relaxed) {
                break None;
            }
            match cap.next_packet() {
                Ok(p) => {
                    let ts = p.header.ts;
                    let time = Timestamp::new(
                        ts.tv_sec,
                        u32::try_from(ts.tv_usec).unwrap_or(0).saturating_mul(1000),
                    );
                    let msg = Msg::Frame {
                        time,
                        link,
                        data: p.data.to_vec(),
                        original: p.header.len as usize,
                    };
                    if tx.send(msg).is_err() {
                        break None;
                    }
                }
                Err(pcap::Error::TimeoutExpired) => std::thread::sleep(IDLE_POLL),
                Err(e) => {
                    break Some(CaptureError::new(
                        0,
                        CaptureErrorKind::Io(std::io::Error::other(e.to_string())),
                    ))
                }
            }
        };
        if let Ok(s) = cap.stats() {
            counters.dropped.store(
                u64::from(s.dropped) + u64::from(s.if_dropped),
                Ordering::Relaxed,
            );
            counters.dropped_known.store(true, Ordering::Relaxed);
        }
        let _ = tx.send(Msg::End(end));
    }
}
