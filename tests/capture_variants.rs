//! Captures as mirror ports and hosts really record them: from every sample (classic pcap,
//! Ethernet/IPv4), variants are derived the way a SPAN port, segmentation offload or a
//! merge of two captures changes them, and each must give the original's commands,
//! replies, outcomes and error/warning findings, with no gap and no disagreeing copy that
//! the original did not have (frame numbers may differ).

mod common;

use std::collections::HashMap;
use std::io::Cursor;

use smtpcap::internals::analysis::{analyze_bytes, Analysis};
use smtpcap::internals::diagnosis::{diagnose, Severity};

#[derive(Clone)]
struct Frame {
    secs: u32,
    frac: u32,
    data: Vec<u8>,
    /// `Orig_len` of the record: more than `data` when cut by the snapshot length.
    orig_len: u32,
    tcp: Option<Tcp>,
}

/// Where the parts of an Ethernet/IPv4/TCP frame are.
#[derive(Clone, Copy)]
struct Tcp {
    ip: usize,
    // The TCP header's offset (`tcp.tcp` reads oddly, but matches `ip` and `payload`).
    #[allow(clippy::struct_field_names)]
    tcp: usize,
    payload: usize,
    payload_len: usize,
    /// (address, port) of source and destination.
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
}

const SYN: u8 = 0x02;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;

impl Tcp {
    fn conn(&self) -> (([u8; 4], u16), ([u8; 4], u16)) {
        if self.src < self.dst {
            (self.src, self.dst)
        } else {
            (self.dst, self.src)
        }
    }
    fn dir(&self) -> bool {
        self.src < self.dst
    }
}

struct Pcap {
    header: Vec<u8>,
    frames: Vec<Frame>,
}

fn parse_pcap(bytes: &[u8]) -> Option<Pcap> {
    let magic = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    let link = u32::from_le_bytes(bytes.get(20..24)?.try_into().ok()?);
    if !(magic == 0xa1b2_c3d4 || magic == 0xa1b2_3c4d) || link != 1 {
        return None;
    }
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let word = |i: usize| u32::from_le_bytes(bytes[at + i..at + i + 4].try_into().unwrap());
        let (secs, frac, incl, orig) = (word(0), word(4), word(8) as usize, word(12));
        let data = bytes[at + 16..at + 16 + incl].to_vec();
        at += 16 + incl;
        let tcp = parse_tcp(&data, orig as usize);
        frames.push(Frame {
            secs,
            frac,
            data,
            orig_len: orig,
            tcp,
        });
    }
    Some(Pcap {
        header: bytes[..24].to_vec(),
        frames,
    })
}

/// An Ethernet (optionally 802.1Q) IPv4 TCP frame held whole and not a fragment.
fn parse_tcp(d: &[u8], orig_len: usize) -> Option<Tcp> {
    if orig_len != d.len() {
        return None;
    }
    let mut ip = 14;
    let mut ethertype = u16::from_be_bytes([*d.get(12)?, *d.get(13)?]);
    if ethertype == 0x8100 {
        ethertype = u16::from_be_bytes([*d.get(16)?, *d.get(17)?]);
        ip = 18;
    }
    if ethertype != 0x0800 || *d.get(ip + 9)? != 6 {
        return None;
    }
    let ihl = usize::from(d[ip] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([d[ip + 2], d[ip + 3]]));
    let frag = u16::from_be_bytes([d[ip + 6], d[ip + 7]]);
    if frag & 0x3fff != 0 || ip + total > d.len() {
        return None;
    }
    let tcp = ip + ihl;
    let doff = usize::from(d.get(tcp + 12)? >> 4) * 4;
    let payload = tcp + doff;
    let be32 = |i: usize| u32::from_be_bytes(d[i..i + 4].try_into().unwrap());
    let be16 = |i: usize| u16::from_be_bytes([d[i], d[i + 1]]);
    let addr = |i: usize| -> [u8; 4] { d[i..i + 4].try_into().unwrap() };
    Some(Tcp {
        ip,
        tcp,
        payload,
        payload_len: (ip + total).checked_sub(payload)?,
        src: (addr(ip + 12), be16(tcp)),
        dst: (addr(ip + 16), be16(tcp + 2)),
        seq: be32(tcp + 4),
        ack: be32(tcp + 8),
        flags: d[tcp + 13],
    })
}

