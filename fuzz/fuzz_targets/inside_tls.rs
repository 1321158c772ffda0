#![no_main]
//! Arbitrary encrypted turns through the reader of the dialogue inside TLS: no panic, no
//! hang, and a reading is complete (an outcome, and for a refusal its stage and deciding
//! answer) or declines with its reason; its entries are inferred, in frame order, and none
//! lies past where the reading stopped.
use libfuzzer_sys::fuzz_target;
use smtpcap::internals::diagnosis::inside_tls::{read, Clear, Family};
use smtpcap::internals::diagnosis::Outcome;
use smtpcap::internals::tls::{SealedTurn, ServerHelloFact, TlsFacts, TlsVersion};
use smtpcap::{Side, Timestamp};

// TLS 1.3 AES-GCM, TLS 1.2 AES-GCM, ChaCha20, AES-CBC-SHA, AES-CBC-SHA384, RC4.
const SUITES: [(u16, u16); 6] = [
    (0x0304, 0x1301),
    (0x0303, 0xc02f),
    (0x0303, 0xcca8),
    (0x0303, 0xc013),
    (0x0303, 0xc028),
    (0x0303, 0x0005),
];

fuzz_target!(|data: &[u8]| {
    let [a, b, c, rest @ ..] = data else { return };
    let (version, suite) = SUITES[usize::from(a % 6)];
    let mut tls = TlsFacts::default();
    tls.established = true;
    tls.server_hello = Some(ServerHelloFact {
        frame: 1,
        version: TlsVersion(version),
        cipher: String::new(),
        suite,
        encrypt_then_mac: a & 0x40 != 0,
    });
    for (i, r) in rest.chunks_exact(3).enumerate() {
        let side = if r[0] & 1 == 0 {
            Side::Client
        } else {
            Side::Server
        };
        let mut t = SealedTurn::new(
            side,
            i as u64 + 2,
            u32::from(u16::from_be_bytes([r[1], r[2]])),
            Timestamp::default(),
        );
        for k in 0..(r[0] >> 5) {
            t.push(
                i as u64 + 2,
                u32::from(r[1]) + u32::from(k),
                Timestamp::default(),
            );
        }
        tls.sealed.push(t);
    }
    let clear = Clear {
        ehlo: (b & 0x80 == 0).then_some(u64::from(*c)),
        pipelining: b & 0x40 != 0,
        size_limit: (b & 0x20 != 0).then_some(10_240_000),
        host: Some("relay.contoso.local".into()),
        greeting: None,
    };
    let family = Family::ALL[usize::from(b % 8)];
    let i = read(&tls, &clear, family, &|_| None);
    match i.outcome {
        Some(o) => {
            assert!(i.declined.is_none(), "an outcome read is not declined");
            if o == Outcome::Rejected {
                assert!(i.stage.is_some() && (i.deciding.is_some() || i.open_cause.is_some()));
            }
        }
        None => assert!(i.declined.is_some(), "no outcome and no reason"),
    }
    assert!(i.entries.iter().all(|e| e.provenance.inferred()));
    assert!(i.entries.windows(2).all(|w| w[0].frame <= w[1].frame));
    if let Some(d) = &i.declined {
        assert!(
            i.entries.iter().all(|e| e.frame <= d.frame),
            "an entry past the decline"
        );
    }
});
