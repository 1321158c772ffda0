#![no_main]
//! Both directions of a conversation with arbitrary sequence and acknowledgement numbers,
//! lengths, flags and times: the table never delivers more bytes of a side than it was
//! given, hands every conversation on, and stays bounded.
use libfuzzer_sys::fuzz_target;
use smtpcap::internals::packet::{TcpFlags, TcpSegment};
use smtpcap::internals::tcp::{ConnectionTable, SegmentMeta, StreamEvent, StreamSink, TableLimits};
use smtpcap::Timestamp;
use smtpcap::{Endpoint, Side};

#[derive(Default)]
struct Count([u64; 2]);

impl StreamSink for Count {
    fn event(&mut self, side: Side, _f: u64, _t: Timestamp, ev: StreamEvent<'_>) {
        if let StreamEvent::Data(d) = ev {
            self.0[usize::from(side == Side::Server)] += d.len() as u64;
        }
    }
}

const A: Endpoint = Endpoint {
    ip: std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 10)),
    port: 40000,
};
const B: Endpoint = Endpoint {
    ip: std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 25)),
    port: 25,
};

fuzz_target!(|data: &[u8]| {
    let mut t: ConnectionTable<Count> = ConnectionTable::new(TableLimits::default(), |p| p == 25);
    let mut given = [0u64; 2];
    for (i, op) in data.chunks_exact(12).enumerate() {
        let seq = u32::from_le_bytes([op[0], op[1], op[2], op[3]]);
        let ack = u32::from_le_bytes([op[4], op[5], op[6], op[7]]);
        let len = usize::from(u16::from_le_bytes([op[8], op[9]]) % 3000);
        let bits = op[10];
        let from_a = bits & 1 == 0;
        let flags = TcpFlags {
            syn: bits & 2 != 0,
            ack: bits & 4 != 0,
            fin: bits & 8 != 0,
            rst: bits & 16 != 0,
        };
        let payload = vec![op[11]; len];
        let (src, dst) = if from_a { (A, B) } else { (B, A) };
        // Time goes forward by up to 2 s per packet, or back.
        let secs = i64::from(op[11] % 4) - 1 + i as i64;
        let meta = SegmentMeta {
            frame: i as u64 + 1,
            time: Timestamp::new(secs.max(0), 0),
            src,
            dst,
            src_mac: None,
        };
        let seg = TcpSegment {
            src_port: src.port,
            dst_port: dst.port,
            seq,
            ack,
            flags,
            payload: &payload,
            missing: 0,
        };
        if !flags.rst {
            given[usize::from(!from_a)] += len as u64;
        }
        t.segment(&meta, &seg, |_, _, _| Count::default());
    }
    let mut delivered = [0u64; 2];
    t.finish_all(|c| {
        delivered[0] += c.sink.0[0];
        delivered[1] += c.sink.0[1];
    });
    // Roles may be either way round: compare the totals.
    assert!(delivered[0] + delivered[1] <= given[0] + given[1]);
});
