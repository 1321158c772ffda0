//! Writes a large, realistic capture deterministically, for the benchmark: SMTP
//! submissions (with and without STARTTLS) among print jobs to port 9100 and UDP noise, as
//! a copier's mirror port sees them.
//!
//! `cargo run --release --example gencap -- OUT.pcap SIZE_MB [SEED] [--hostile]`
//!
//! `--hostile` mixes in what an attacker or a broken device sends: a flood of SYNs that
//! are never answered (to port 25 and elsewhere), SMTP clients sending endless lines
//! without CRLF or millions of pipelined commands, and servers sending endless
//! multi-line replies.
//!
//! `--ack-ahead` makes every SMTP conversation acknowledge far beyond what its peer sent:
//! holes everywhere that never fill, the worst case for the reassembler's pending holes
//! and the causal ordering of the dialogue. `--open N` keeps N conversations open at once
//! (24 by default, as on a busy copier's port; thousands stress the per-conversation state).
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::io::{BufWriter, Write};

use etherparse::PacketBuilder;

const MSS: usize = 1448;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

enum Step {
    /// Bytes from the client (true) or the server.
    Text(bool, Vec<u8>),
    /// A bulk transfer of this many bytes, made up as it is sent.
    Bulk(bool, usize),
    /// TLS records of this many bytes in all.
    Tls(bool, usize),
    /// A pattern repeated to this many bytes.
    Repeat(bool, &'static [u8], usize),
}

struct Flow {
    client: ([u8; 4], u16),
    server: ([u8; 4], u16),
    seq: [u32; 2],
    steps: VecDeque<Step>,
    /// Bytes of the current step already sent.
    sent: usize,
    phase: u8,
    unacked: [u32; 2],
    /// Added to every acknowledgement (`--ack-ahead`): bytes the peer never sent.
    ack_skew: u32,
}

fn smtp_script(rng: &mut Rng, tls: bool) -> VecDeque<Step> {
    let mut s = VecDeque::new();
    let t = |c: bool, x: &str| Step::Text(c, x.as_bytes().to_vec());
    s.push_back(t(false, "220 PN4P287CA0064.outlook.office365.com Microsoft ESMTP MAIL Service ready at Fri, 27 Nov 2026 07:00:00 +0000 [08DD84B323498C1A]\r\n"));
    s.push_back(t(true, "EHLO MX-4070N.domain.local\r\n"));
    s.push_back(t(false, "250-PN4P287CA0064.outlook.office365.com Hello [198.51.100.7]\r\n250-SIZE 157286400\r\n250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n"));
    let body = 20_000 + rng.below(180_000) as usize;
    if tls {
        s.push_back(t(true, "STARTTLS\r\n"));
        s.push_back(t(false, "220 2.0.0 SMTP server ready\r\n"));
        s.push_back(Step::Tls(true, 517));
        s.push_back(Step::Tls(false, 2700));
        s.push_back(Step::Tls(true, 80));
        s.push_back(Step::Tls(true, 400));
        s.push_back(Step::Tls(false, 600));
        s.push_back(Step::Tls(true, body));
        s.push_back(Step::Tls(false, 150));
    } else {
        s.push_back(t(true, "MAIL FROM:<office@domain.com>\r\n"));
        s.push_back(t(false, "250 2.1.0 Sender OK\r\n"));
        s.push_back(t(true, "RCPT TO:<scans@domain.com>\r\n"));
        s.push_back(t(false, "250 2.1.5 Recipient OK\r\n"));
        s.push_back(t(true, "DATA\r\n"));
        s.push_back(t(false, "354 Start mail input; end with <CRLF>.<CRLF>\r\n"));
        s.push_back(Step::Bulk(true, body));
        s.push_back(t(true, "\r\n.\r\n"));
        s.push_back(t(false, "250 2.0.0 OK <20261127070000.1A2B3C@MX-4070N> [Hostname=BMXPR01MB0083.INDPRD01.PROD.OUTLOOK.COM]\r\n"));
        s.push_back(t(true, "QUIT\r\n"));
        s.push_back(t(
            false,
            "221 2.0.0 Service closing transmission channel\r\n",
        ));
    }
    s
}

fn hostile_flow(rng: &mut Rng, n: u64) -> Flow {
    let mut f = new_flow(rng, n);
    let greeting = Step::Text(false, b"220 mx.example ESMTP\r\n".to_vec());
    let big = 2_000_000 + rng.below(8_000_000) as usize;
    let abuse = match rng.below(3) {
        0 => Step::Repeat(true, b"AAAAAAAAAAAAAAAA", big),
        1 => Step::Repeat(true, b"NOOP\r\n", big),
        _ => Step::Repeat(false, b"250-FLOODFLOODFLOOD\r\n", big),
    };
    f.server = ([192, 0, 2, 25], 25);
    f.steps = VecDeque::from([greeting, Step::Text(true, b"EHLO x\r\n".to_vec()), abuse]);
    f
}

fn new_flow(rng: &mut Rng, n: u64) -> Flow {
    let client = (
        [198, 51, 100, 1 + (n % 200) as u8],
        1024 + (n % 60000) as u16,
    );
    // About 3,000 SMTP conversations per GB among print jobs, as on a busy copier's port.
    let (server, steps) = match rng.below(25) {
        0..=15 => {
            let tls = rng.below(2) == 0;
            (([192, 0, 2, 25], 587), smtp_script(rng, tls))
        }
        16..=22 => (([192, 0, 2, 25], 25), smtp_script(rng, false)),
        _ => {
            let mut s = VecDeque::new();
            s.push_back(Step::Bulk(true, 200_000 + rng.below(4_000_000) as usize));
            (([198, 51, 100, 250], 9100), s)
        }
    };
    Flow {
        client,
        server,
        seq: [rng.next() as u32, rng.next() as u32],
        steps,
        sent: 0,
        phase: 0,
        unacked: [0, 0],
        ack_skew: 0,
    }
}

struct Writer<W: Write> {
    out: W,
    time_us: u64,
    bytes: u64,
    frame: Vec<u8>,
}

impl<W: Write> Writer<W> {
    fn record(&mut self) -> std::io::Result<()> {
        self.time_us += 7 + (self.frame.len() as u64 / 200);
        let secs = 1_795_000_000 + self.time_us / 1_000_000;
        let us = self.time_us % 1_000_000;
        let len = self.frame.len() as u32;
        self.out.write_all(&(secs as u32).to_le_bytes())?;
        self.out.write_all(&(us as u32).to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&self.frame)?;
        self.bytes += 16 + u64::from(len);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        f: &Flow,
        from_client: bool,
        syn: bool,
        fin: bool,
        payload: &[u8],
    ) -> std::io::Result<()> {
        let (src, dst) = if from_client {
            (f.client, f.server)
        } else {
            (f.server, f.client)
        };
        let (i, o) = if from_client { (0, 1) } else { (1, 0) };
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src.0, dst.0, 64)
            .tcp(src.1, dst.1, f.seq[i], 64240);
        if syn {
            b = b.syn();
        }
        if !(syn && from_client) {
            b = b.ack(f.seq[o].wrapping_add(f.ack_skew));
        }
        if fin {
            b = b.fin();
        }
        if !payload.is_empty() {
            b = b.psh();
        }
        self.frame.clear();
        b.write(&mut self.frame, payload)
            .map_err(std::io::Error::other)?;
        self.record()
    }
}

