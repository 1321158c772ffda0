//! Decrypting a TLS session's records with the secrets of a key log: TLS 1.3 (traffic
//! secrets, key updates) and TLS 1.2 (master secret, AEAD and CBC suites).

mod record_key;
mod schedule;

pub use record_key::{suite, Cipher, MacHash, Suite};
pub use schedule::{expand_label, prf, Hash};

use record_key::RecordKey;

use super::keylog::{ClientRandom, SessionSecrets};
use crate::base::Side;

/// Why a session's records cannot be decrypted with the secrets at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// A cipher suite smtpcap does not decrypt (its number).
    Suite(u16),
    /// TLS 1.1 or older (their PRF is not implemented; mail servers refuse them).
    Version(u16),
    /// The key log has the session, but not the secret this version needs.
    MissingSecret(&'static str),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Suite(s) => write!(f, "cipher suite 0x{s:04x} is not one smtpcap decrypts"),
            Unusable::Version(v) => write!(
                f,
                "{} is not decrypted (only TLS 1.2 and 1.3)",
                super::version_name(*v)
            ),
            Unusable::MissingSecret(what) => write!(f, "the key log lacks the {what}"),
        }
    }
}

/// What became of one encrypted record.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    /// Decrypted: its content type (TLS 1.3: the inner one) and plaintext.
    Plain {
        content_type: u8,
        plaintext: Vec<u8>,
    },
    /// A TLS 1.3 handshake record whose handshake secret was not logged: passed by.
    Skipped,
    /// It does not decrypt with the secrets logged (or they stopped fitting).
    Failed,
}

/// The record keys of one TLS session, both directions.
pub struct Decryptor {
    suite: Suite,
    client: Direction,
    server: Direction,
}

struct Direction {
    key: Option<RecordKey>,
    seq: u64,
    /// TLS 1.3: the traffic secret `key` comes from, while it is an application one.
    secret: Option<Vec<u8>>,
    /// TLS 1.3, during the handshake: the first application traffic secret, next in line.
    next: Option<Vec<u8>>,
    failed: bool,
    /// TLS 1.3 handshake records passed by.
    skipped: u32,
}

/// A TLS 1.3 side's encrypted handshake records: the server's `EncryptedExtensions`,
/// `Certificate` (a long chain over a few records), `CertificateVerify` and `Finished`;
/// the client's `Finished` (and certificate). Past this many records that do not decrypt, the
/// application secret does not fit.
const MAX_HANDSHAKE_RECORDS: u32 = 8;

impl Decryptor {
    /// The keys of the session with these hellos; `encrypt_then_mac`: the server agreed
    /// to RFC 7366 (CBC suites only).
    ///
    /// # Errors
    /// The suite or version is not decrypted, or the key log lacks a needed secret.
    pub fn new(
        suite_id: u16,
        version: u16,
        client_random: &ClientRandom,
        server_random: &[u8; 32],
        secrets: &SessionSecrets,
        encrypt_then_mac: bool,
    ) -> Result<Decryptor, Unusable> {
        let suite = suite(suite_id).ok_or(Unusable::Suite(suite_id))?;
        if version < 0x0303 {
            return Err(Unusable::Version(version));
        }
        if suite.tls13 != (version == 0x0304) {
            return Err(Unusable::Suite(suite_id));
        }
        let (client, server) = if suite.tls13 {
            let side = |handshake: &Option<Vec<u8>>, traffic: &Option<Vec<u8>>| Direction {
                key: handshake.as_deref().and_then(|s| key13(suite, s)),
                seq: 0,
                secret: None,
                next: traffic.clone(),
                failed: false,
                skipped: 0,
            };
            if secrets.client_handshake.is_none()
                && secrets.server_handshake.is_none()
                && secrets.client_traffic.is_none()
                && secrets.server_traffic.is_none()
            {
                return Err(Unusable::MissingSecret("TLS 1.3 traffic secrets"));
            }
            (
                side(&secrets.client_handshake, &secrets.client_traffic),
                side(&secrets.server_handshake, &secrets.server_traffic),
            )
        } else {
            let master = secrets
                .master
                .as_deref()
                .ok_or(Unusable::MissingSecret("master secret (CLIENT_RANDOM)"))?;
            keys12(
                suite,
                master,
                client_random,
                server_random,
                encrypt_then_mac,
            )
            .ok_or(Unusable::Suite(suite_id))?
        };
        Ok(Decryptor {
            suite,
            client,
            server,
        })
    }

