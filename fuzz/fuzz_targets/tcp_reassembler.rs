#![no_main]
//! Segments with arbitrary sequence numbers, lengths, flags and acknowledgements: the
//! reassembler never delivers more bytes than it was given, and stays bounded.
use libfuzzer_sys::fuzz_target;
use smtpcap::capture::Timestamp;
use smtpcap::tcp::{StreamEvent, StreamReassembler};

fuzz_target!(|data: &[u8]| {
    let mut r = StreamReassembler::new(1 << 16);
    let mut given = 0u64;
    let mut delivered = 0u64;
    let mut emit = |_f: u64, _t: Timestamp, ev: StreamEvent<'_>| {
        if let StreamEvent::Data(d) = ev {
            delivered += d.len() as u64;
        }
    };
    let mut ops = data.chunks_exact(8);
    for (i, op) in ops.by_ref().enumerate() {
        let seq = u32::from_le_bytes([op[0], op[1], op[2], op[3]]);
        let len = usize::from(u16::from_le_bytes([op[4], op[5]]) % 3000);
        let flags = op[6];
        let payload = vec![op[7]; len];
        let frame = i as u64 + 1;
        match flags % 5 {
            0 => r.syn(seq),
            1 => r.peer_ack(seq, frame, Timestamp::default(), &mut emit),
            _ => {
                given += len as u64;
                r.segment(seq, &payload, u32::from(flags >> 4) * 100, flags & 8 != 0, frame, Timestamp::default(), &mut emit);
            }
        }
    }
    r.flush(u64::MAX, Timestamp::default(), &mut emit);
    assert!(delivered <= given);
});