fn write_pcap(p: &Pcap, frames: &[Frame]) -> Vec<u8> {
    let mut out = p.header.clone();
    for f in frames {
        for w in [f.secs, f.frac, f.data.len() as u32, f.orig_len] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&f.data);
    }
    out
}

fn is_data(f: &Frame) -> bool {
    f.tcp.is_some_and(|t| t.payload_len > 0)
}

/// (a) Each data segment captured right after the peer's next packet of its conversation
/// (which acknowledges it): what a SPAN port does when it drains one direction's queue late.
fn data_after_peer(frames: &[Frame]) -> Vec<Frame> {
    let mut out: Vec<Frame> = Vec::new();
    // Deferred segments, each with those that were deferred behind it.
    let mut deferred: Vec<Vec<Frame>> = Vec::new();
    for f in frames {
        let Some(t) = f.tcp else {
            out.push(f.clone());
            continue;
        };
        let mut followers = Vec::new();
        deferred.retain(|group| {
            let g = group[0].tcp.unwrap();
            if g.conn() == t.conn() && g.dir() != t.dir() {
                followers.extend(group.iter().cloned());
                false
            } else {
                true
            }
        });
        // Moved frames are stamped as captured: right after the packet they follow.
        for x in &mut followers {
            (x.secs, x.frac) = (f.secs, f.frac);
        }
        if is_data(f) {
            let mut group = vec![f.clone()];
            group.extend(followers);
            deferred.push(group);
        } else {
            out.push(f.clone());
            out.extend(followers);
        }
    }
    out.extend(deferred.into_iter().flatten());
    out
}

/// (b) Every frame twice (a SPAN session of both switch ports); `change` alters the copy
/// as the second port would (TTL, VLAN tag).
fn every_frame_twice(frames: &[Frame], change: fn(&Frame) -> Frame) -> Vec<Frame> {
    frames.iter().flat_map(|f| [f.clone(), change(f)]).collect()
}

fn ttl_minus_one(f: &Frame) -> Frame {
    let mut c = f.clone();
    if let Some(t) = c.tcp {
        c.data[t.ip + 8] = c.data[t.ip + 8].wrapping_sub(1);
    }
    c
}

fn vlan_tagged(f: &Frame) -> Frame {
    let mut c = f.clone();
    if c.data.len() >= 14 && c.data[12..14] != [0x81, 0x00] {
        c.data.splice(12..12, [0x81, 0x00, 0x00, 0x64]);
        c.orig_len += 4;
        c.tcp = parse_tcp(&c.data, c.orig_len as usize);
    }
    c
}

/// (c) Adjacent segments of one direction coalesced into one of up to 65,495 payload bytes,
/// as a capture on a host with segmentation offload shows them: TCP checksum zero, and with
/// `zero_length` the IPv4 total length 0.
fn coalesced(frames: &[Frame], zero_length: bool) -> Vec<Frame> {
    let mut out: Vec<Frame> = Vec::new();
    // Per conversation, the index in `out` of a data segment that may still grow.
    let mut open: HashMap<_, usize> = HashMap::new();
    for f in frames {
        let Some(t) = f.tcp else {
            // An IP fragment may be the peer speaking: no send grows across it.
            open.clear();
            out.push(f.clone());
            continue;
        };
        let key = t.conn();
        let growing = open.get(&key).copied().filter(|&i| {
            let g = out[i].tcp.unwrap();
            g.dir() == t.dir()
                && t.payload_len > 0
                && t.flags & (SYN | RST) == 0
                && g.flags & FIN == 0
                && g.seq.wrapping_add(g.payload_len as u32) == t.seq
                && g.payload_len + t.payload_len <= 65_495
        });
        if let Some(i) = growing {
            let g = out[i].tcp.unwrap();
            let mut d = out[i].data[..g.payload + g.payload_len].to_vec();
            d.extend_from_slice(&f.data[t.payload..t.payload + t.payload_len]);
            d[g.tcp + 8..g.tcp + 12].copy_from_slice(&t.ack.to_be_bytes());
            d[g.tcp + 13] = g.flags | t.flags;
            let total = (d.len() - g.ip) as u16;
            let total = if zero_length { 0 } else { total };
            d[g.ip + 2..g.ip + 4].copy_from_slice(&total.to_be_bytes());
            d[g.tcp + 16..g.tcp + 18].copy_from_slice(&[0, 0]);
            out[i].orig_len = d.len() as u32;
            out[i].data = d;
            let mut nt = g;
            nt.payload_len += t.payload_len;
            nt.ack = t.ack;
            nt.flags |= t.flags;
            out[i].tcp = Some(nt);
        } else {
            if t.payload_len > 0 {
                open.insert(key, out.len());
            } else if open
                .get(&key)
                .is_some_and(|&i| out[i].tcp.unwrap().dir() != t.dir())
            {
                // The peer answered: what comes after is a new send.
                open.remove(&key);
            }
            out.push(f.clone());
        }
        if t.payload_len == 0
            && open
                .get(&key)
                .is_some_and(|&i| out[i].tcp.unwrap().dir() != t.dir())
        {
            open.remove(&key);
        }
    }
    out
}

