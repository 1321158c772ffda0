#![no_main]
//! An SMTP session through STARTTLS into TLS 1.3 whose secrets the key log holds: the
//! fuzzer's bytes become the dialogue inside, sealed into records as a peer would seal them
//! (so decryption succeeds and the inner SMTP state machine is reached), or, by a flag,
//! records of raw bytes (tags that fail, lengths that lie), cut at arbitrary points.
use std::sync::Arc;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::Aes128Gcm;
use libfuzzer_sys::fuzz_target;
use smtpcap::internals::smtp::SmtpSession;
use smtpcap::internals::tcp::{GapReason, StreamEvent};
use smtpcap::internals::tls::decrypt::{expand_label, Hash};
use smtpcap::{KeyLog, Side, Timestamp};

const RANDOM: [u8; 32] = [7; 32];
const CLIENT_SECRET: [u8; 32] = [1; 32];
const SERVER_SECRET: [u8; 32] = [2; 32];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn record(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![kind, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut h = vec![kind, 0, (body.len() >> 8) as u8, body.len() as u8];
    h.extend_from_slice(body);
    record(22, &h)
}

/// A ClientHello / ServerHello with `RANDOM` and TLS_AES_128_GCM_SHA256, TLS 1.3.
fn hellos() -> (Vec<u8>, Vec<u8>) {
    let mut ch = vec![3, 3];
    ch.extend_from_slice(&RANDOM);
    ch.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
    ch.extend_from_slice(&[0, 7, 0, 0x2b, 0, 3, 2, 3, 4]);
    let mut sh = vec![3, 3];
    sh.extend_from_slice(&[9; 32]);
    sh.extend_from_slice(&[0, 0x13, 0x01, 0]);
    sh.extend_from_slice(&[0, 6, 0, 0x2b, 0, 2, 3, 4]);
    (handshake(1, &ch), handshake(2, &sh))
}

struct Sealer {
    aead: Aes128Gcm,
    iv: Vec<u8>,
    seq: u64,
}

impl Sealer {
    fn new(secret: &[u8]) -> Sealer {
        let key = expand_label(Hash::Sha256, secret, "key", 16).unwrap();
        let iv = expand_label(Hash::Sha256, secret, "iv", 12).unwrap();
        Sealer {
            aead: Aes128Gcm::new_from_slice(&key).unwrap(),
            iv,
            seq: 0,
        }
    }

    fn seal(&mut self, plain: &[u8], padding: usize) -> Vec<u8> {
        let mut inner = plain.to_vec();
        inner.push(23);
        inner.resize(inner.len() + padding, 0);
        let header = [23, 3, 3, 0, 0];
        let len = (inner.len() + 16) as u16;
        let header = [header[0], header[1], header[2], (len >> 8) as u8, len as u8];
        let mut nonce: [u8; 12] = self.iv.as_slice().try_into().unwrap();
        for (n, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *n ^= s;
        }
        self.seq += 1;
        self.aead
            .encrypt_in_place(&nonce.into(), &header, &mut inner)
            .unwrap();
        let mut r = header.to_vec();
        r.extend_from_slice(&inner);
        r
    }
}

fuzz_target!(|data: &[u8]| {
    let mut keys = KeyLog::default();
    let text = format!(
        "CLIENT_TRAFFIC_SECRET_0 {r} {c}\nSERVER_TRAFFIC_SECRET_0 {r} {s}\n",
        r = hex(&RANDOM),
        c = hex(&CLIENT_SECRET),
        s = hex(&SERVER_SECRET)
    );
    keys.add(text.as_bytes());
    let mut smtp = SmtpSession::with_keys(false, Some(Arc::new(keys)));
    let t = Timestamp::default();
    let mut frame = 0;
    let mut send = |smtp: &mut SmtpSession, side, ev: StreamEvent<'_>| {
        frame += 1;
        smtp.event(side, frame, t, ev);
    };
    send(
        &mut smtp,
        Side::Server,
        StreamEvent::Data(b"220 mail ESMTP\r\n"),
    );
    send(
        &mut smtp,
        Side::Client,
        StreamEvent::Data(b"EHLO copier\r\n"),
    );
    send(
        &mut smtp,
        Side::Server,
        StreamEvent::Data(b"250-mail\r\n250 STARTTLS\r\n"),
    );
    send(&mut smtp, Side::Client, StreamEvent::Data(b"STARTTLS\r\n"));
    send(
        &mut smtp,
        Side::Server,
        StreamEvent::Data(b"220 go ahead\r\n"),
    );
    let (ch, sh) = hellos();
    send(&mut smtp, Side::Client, StreamEvent::Data(&ch));
    send(&mut smtp, Side::Server, StreamEvent::Data(&sh));
    let mut client = Sealer::new(&CLIENT_SECRET);
    let mut server = Sealer::new(&SERVER_SECRET);
    let mut rest = data;
    while let Some((&ctl, tail)) = rest.split_first() {
        let n = usize::from(ctl >> 3).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        let side = if ctl & 1 == 0 {
            Side::Client
        } else {
            Side::Server
        };
        let bytes = match (ctl >> 1) & 3 {
            // Raw bytes where records belong.
            0 if ctl & 0x80 != 0 => chunk.to_vec(),
            // A gap in this direction.
            0 if chunk.is_empty() => {
                let gap = StreamEvent::Gap {
                    len: 9,
                    reason: GapReason::NotCaptured,
                };
                send(&mut smtp, side, gap);
                continue;
            }
            pad => {
                let sealer = if side == Side::Client {
                    &mut client
                } else {
                    &mut server
                };
                sealer.seal(chunk, usize::from(pad) * 5)
            }
        };
        // The record in two segments, cut where the control byte says.
        let cut = usize::from(ctl) % (bytes.len() + 1);
        send(&mut smtp, side, StreamEvent::Data(&bytes[..cut]));
        send(&mut smtp, side, StreamEvent::Data(&bytes[cut..]));
    }
    smtp.finish();
    let _ = format!("{:?}", smtp.record.entries);
    // Whatever was decrypted is marked as inside TLS, and only that.
    assert!(smtp
        .record
        .entries
        .iter()
        .take(6)
        .all(|e| e.provenance.in_clear()));
});
