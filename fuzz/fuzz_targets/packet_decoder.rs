#![no_main]
//! Any bytes as a frame of any supported link type.
use libfuzzer_sys::fuzz_target;
use smtpcap::internals::capture::{Frame, LinkType};
use smtpcap::internals::packet::PacketDecoder;
use smtpcap::Timestamp;

const LINKS: [LinkType; 8] = [
    LinkType::ETHERNET,
    LinkType::NULL,
    LinkType::LOOP,
    LinkType::RAW,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::IPV4,
    LinkType::IPV6,
];

fuzz_target!(|data: &[u8]| {
    let mut decoder = PacketDecoder::default();
    // Several frames from one input, so fragment reassembly state is exercised.
    for (i, chunk) in data.split(|&b| b == 0xfe).enumerate().take(64) {
        let Some((&k, rest)) = chunk.split_first() else {
            continue;
        };
        let frame = Frame {
            number: i as u64 + 1,
            time: Timestamp::default(),
            link_type: LINKS[usize::from(k) % LINKS.len()],
            data: rest,
            orig_len: rest.len() as u32,
        };
        let _ = decoder.decode(&frame);
    }
});