/// (d) Time stamps jittered by up to ±3 ms, so that they go backwards here and there.
fn jittered(frames: &[Frame]) -> Vec<Frame> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    frames
        .iter()
        .map(|f| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut c = f.clone();
            let (us, per_sec) = (x % 6_000, 1_000_000u64);
            // Nanosecond files count the fraction in ns.
            let scale = if f.frac >= 1_000_000 { 1000 } else { 1 };
            let t = u64::from(c.secs) * per_sec * scale + u64::from(c.frac) + us * scale;
            let t = t.saturating_sub(3_000 * scale);
            c.secs = (t / (per_sec * scale)) as u32;
            c.frac = (t % (per_sec * scale)) as u32;
            c
        })
        .collect()
}

/// (e) One direction's packets captured `k` packets later than the other's.
fn shifted(frames: &[Frame], k: usize, late_dir: bool) -> Vec<Frame> {
    let mut keyed: Vec<(usize, usize, Frame)> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let late = f.tcp.is_some_and(|t| from_client(frames, &t) == late_dir);
            (if late { i + k } else { i }, usize::from(late), f.clone())
        })
        .collect();
    keyed.sort_by_key(|(i, late, _)| (*i, *late));
    keyed.into_iter().map(|(_, _, f)| f).collect()
}

/// Whether a segment comes from the side that opened its conversation (or, without a SYN,
/// from the higher port).
fn from_client(frames: &[Frame], t: &Tcp) -> bool {
    let syn = frames
        .iter()
        .filter_map(|f| f.tcp)
        .find(|s| s.conn() == t.conn() && s.flags & SYN != 0 && s.flags & 0x10 == 0);
    match syn {
        Some(s) => s.src == t.src,
        None => t.src.1 > t.dst.1,
    }
}

/// (f) mergecap of a client-side and a server-side capture of the same traffic (no NAT
/// between): each packet twice, the far side's copy 200 µs later, merged by time.
fn merged_two_sides(frames: &[Frame]) -> Vec<Frame> {
    let nanos = frames.iter().any(|f| f.frac >= 1_000_000);
    let unit: u64 = if nanos { 1_000_000_000 } else { 1_000_000 };
    let delay = unit / 5_000;
    let stamp = |f: &Frame| u64::from(f.secs) * unit + u64::from(f.frac);
    let mut all: Vec<(u64, usize, Frame)> = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let t = stamp(f);
        // The recording is the server side: a client packet was sent 200 µs before.
        let (near, far) = match f.tcp {
            Some(tcp) if from_client(frames, &tcp) => (t - delay, t),
            _ => (t, t + delay),
        };
        all.push((near, 2 * i, f.clone()));
        all.push((far, 2 * i + 1, ttl_minus_one(f)));
    }
    all.sort_by_key(|(t, i, _)| (*t, *i));
    all.into_iter()
        .map(|(t, _, mut f)| {
            f.secs = (t / unit) as u32;
            f.frac = (t % unit) as u32;
            f
        })
        .collect()
}

