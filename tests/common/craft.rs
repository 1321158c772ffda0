//! Captures built in a test: Ethernet/IPv4 frames of whole TCP conversations (handshake,
//! data acknowledged turn by turn, FIN both ways) and of UDP datagrams, in a classic
//! pcap, one millisecond apart.

use etherparse::PacketBuilder;

const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0c];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x05];

/// A Postfix-like server's acceptance of one message and the goodbye, after EHLO (and any
/// login): MAIL, RCPT, DATA, the message, QUIT.
pub const ENVELOPE_AND_MESSAGE: &[&str] = &[
    "C: MAIL FROM:<scanner@example.test>",
    "S: 250 2.1.0 Ok",
    "C: RCPT TO:<office@example.test>",
    "S: 250 2.1.5 Ok",
    "C: DATA",
    "S: 354 End data with <CR><LF>.<CR><LF>",
    "C: Subject: scan",
    "C: ",
    "C: body",
    "C: .",
    "S: 250 2.0.0 Ok: queued as 4AB12",
    "C: QUIT",
    "S: 221 2.0.0 Bye",
];

/// An address and port.
pub type Addr = ([u8; 4], u16);

/// One frame in the making, in capture order.
pub struct Capture {
    frames: Vec<Vec<u8>>,
}

impl Default for Capture {
    fn default() -> Self {
        Self::new()
    }
}

impl Capture {
    pub fn new() -> Self {
        Capture { frames: Vec::new() }
    }

    /// A TCP conversation: `turns` are lines prefixed `S: ` (server) or `C: ` (client);
    /// each gets CRLF, and consecutive lines of one side travel in one segment.
    pub fn tcp(&mut self, client: Addr, server: Addr, turns: &[&str]) -> &mut Self {
        let mut segments: Vec<(bool, Vec<u8>)> = Vec::new();
        for t in turns {
            let (from_client, text) = match t.split_at(3) {
                ("C: ", text) => (true, text),
                ("S: ", text) => (false, text),
                _ => panic!("a turn starts with `C: ` or `S: `: {t}"),
            };
            let line = format!("{text}\r\n").into_bytes();
            match segments.last_mut() {
                Some((c, data)) if *c == from_client => data.extend(line),
                _ => segments.push((from_client, line)),
            }
        }
        self.tcp_segments(client, server, &segments)
    }

    /// A TCP conversation of raw segments (`true`: from the client).
    pub fn tcp_segments(
        &mut self,
        client: Addr,
        server: Addr,
        segments: &[(bool, Vec<u8>)],
    ) -> &mut Self {
        let mut next = [1000u32, 5000u32];
        let frame =
            |from_client: bool, seq: u32, ack: Option<u32>, syn: bool, fin: bool, data: &[u8]| {
                let (src, dst, smac, dmac) = if from_client {
                    (client, server, CLIENT_MAC, SERVER_MAC)
                } else {
                    (server, client, SERVER_MAC, CLIENT_MAC)
                };
                let mut b = PacketBuilder::ethernet2(smac, dmac)
                    .ipv4(src.0, dst.0, 64)
                    .tcp(src.1, dst.1, seq, 64240);
                if syn {
                    b = b.syn();
                }
                if fin {
                    b = b.fin();
                }
                if let Some(a) = ack {
                    b = b.ack(a);
                }
                if !data.is_empty() {
                    b = b.psh();
                }
                let mut out = Vec::new();
                b.write(&mut out, data).unwrap();
                out
            };
        self.frames
            .push(frame(true, next[0] - 1, None, true, false, &[]));
        self.frames
            .push(frame(false, next[1] - 1, Some(next[0]), true, false, &[]));
        self.frames
            .push(frame(true, next[0], Some(next[1]), false, false, &[]));
        for (from_client, data) in segments {
            let (me, peer) = if *from_client { (0, 1) } else { (1, 0) };
            self.frames.push(frame(
                *from_client,
                next[me],
                Some(next[peer]),
                false,
                false,
                data,
            ));
            next[me] = next[me].wrapping_add(data.len() as u32);
            self.frames.push(frame(
                !*from_client,
                next[peer],
                Some(next[me]),
                false,
                false,
                &[],
            ));
        }
        for from_client in [true, false] {
            let (me, peer) = if from_client { (0, 1) } else { (1, 0) };
            self.frames.push(frame(
                from_client,
                next[me],
                Some(next[peer]),
                false,
                true,
                &[],
            ));
            next[me] += 1;
        }
        self.frames
            .push(frame(true, next[0], Some(next[1]), false, false, &[]));
        self
    }

    /// A UDP datagram.
    pub fn udp(&mut self, src: Addr, dst: Addr, payload: &[u8]) -> &mut Self {
        let mut out = Vec::new();
        PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
            .ipv4(src.0, dst.0, 64)
            .udp(src.1, dst.1)
            .write(&mut out, payload)
            .unwrap();
        self.frames.push(out);
        self
    }

    /// How many frames there are.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// Keeps the frames (numbered from 0 in the order made) `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) -> &mut Self {
        let mut i = 0;
        self.frames.retain(|_| {
            i += 1;
            keep(i - 1)
        });
        self
    }

    /// The classic pcap (microseconds, Ethernet).
    pub fn pcap(&self) -> Vec<u8> {
        let mut out = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
        out.extend(2u16.to_le_bytes());
        out.extend(4u16.to_le_bytes());
        out.extend([0u8; 8]);
        out.extend(65535u32.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        for (i, f) in self.frames.iter().enumerate() {
            let ms = i as u32;
            out.extend((1_800_000_000 + ms / 1000).to_le_bytes());
            out.extend((ms % 1000 * 1000).to_le_bytes());
            out.extend((f.len() as u32).to_le_bytes());
            out.extend((f.len() as u32).to_le_bytes());
            out.extend(f);
        }
        out
    }
}