/// Emits the flow's next packet(s); false when the flow is over.
fn step<W: Write>(
    w: &mut Writer<W>,
    f: &mut Flow,
    rng: &mut Rng,
    buf: &mut Vec<u8>,
) -> std::io::Result<bool> {
    match f.phase {
        0 => {
            w.tcp(f, true, true, false, &[])?;
            f.seq[0] = f.seq[0].wrapping_add(1);
            f.phase = 1;
        }
        1 => {
            w.tcp(f, false, true, false, &[])?;
            f.seq[1] = f.seq[1].wrapping_add(1);
            w.tcp(f, true, false, false, &[])?;
            f.phase = 2;
        }
        2 => {
            let Some(st) = f.steps.front() else {
                f.phase = 3;
                return Ok(true);
            };
            let (from_client, total) = match st {
                Step::Text(c, d) => (*c, d.len()),
                Step::Bulk(c, n) | Step::Tls(c, n) | Step::Repeat(c, _, n) => (*c, *n),
            };
            let n = (total - f.sent).min(MSS);
            buf.clear();
            match st {
                Step::Text(_, d) => buf.extend_from_slice(&d[f.sent..f.sent + n]),
                Step::Bulk(..) => buf.extend(
                    (0..n)
                        .map(|k| b"Scanned page data line of a print job.\r\n"[(f.sent + k) % 40]),
                ),
                Step::Repeat(_, p, _) => buf.extend((0..n).map(|k| p[(f.sent + k) % p.len()])),
                Step::Tls(..) => {
                    buf.extend((0..n).map(|_| rng.next() as u8));
                    if f.sent % 16384 == 0 && n >= 5 {
                        let rec = (total - f.sent).min(16384) as u16 - 5;
                        buf[..5].copy_from_slice(&[0x17, 3, 3, (rec >> 8) as u8, rec as u8]);
                        if f.sent == 0 && total == 517 {
                            buf[0] = 0x16;
                        }
                    }
                }
            }
            w.tcp(f, from_client, false, false, buf)?;
            let i = usize::from(!from_client);
            f.seq[i] = f.seq[i].wrapping_add(n as u32);
            f.unacked[i] += 1;
            f.sent += n;
            if f.unacked[i] >= 2 || f.sent == total {
                f.unacked[i] = 0;
                w.tcp(f, !from_client, false, false, &[])?;
            }
            if f.sent == total {
                f.steps.pop_front();
                f.sent = 0;
            }
        }
        _ => {
            w.tcp(f, true, false, true, &[])?;
            f.seq[0] = f.seq[0].wrapping_add(1);
            w.tcp(f, false, false, true, &[])?;
            f.seq[1] = f.seq[1].wrapping_add(1);
            w.tcp(f, true, false, false, &[])?;
            return Ok(false);
        }
    }
    Ok(true)
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: gencap OUT.pcap SIZE_MB [SEED]");
        std::process::exit(2);
    }
    let size = args[2].parse::<u64>().map_err(std::io::Error::other)? << 20;
    let seed = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(4070u64) | 1;
    let hostile = args.iter().any(|a| a == "--hostile");
    let ack_ahead = args.iter().any(|a| a == "--ack-ahead");
    let open_flows = args
        .iter()
        .position(|a| a == "--open")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(24);
    let mut rng = Rng(seed);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&args[1])?);
    out.write_all(&[
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0,
    ])?;
    let mut w = Writer {
        out,
        time_us: 0,
        bytes: 24,
        frame: Vec::with_capacity(2048),
    };
    let mut flows: Vec<Flow> = Vec::new();
    let mut made = 0u64;
    let mut buf = Vec::with_capacity(MSS);
    let mut packets = 0u64;
    while w.bytes < size {
        while flows.len() < open_flows {
            made += 1;
            let mut f = if hostile && rng.below(4) == 0 {
                hostile_flow(&mut rng, made)
            } else {
                new_flow(&mut rng, made)
            };
            if ack_ahead {
                f.ack_skew = 1000 + rng.below(1 << 20) as u32;
            }
            flows.push(f);
        }
        if hostile && rng.below(2) == 0 {
            // A SYN from a random address and port, never answered.
            let r = rng.next();
            let dport = if r & 1 == 0 { 25 } else { (r >> 8) as u16 };
            w.frame.clear();
            PacketBuilder::ethernet2([2, 0, 0, 0, 0, 4], [2, 0, 0, 0, 0, 2])
                .ipv4(
                    [10, (r >> 24) as u8, (r >> 32) as u8, (r >> 40) as u8],
                    [192, 0, 2, 25],
                    64,
                )
                .tcp((r >> 48) as u16 | 1024, dport, r as u32, 64240)
                .syn()
                .write(&mut w.frame, &[])
                .map_err(std::io::Error::other)?;
            w.record()?;
            continue;
        }
        let k = rng.below(flows.len() as u64) as usize;
        if !step(&mut w, &mut flows[k], &mut rng, &mut buf)? {
            flows.swap_remove(k);
        }
        packets += 1;
        if packets % 40 == 0 {
            // UDP noise: SNMP, mDNS, NetBIOS name service.
            let port = [161u16, 5353, 137][rng.below(3) as usize];
            w.frame.clear();
            PacketBuilder::ethernet2([2, 0, 0, 0, 0, 3], [0xff; 6])
                .ipv4([198, 51, 100, 250], [198, 51, 100, 255], 64)
                .udp(port, port)
                .write(&mut w.frame, &[0x30; 60])
                .map_err(std::io::Error::other)?;
            w.record()?;
        }
    }
    w.out.flush()?;
    eprintln!(
        "{}: {} bytes, {made} conversations started",
        args[1], w.bytes
    );
    Ok(())
}