/// What must not change: per session, its content, outcome and error/warning findings,
/// and the capture's gaps and disagreeing copies.
#[derive(Debug, PartialEq)]
struct Facts {
    sessions: Vec<(Vec<String>, String)>,
    findings: Vec<&'static str>,
    gap_bytes: u64,
    conflicts: u64,
}

fn facts(a: &Analysis) -> Facts {
    let d = diagnose(a);
    // In content order: sessions that began within the variants' shifts of each other
    // (an IPv6 SYN refused and its IPv4 twin 0.2 ms later) may swap numbers.
    let mut sessions: Vec<(Vec<String>, String)> = (0..a.sessions.len())
        .map(|i| (common::content(a, i), d.sessions[i].outcome_label()))
        .collect();
    sessions.sort();
    let mut findings: Vec<&'static str> = d
        .findings()
        .iter()
        .filter(|f| f.severity <= Severity::Warning)
        .map(|f| f.id.as_str())
        .collect();
    findings.sort_unstable();
    let (mut gap_bytes, mut conflicts) = (0, 0);
    for s in &a.sessions {
        for st in [&s.tcp.client_stream, &s.tcp.server_stream] {
            gap_bytes += st.gap_bytes;
            conflicts += st.conflicting_overlaps;
        }
    }
    Facts {
        sessions,
        findings,
        gap_bytes,
        conflicts,
    }
}

fn analyze(name: &str, bytes: Vec<u8>) -> Analysis {
    analyze_bytes(name, Cursor::new(bytes))
}

type Variant = (&'static str, fn(&[Frame]) -> Vec<Frame>);

const VARIANTS: &[Variant] = &[
    ("data after the peer's next packet", data_after_peer),
    ("every frame twice, TTL changed", |f| {
        every_frame_twice(f, ttl_minus_one)
    }),
    ("every frame twice, VLAN-tagged copy", |f| {
        every_frame_twice(f, vlan_tagged)
    }),
    ("coalesced segments", |f| coalesced(f, false)),
    ("coalesced segments, IPv4 total length 0", |f| {
        coalesced(f, true)
    }),
    ("time stamps jittered", jittered),
    ("server packets 3 later", |f| shifted(f, 3, false)),
    ("client packets 3 later", |f| shifted(f, 3, true)),
    ("client- and server-side captures merged", merged_two_sides),
];

#[test]
fn every_sample_reads_the_same_however_the_capture_was_taken() {
    std::env::set_current_dir(common::root()).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in common::samples() {
        let bytes = std::fs::read(&path).unwrap();
        let Some(pcap) = parse_pcap(&bytes) else {
            continue;
        };
        let name = path.display().to_string();
        let original = facts(&analyze(&name, bytes.clone()));
        for (what, make) in VARIANTS {
            let frames = make(&pcap.frames);
            let variant = write_pcap(&pcap, &frames);
            // SMTPCAP_DUMP_VARIANTS=DIR keeps every variant, to open in Wireshark.
            if let Some(dir) = std::env::var_os("SMTPCAP_DUMP_VARIANTS") {
                let file = format!("{}--{what}.pcap", name.replace('/', "_"));
                std::fs::write(
                    std::path::Path::new(&dir).join(file.replace(' ', "_")),
                    &variant,
                )
                .unwrap();
            }
            let got = facts(&analyze(&name, variant));
            if got != original {
                failures.push(format!(
                    "{name}, {what}:\n  original {original:?}\n  variant  {got:?}"
                ));
            }
            checked += 1;
        }
    }
    assert!(checked >= 30 * VARIANTS.len(), "only {checked} variants");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn coalescing_really_makes_offload_segments() {
    let bytes = std::fs::read(common::root().join("samples/loss-clean-swaks.pcap")).unwrap();
    let pcap = parse_pcap(&bytes).unwrap();
    let frames = coalesced(&pcap.frames, true);
    let largest = frames
        .iter()
        .filter_map(|f| f.tcp.map(|t| t.payload_len))
        .max()
        .unwrap();
    // The server acknowledges every 30 kB or so, which ends a send.
    assert!(largest > 30_000, "largest segment {largest}");
    assert!(frames.len() < pcap.frames.len());
}
