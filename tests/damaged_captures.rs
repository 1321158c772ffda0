//! Damaged captures: cut at any byte, bytes flipped, absurd record lengths, randomised
//! payloads. Never a panic or a hang; a damaged file says what is wrong and where; what was
//! read before the damage is still analysed.

mod common;

use std::io::Cursor;
use std::sync::mpsc;
use std::time::Duration;

use smtpcap::internals::analysis::{analyze_bytes, Analysis};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Analyses (and renders every report of) `bytes` on another thread, within 10 s.
fn analyse_bounded(name: String, bytes: Vec<u8>) -> Analysis {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let a = analyze_bytes(&name, Cursor::new(bytes));
        let _ = common::render_all(&a);
        let _ = tx.send(a);
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("analysis hung or panicked")
}

fn plain_bytes(path: &std::path::Path) -> Vec<u8> {
    let raw = std::fs::read(common::root().join(path)).unwrap();
    if raw.starts_with(&[0x1f, 0x8b]) {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

/// Offsets where a classic pcap's records start.
fn record_starts(data: &[u8]) -> Vec<usize> {
    let mut at = 24;
    let mut v = Vec::new();
    while at + 16 <= data.len() {
        v.push(at);
        let caplen = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
    }
    v
}

#[test]
fn hundreds_of_damaged_variants_never_panic_or_hang_and_say_what_is_wrong() {
    let samples = common::samples();
    let mut rng = Rng(0x5eed_4070);
    let mut counts = [0usize; 4];
    for i in 0..400 {
        let path = &samples[rng.below(samples.len())];
        let mut data = plain_bytes(path);
        let name = format!("{}#{i}", path.display());
        let legacy = data.starts_with(&[0xd4, 0xc3, 0xb2, 0xa1]);
        match i % 4 {
            0 => {
                // Cut at a random byte inside a record: the reader must say "truncated".
                let starts = record_starts(&data);
                let cut = if legacy && starts.len() > 2 {
                    let r = starts[1 + rng.below(starts.len() - 2)];
                    r + 1 + rng.below(15)
                } else {
                    24 + rng.below(data.len() - 24)
                };
                data.truncate(cut);
                let a = analyse_bounded(name.clone(), data);
                if legacy {
                    let e = a
                        .error
                        .as_ref()
                        .unwrap_or_else(|| panic!("{name}: cut at {cut} not reported"));
                    assert!(e.message.contains("cut off"), "{name}: {}", e.message);
                    assert!(
                        e.offset as usize <= cut,
                        "{name}: offset {} past the cut {cut}",
                        e.offset
                    );
                }
            }
            1 => {
                // Flip a few bits anywhere.
                for _ in 0..=rng.below(8) {
                    let at = rng.below(data.len());
                    data[at] ^= 1 << rng.below(8);
                }
                analyse_bounded(name, data);
            }
            2 => {
                // An absurd captured length in a record header.
                let starts = record_starts(&data);
                if legacy && starts.len() > 2 {
                    let r = starts[1 + rng.below(starts.len() - 2)];
                    data[r + 8..r + 12].copy_from_slice(
                        &(0x4000_0000u32 + rng.next() as u32 % 1000).to_le_bytes(),
                    );
                    let a = analyse_bounded(name.clone(), data);
                    let e = a
                        .error
                        .as_ref()
                        .unwrap_or_else(|| panic!("{name}: absurd length not reported"));
                    assert_eq!(e.offset as usize, r, "{name}: {}", e.message);
                    assert!(
                        a.packets > 0,
                        "{name}: the records before the damage are still read"
                    );
                } else {
                    analyse_bounded(name, data);
                }
            }
            _ => {
                // Randomised payloads: keep the record headers, scramble the packet bytes.
                if legacy {
                    for r in record_starts(&data) {
                        let caplen =
                            u32::from_le_bytes(data[r + 8..r + 12].try_into().unwrap()) as usize;
                        for b in &mut data[r + 16 + 54.min(caplen)..r + 16 + caplen] {
                            *b = rng.next() as u8;
                        }
                    }
                }
                analyse_bounded(name, data);
            }
        }
        counts[i % 4] += 1;
    }
    assert_eq!(counts.iter().sum::<usize>(), 400);
}

#[test]
fn empty_random_and_wrong_magic_files_are_named_errors() {
    let a = analyse_bounded("empty".into(), Vec::new());
    assert_eq!(
        a.error.as_ref().map(|e| e.message.as_str()),
        Some("the file is empty")
    );
    let mut rng = Rng(7);
    let random: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
    let a = analyse_bounded("random".into(), random);
    assert!(a
        .error
        .as_ref()
        .is_some_and(|e| e.offset == 0 && e.message.starts_with("not a pcap or pcapng")));
    let a = analyse_bounded("pcapng-bad-length".into(), {
        let mut d = plain_bytes("samples/ipv6-starttls-swaks.pcapng".as_ref());
        // The second block's length: make it not a multiple of 4 and too large.
        let second = u32::from_le_bytes(d[4..8].try_into().unwrap()) as usize;
        d[second + 4..second + 8].copy_from_slice(&0x7fff_fff1u32.to_le_bytes());
        d
    });
    let e = a.error.expect("damaged pcapng block reported");
    assert!(e.offset > 0, "{}", e.message);
}