    /// Opens the next record `side` sent (its 5-byte header and body).
    pub fn open(&mut self, side: Side, header: [u8; 5], body: &[u8]) -> Opened {
        let suite = self.suite;
        let dir = match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        };
        if dir.failed {
            return Opened::Failed;
        }
        let opened = if suite.tls13 {
            dir.open13(suite, header, body)
        } else {
            dir.open12(header, body)
        };
        if opened == Opened::Failed {
            dir.failed = true;
        }
        opened
    }
}

impl Direction {
    fn open12(&mut self, header: [u8; 5], body: &[u8]) -> Opened {
        let Some(plaintext) = self
            .key
            .as_ref()
            .and_then(|k| k.open(header, body, self.seq))
        else {
            return Opened::Failed;
        };
        self.seq += 1;
        Opened::Plain {
            content_type: header[0],
            plaintext,
        }
    }

    fn open13(&mut self, suite: Suite, header: [u8; 5], body: &[u8]) -> Opened {
        if let Some(inner) = self
            .key
            .as_ref()
            .and_then(|k| k.open(header, body, self.seq))
        {
            self.seq += 1;
            return unwrap_inner(inner);
        }
        // The next key in line: the first application one after the handshake's, then
        // each key update's (RFC 8446 §7.2). The tag tells whether it is the one.
        let next = match &self.secret {
            Some(current) => {
                expand_label(suite.hash, current, "traffic upd", suite.hash.output_len())
            }
            None => self.next.clone(),
        };
        if let Some(secret) = next {
            if let Some(key) = key13(suite, &secret) {
                if let Some(inner) = key.open(header, body, 0) {
                    self.key = Some(key);
                    self.seq = 1;
                    self.secret = Some(secret);
                    self.next = None;
                    return unwrap_inner(inner);
                }
            }
        }
        // Still in the handshake, whose secret was not logged: its records are passed by,
        // as long as there can be that many of them.
        if self.secret.is_none() && self.key.is_none() && self.skipped < MAX_HANDSHAKE_RECORDS {
            self.skipped += 1;
            Opened::Skipped
        } else {
            Opened::Failed
        }
    }
}

/// TLS 1.3's inner plaintext: the content, its type, then zeros (padding).
fn unwrap_inner(mut inner: Vec<u8>) -> Opened {
    let Some(end) = inner.iter().rposition(|b| *b != 0) else {
        return Opened::Failed;
    };
    let content_type = inner[end];
    inner.truncate(end);
    Opened::Plain {
        content_type,
        plaintext: inner,
    }
}

fn key13(suite: Suite, secret: &[u8]) -> Option<RecordKey> {
    let key = expand_label(suite.hash, secret, "key", suite.cipher.key_len())?;
    let iv = expand_label(suite.hash, secret, "iv", 12)?;
    RecordKey::new(suite, &key, &iv, &[], false)
}

fn keys12(
    suite: Suite,
    master: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    encrypt_then_mac: bool,
) -> Option<(Direction, Direction)> {
    let mac = suite.mac.map_or(0, MacHash::output_len);
    let key = suite.cipher.key_len();
    let iv = suite.cipher.iv_len(false);
    let mut seed = server_random.to_vec();
    seed.extend_from_slice(client_random);
    let block = prf(
        suite.hash,
        master,
        b"key expansion",
        &seed,
        2 * (mac + key + iv),
    );
    let mut parts = [mac, mac, key, key, iv, iv].into_iter().scan(0, |at, n| {
        let part = block.get(*at..*at + n);
        *at += n;
        part
    });
    let (cm, sm, ck, sk, ci, si) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let side = |k: &[u8], i: &[u8], m: &[u8]| {
        Some(Direction {
            key: Some(RecordKey::new(suite, k, i, m, encrypt_then_mac)?),
            seq: 0,
            secret: None,
            next: None,
            failed: false,
            skipped: 0,
        })
    };
    Some((side(ck, ci, cm)?, side(sk, si, sm)?))
}
