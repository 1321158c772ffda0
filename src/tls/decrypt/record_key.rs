//! One direction's record protection: the cipher suites smtpcap decrypts, and opening a
//! record with its key, IV and sequence number (RFC 8446 §5.2-5.3, RFC 5246 §6.2.3,
//! RFC 5288, RFC 7905, RFC 7366).

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384};

use super::schedule::Hash;

/// The bulk cipher of a suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
    Aes128Cbc,
    Aes256Cbc,
}

impl Cipher {
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Gcm | Cipher::Aes128Cbc => 16,
            Cipher::Aes256Gcm | Cipher::ChaCha20Poly1305 | Cipher::Aes256Cbc => 32,
        }
    }

    /// The IV the key schedule makes (TLS 1.2's GCM takes 4 bytes from it and 8 from
    /// each record; CBC's IV is in each record from TLS 1.1, the derived one unused).
    pub fn iv_len(self, tls13: bool) -> usize {
        match self {
            Cipher::Aes128Gcm | Cipher::Aes256Gcm if !tls13 => 4,
            Cipher::Aes128Cbc | Cipher::Aes256Cbc => 16,
            _ => 12,
        }
    }
}

/// The MAC of a TLS 1.2 CBC suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacHash {
    Sha1,
    Sha256,
    Sha384,
}

impl MacHash {
    pub fn output_len(self) -> usize {
        match self {
            MacHash::Sha1 => 20,
            MacHash::Sha256 => 32,
            MacHash::Sha384 => 48,
        }
    }
}

/// What a cipher suite takes to decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub tls13: bool,
    /// The key schedule's hash (TLS 1.2: the PRF's).
    pub hash: Hash,
    pub cipher: Cipher,
    /// CBC suites' MAC.
    pub mac: Option<MacHash>,
}

/// The suites decrypted: TLS 1.3's three, and TLS 1.2's (EC)DHE and RSA suites with
/// AES-GCM, ChaCha20-Poly1305 and AES-CBC (SHA-1, SHA-256, SHA-384 MACs).
pub fn suite(id: u16) -> Option<Suite> {
    use Cipher::{Aes128Cbc, Aes128Gcm, Aes256Cbc, Aes256Gcm, ChaCha20Poly1305};
    use Hash::{Sha256, Sha384};
    let (tls13, hash, cipher, mac) = match id {
        0x1301 => (true, Sha256, Aes128Gcm, None),
        0x1302 => (true, Sha384, Aes256Gcm, None),
        0x1303 => (true, Sha256, ChaCha20Poly1305, None),
        // ECDHE-RSA, ECDHE-ECDSA, RSA, DHE-RSA with AES-GCM.
        0xc02f | 0xc02b | 0x009c | 0x009e => (false, Sha256, Aes128Gcm, None),
        0xc030 | 0xc02c | 0x009d | 0x009f => (false, Sha384, Aes256Gcm, None),
        0xcca8..=0xccaa => (false, Sha256, ChaCha20Poly1305, None),
        // AES-CBC with SHA-1 (the PRF is SHA-256 in TLS 1.2).
        0xc013 | 0xc009 | 0x002f | 0x0033 => (false, Sha256, Aes128Cbc, Some(MacHash::Sha1)),
        0xc014 | 0xc00a | 0x0035 | 0x0039 => (false, Sha256, Aes256Cbc, Some(MacHash::Sha1)),
        0xc027 | 0xc023 | 0x003c | 0x0067 => (false, Sha256, Aes128Cbc, Some(MacHash::Sha256)),
        0x003d | 0x006b => (false, Sha256, Aes256Cbc, Some(MacHash::Sha256)),
        0xc028 | 0xc024 => (false, Sha384, Aes256Cbc, Some(MacHash::Sha384)),
        _ => return None,
    };
    Some(Suite {
        tls13,
        hash,
        cipher,
        mac,
    })
}

enum Aead {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

enum Protection {
    Aead(Aead),
    Cbc {
        key: Vec<u8>,
        mac: MacHash,
        mac_key: Vec<u8>,
        /// RFC 7366: the MAC covers the ciphertext, not the plaintext.
        encrypt_then_mac: bool,
    },
}

/// One direction's key, ready to open records.
pub struct RecordKey {
    protection: Protection,
    iv: Vec<u8>,
    tls13: bool,
}

const TAG: usize = 16;
const EXPLICIT_NONCE: usize = 8;
const BLOCK: usize = 16;

impl RecordKey {
    /// `None` when the key's length does not fit the cipher.
    pub fn new(
        suite: Suite,
        key: &[u8],
        iv: &[u8],
        mac_key: &[u8],
        encrypt_then_mac: bool,
    ) -> Option<RecordKey> {
        let protection = match suite.cipher {
            Cipher::Aes128Gcm => {
                Protection::Aead(Aead::Aes128(Box::new(Aes128Gcm::new_from_slice(key).ok()?)))
            }
            Cipher::Aes256Gcm => {
                Protection::Aead(Aead::Aes256(Box::new(Aes256Gcm::new_from_slice(key).ok()?)))
            }
            Cipher::ChaCha20Poly1305 => Protection::Aead(Aead::ChaCha(Box::new(
                ChaCha20Poly1305::new_from_slice(key).ok()?,
            ))),
            Cipher::Aes128Cbc | Cipher::Aes256Cbc => Protection::Cbc {
                key: key.to_vec(),
                mac: suite.mac?,
                mac_key: mac_key.to_vec(),
                encrypt_then_mac,
            },
        };
        Some(RecordKey {
            protection,
            iv: iv.to_vec(),
            tls13: suite.tls13,
        })
    }

