#![no_main]
//! Arbitrary encrypted record lengths through the reader of the dialogue inside TLS: no
//! panic, and any reading it gives is complete (a refusal with its stage, its deciding
//! answer and its finding).
use libfuzzer_sys::fuzz_target;
use smtpcap::internals::diagnosis::inside_tls::read;
use smtpcap::internals::diagnosis::Outcome;
use smtpcap::internals::tls::SealedRecord;
use smtpcap::Side;

fuzz_target!(|data: &[u8]| {
    let [a, b, c, rest @ ..] = data else { return };
    let overhead = [9, 16, 17, 24][usize::from(a & 3)];
    let tls13 = a & 4 != 0;
    let exo = (a & 8 != 0).then_some(u64::from(b % 32));
    let ehlo = u64::from(*c);
    let records: Vec<SealedRecord> = rest
        .chunks_exact(3)
        .enumerate()
        .map(|(i, r)| SealedRecord {
            side: if r[0] & 1 == 0 { Side::Client } else { Side::Server },
            frame: i as u64 + 1,
            length: u64::from(u16::from_be_bytes([r[1], r[2]])),
            records: 1 + u64::from(r[0] >> 5),
            application_data: r[0] & 2 == 0,
        })
        .collect();
    if let Some(i) = read(&records, overhead, tls13, ehlo, exo) {
        assert!(!i.steps.is_empty());
        if i.outcome == Outcome::Rejected {
            assert!(i.stage.is_some() && i.deciding.is_some() && i.finding.is_some());
        }
    }
});
