#![no_main]
//! Arbitrary bytes as the TLS records of both directions, in arbitrary chunks.
use libfuzzer_sys::fuzz_target;
use smtpcap::internals::tls::TlsObserver;
use smtpcap::Side;

fuzz_target!(|data: &[u8]| {
    let mut t = TlsObserver::default();
    let mut rest = data;
    let mut frame = 0;
    while let Some((&ctl, tail)) = rest.split_first() {
        frame += 1;
        let n = (usize::from(ctl >> 1) * 7).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        let side = if ctl & 1 == 0 {
            Side::Client
        } else {
            Side::Server
        };
        t.feed(side, chunk, frame, Default::default());
    }
});
