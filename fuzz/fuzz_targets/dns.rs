#![no_main]
//! Arbitrary bytes as DNS over UDP and over TCP.
use libfuzzer_sys::fuzz_target;
use smtpcap::internals::dns::{DnsLog, DnsOverTcp};
use smtpcap::Endpoint;

fuzz_target!(|data: &[u8]| {
    let c = Endpoint {
        ip: [192, 0, 2, 10].into(),
        port: 40000,
    };
    let s = Endpoint {
        ip: [192, 0, 2, 53].into(),
        port: 53,
    };
    let mut log = DnsLog::default();
    log.datagram(1, c, s, data);
    log.datagram(2, s, c, data);
    let mut t = DnsOverTcp::default();
    for (i, chunk) in data.chunks(7).enumerate() {
        t.data(i % 2 == 0, chunk, i as u64);
    }
    for (from_client, frame, m) in &t.messages {
        let (src, dst) = if *from_client { (c, s) } else { (s, c) };
        log.datagram(*frame, src, dst, m);
    }
    for l in &log.lookups {
        for a in &l.addresses {
            assert!(log.name_of(a).is_some(), "an answered address has a name");
        }
    }
});