    /// The plaintext of the record with this 5-byte header and body, sent as number
    /// `seq` under this key; `None` when it does not authenticate. TLS 1.3: the inner
    /// plaintext (content, its type, padding).
    pub fn open(&self, header: [u8; 5], body: &[u8], seq: u64) -> Option<Vec<u8>> {
        match &self.protection {
            Protection::Aead(aead) if self.tls13 => {
                let nonce = self.xor_nonce(seq)?;
                aead.open(&nonce, &header, body.to_vec())
            }
            Protection::Aead(aead @ Aead::ChaCha(_)) => {
                let nonce = self.xor_nonce(seq)?;
                let len = body.len().checked_sub(TAG)?;
                aead.open(&nonce, &tls12_aad(seq, header, len), body.to_vec())
            }
            Protection::Aead(aead) => {
                let explicit = body.get(..EXPLICIT_NONCE)?;
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(self.iv.get(..4)?);
                nonce[4..].copy_from_slice(explicit);
                let sealed = &body[EXPLICIT_NONCE..];
                let len = sealed.len().checked_sub(TAG)?;
                aead.open(&nonce, &tls12_aad(seq, header, len), sealed.to_vec())
            }
            Protection::Cbc {
                key,
                mac,
                mac_key,
                encrypt_then_mac,
            } => open_cbc(key, *mac, mac_key, *encrypt_then_mac, header, body, seq),
        }
    }

    fn xor_nonce(&self, seq: u64) -> Option<[u8; 12]> {
        let mut nonce: [u8; 12] = self.iv.as_slice().try_into().ok()?;
        for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        Some(nonce)
    }
}

impl Aead {
    fn open(&self, nonce: &[u8; 12], aad: &[u8], mut buf: Vec<u8>) -> Option<Vec<u8>> {
        let done = match self {
            Aead::Aes128(c) => c.decrypt_in_place(&(*nonce).into(), aad, &mut buf),
            Aead::Aes256(c) => c.decrypt_in_place(&(*nonce).into(), aad, &mut buf),
            Aead::ChaCha(c) => c.decrypt_in_place(&(*nonce).into(), aad, &mut buf),
        };
        done.ok().map(|()| buf)
    }
}

/// TLS 1.2's additional data: sequence number, type, version, plaintext length.
fn tls12_aad(seq: u64, header: [u8; 5], len: usize) -> [u8; 13] {
    let mut aad = [0u8; 13];
    aad[..8].copy_from_slice(&seq.to_be_bytes());
    aad[8..11].copy_from_slice(&header[..3]);
    aad[11..].copy_from_slice(&(len as u16).to_be_bytes());
    aad
}

fn open_cbc(
    key: &[u8],
    mac: MacHash,
    mac_key: &[u8],
    encrypt_then_mac: bool,
    header: [u8; 5],
    body: &[u8],
    seq: u64,
) -> Option<Vec<u8>> {
    let mac_len = mac.output_len();
    let sealed = if encrypt_then_mac {
        let (sealed, tag) = body.split_at(body.len().checked_sub(mac_len)?);
        if !mac_fits(
            mac,
            mac_key,
            &tls12_aad(seq, header, sealed.len()),
            sealed,
            tag,
        ) {
            return None;
        }
        sealed
    } else {
        body
    };
    let (iv, ciphertext) = (sealed.get(..BLOCK)?, &sealed[BLOCK..]);
    if ciphertext.is_empty() || ciphertext.len() % BLOCK != 0 {
        return None;
    }
    let mut plain = ciphertext.to_vec();
    let done = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded::<NoPadding>(&mut plain)
            .is_ok(),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded::<NoPadding>(&mut plain)
            .is_ok(),
    };
    if !done {
        return None;
    }
    let pad = usize::from(*plain.last()?);
    let padded = plain.len().checked_sub(pad + 1)?;
    if plain[padded..].iter().any(|b| usize::from(*b) != pad) {
        return None;
    }
    plain.truncate(padded);
    if !encrypt_then_mac {
        let content = plain.len().checked_sub(mac_len)?;
        let tag = plain.split_off(content);
        if !mac_fits(mac, mac_key, &tls12_aad(seq, header, content), &plain, &tag) {
            return None;
        }
    }
    Some(plain)
}

fn mac_fits(mac: MacHash, key: &[u8], aad: &[u8], data: &[u8], tag: &[u8]) -> bool {
    fn check<M: Mac + hmac::KeyInit>(key: &[u8], aad: &[u8], data: &[u8], tag: &[u8]) -> bool {
        let Ok(mut m) = <M as hmac::KeyInit>::new_from_slice(key) else {
            return false;
        };
        m.update(aad);
        m.update(data);
        m.verify_slice(tag).is_ok()
    }
    match mac {
        MacHash::Sha1 => check::<Hmac<Sha1>>(key, aad, data, tag),
        MacHash::Sha256 => check::<Hmac<Sha256>>(key, aad, data, tag),
        MacHash::Sha384 => check::<Hmac<Sha384>>(key, aad, data, tag),
    }
}
