use tls_parser::{
    parse_tls_extensions, parse_tls_message_handshake, TlsExtension, TlsMessage,
    TlsMessageHandshake,
};

use std::sync::Arc;

use super::decrypt::{Decryptor, Opened};
use super::exo_accepts_cipher;
use super::facts::{
    AlertFact, AlertLevel, CertificateFact, ClientHelloFact, DecryptionFact, DecryptionStatus,
    SealedTurn, ServerHelloFact, TlsFacts, TlsVersion,
};
use super::keylog::{ClientRandom, KeyLog};
use crate::base::{Side, Timestamp};

const RECORD_HEADER: usize = 5;
/// RFC 8446 §5.2: 2^14 + 256 for a ciphertext; a little more is tolerated.
const MAX_RECORD: usize = (1 << 14) + 2048;
/// Handshake bytes kept while a message spans records (certificate chains).
const MAX_HANDSHAKE: usize = 128 * 1024;

/// Turns of encrypted application data kept, for reading the dialogue inside TLS: a
/// submission takes about a dozen, a message of several recipients or several messages a
/// few dozen; each turn is 56 bytes whatever its size.
const MAX_TURNS: usize = 256;

const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;

#[derive(Debug, Default)]
struct Direction {
    /// Bytes of a record not complete yet.
    partial: Vec<u8>,
    /// Bytes still to come of a record counted by its header alone (encrypted content is
    /// never read, so it is not kept).
    skip: usize,
    partial_frame: u64,
    /// Handshake messages not complete yet.
    handshake: Vec<u8>,
    /// This side has switched to encrypted records (CCS sent, or TLS 1.3 after the hellos).
    encrypted: bool,
    encrypted_records: u64,
    lost: bool,
}

/// Decrypted application data, for the protocol inside TLS.
#[derive(Debug)]
pub struct Plaintext {
    pub side: Side,
    /// The frame where its record ended (where Wireshark shows the decrypted data).
    pub frame: u64,
    pub data: Vec<u8>,
}

/// Follows the TLS records of both directions of one connection; with a key log holding
/// the session's secrets, decrypts them.
#[derive(Default)]
pub struct TlsObserver {
    client: Direction,
    server: Direction,
    tls13: bool,
    pub facts: TlsFacts,
    keys: Option<Arc<KeyLog>>,
    client_random: Option<ClientRandom>,
    decryptor: Option<Decryptor>,
    plaintext: Vec<Plaintext>,
    /// The time of the segment being fed.
    now: Timestamp,
}

impl std::fmt::Debug for TlsObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsObserver")
            .field("facts", &self.facts)
            .field("decrypting", &self.decryptor.is_some())
            .finish_non_exhaustive()
    }
}

impl TlsObserver {
    /// An observer that decrypts the session when `keys` has its secrets.
    pub fn with_keys(keys: Option<Arc<KeyLog>>) -> Self {
        TlsObserver {
            keys,
            ..TlsObserver::default()
        }
    }

    /// Application data decrypted since last asked, in the order it was sent.
    pub fn take_plaintext(&mut self) -> Vec<Plaintext> {
        std::mem::take(&mut self.plaintext)
    }

    pub fn feed(&mut self, side: Side, mut data: &[u8], frame: u64, time: Timestamp) {
        self.now = time;
        let dir = self.dir(side);
        if dir.lost {
            return;
        }
        if dir.skip > 0 {
            let n = dir.skip.min(data.len());
            dir.skip -= n;
            data = &data[n..];
            if data.is_empty() {
                return;
            }
        }
        if dir.partial.is_empty() {
            let used = self.records(side, data, frame, frame);
            let dir = self.dir(side);
            if !dir.lost {
                dir.partial = data[used..].to_vec();
                dir.partial_frame = frame;
            }
        } else {
            // A record began in an earlier segment: finish it with these bytes.
            let mut buf = std::mem::take(&mut dir.partial);
            buf.extend_from_slice(data);
            let first = dir.partial_frame;
            let used = self.records(side, &buf, first, frame);
            let dir = self.dir(side);
            if !dir.lost {
                dir.partial_frame = if used == 0 { first } else { frame };
                buf.drain(..used);
                dir.partial = buf;
            }
        }
    }

    /// Handles the complete records at the start of `data`; returns the bytes used. The
    /// first record is attributed to `first_frame`, later ones to `frame`.
    fn records(&mut self, side: Side, data: &[u8], first_frame: u64, frame: u64) -> usize {
        let mut at = 0;
        while data.len() - at >= RECORD_HEADER {
            let rest = &data[at..];
            if !plausible_header(rest) {
                let at_frame = if at == 0 { first_frame } else { frame };
                self.facts.lost_at.get_or_insert((side, at_frame));
                self.lose(side);
                return at;
            }
            let n = record_len(rest);
            if rest.len() < n {
                let encrypted = self.dir(side).encrypted;
                let kind = rest[0];
                if (kind == APPLICATION_DATA || (kind == HANDSHAKE && encrypted))
                    && self.decryptor.is_none()
                {
                    // Only its length matters: count it now, pass its body by.
                    let first = if at == 0 { first_frame } else { frame };
                    self.encrypted_record(side, kind, n - RECORD_HEADER, first);
                    self.dir(side).skip = n - rest.len();
                    return data.len();
                }
                break;
            }
            self.record(side, &rest[..n], if at == 0 { first_frame } else { frame });
            at += n;
        }
        at
    }

    /// Bytes of this direction are missing: record boundaries are lost from here on.
    pub fn gap(&mut self, side: Side) {
        self.lose(side);
    }

    fn lose(&mut self, side: Side) {
        let dir = self.dir(side);
        dir.lost = true;
        dir.partial.clear();
        dir.skip = 0;
        self.facts.lost_sync = true;
    }

    fn dir(&mut self, side: Side) -> &mut Direction {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    fn record(&mut self, side: Side, record: &[u8], frame: u64) {
        let kind = record[0];
        let body = &record[RECORD_HEADER..];
        let encrypted = self.dir(side).encrypted;
        match kind {
            HANDSHAKE if !encrypted => {
                let dir = self.dir(side);
                if dir.handshake.len() + body.len() > MAX_HANDSHAKE {
                    dir.handshake.clear();
                    return;
                }
                dir.handshake.extend_from_slice(body);
                self.handshake_messages(side, frame);
            }
            CHANGE_CIPHER_SPEC => {
                // In TLS 1.3 this is a compatibility record; encryption began with the hellos.
                self.dir(side).encrypted = true;
            }
            ALERT if !encrypted && body.len() == 2 => self.alert(side, body, frame),
            // TLS 1.3 sends its alerts as application data once encrypted.
            ALERT if self.tls13 => self.alert(side, &[], frame),
            ALERT => match self.decrypt(side, record, frame) {
                Some((ALERT, alert)) => self.alert(side, &alert, frame),
                _ => self.alert(side, &[], frame),
            },
            APPLICATION_DATA | HANDSHAKE => self.sealed_record(side, record, frame),
            _ => {}
        }
    }

    /// An encrypted record: its length is kept; decrypted, its content is handed on.
    fn sealed_record(&mut self, side: Side, record: &[u8], frame: u64) {
        match self.decrypt(side, record, frame) {
            // TLS 1.3 hides an alert in an application-data record.
            Some((ALERT, alert)) => return self.alert(side, &alert, frame),
            Some((APPLICATION_DATA, data)) if !data.is_empty() => {
                self.plaintext.push(Plaintext { side, frame, data });
            }
            // Finished, session tickets, key updates.
            _ => {}
        }
        self.encrypted_record(side, record[0], record.len() - RECORD_HEADER, frame);
    }

    /// An alert whose content is `body` (empty: encrypted, not decrypted).
    fn alert(&mut self, side: Side, body: &[u8], frame: u64) {
        let (level, code) = match body {
            [1, code] => (AlertLevel::Warning, Some(*code)),
            [2, code] => (AlertLevel::Fatal, Some(*code)),
            _ => (AlertLevel::Encrypted, None),
        };
        self.facts.alerts.push(AlertFact {
            frame,
            from: side,
            level,
            description: code.map(|c| super::alert_meaning(c).into()),
            code,
        });
    }

    /// Decrypts the record when the session's keys are known: its content type and
    /// plaintext.
    fn decrypt(&mut self, side: Side, record: &[u8], frame: u64) -> Option<(u8, Vec<u8>)> {
        let decryptor = self.decryptor.as_mut()?;
        let header: [u8; RECORD_HEADER] = record.get(..RECORD_HEADER)?.try_into().ok()?;
        let fact = self.facts.decryption.as_mut()?;
        match decryptor.open(side, header, &record[RECORD_HEADER..]) {
            Opened::Plain {
                content_type,
                plaintext,
            } => {
                fact.records += 1;
                if content_type == APPLICATION_DATA {
                    fact.plaintext_bytes += plaintext.len() as u64;
                }
                if fact.status == DecryptionStatus::NothingOpened {
                    fact.status = DecryptionStatus::Decrypted;
                }
                Some((content_type, plaintext))
            }
            Opened::Skipped => {
                fact.skipped += 1;
                None
            }
            Opened::Failed => {
                if !matches!(fact.status, DecryptionStatus::Failed { .. }) {
                    fact.status = DecryptionStatus::Failed { side, frame };
                }
                None
            }
        }
    }

    /// The hellos are known: find the session's secrets and make its keys.
    fn start_decryption(
        &mut self,
        hello: &tls_parser::TlsServerHelloContents<'_>,
        version: u16,
        etm: bool,
    ) {
        let Some(keys) = &self.keys else { return };
        let status = match self
            .client_random
            .and_then(|r| keys.get(&r).map(|s| (r, s)))
        {
            None => DecryptionStatus::NoKeys,
            Some((random, secrets)) => {
                let server_random: Option<[u8; 32]> = hello.random.try_into().ok();
                match server_random.map(|server| {
                    Decryptor::new(hello.cipher.0, version, &random, &server, secrets, etm)
                }) {
                    Some(Ok(d)) => {
                        self.decryptor = Some(d);
                        DecryptionStatus::NothingOpened
                    }
                    Some(Err(why)) => DecryptionStatus::Unusable(why),
                    None => DecryptionStatus::NoKeys,
                }
            }
        };
        self.facts.decryption = Some(DecryptionFact {
            status,
            records: 0,
            plaintext_bytes: 0,
            skipped: 0,
        });
    }

    /// A record whose content is encrypted: only its length counts.
    fn encrypted_record(&mut self, side: Side, kind: u8, body_len: usize, frame: u64) {
        let body_len = body_len as u64;
        let tls13 = self.tls13;
        let application_data = kind == APPLICATION_DATA;
        // TLS 1.2's encrypted Finished is no part of the dialogue.
        if application_data {
            let length = u32::try_from(body_len).unwrap_or(u32::MAX);
            let f = &mut self.facts;
            let joins = f.sealed.last().is_some_and(|last| last.side == side);
            if f.sealed_not_kept > 0 {
                // Past the bound, nothing more is kept: a later record is no part of the
                // last turn kept.
                f.sealed_not_kept += 1;
            } else if let (true, Some(last)) = (joins, f.sealed.last_mut()) {
                last.push(frame, length, self.now);
            } else if f.sealed.len() < MAX_TURNS {
                f.sealed
                    .push(SealedTurn::new(side, frame, length, self.now));
            } else {
                f.sealed_not_kept += 1;
            }
        }
        let dir = self.dir(side);
        dir.encrypted_records += 1;
        let n = dir.encrypted_records;
        // The first encrypted records finish the handshake (TLS 1.3: the server's
        // EncryptedExtensions..Finished flight, the client's Finished).
        let handshake_records = u64::from(tls13);
        if kind == APPLICATION_DATA && n > handshake_records {
            let f = &mut self.facts;
            match side {
                Side::Client => {
                    f.client_records += 1;
                    f.client_bytes += body_len;
                    f.largest_client_record = f.largest_client_record.max(body_len);
                    f.client_data_frame.get_or_insert(frame);
                }
                Side::Server => {
                    f.server_records += 1;
                    f.server_bytes += body_len;
                }
            }
        }
        self.facts.established = self.facts.server_hello.is_some()
            && self.client.encrypted
            && self.server.encrypted
            && self.facts.client_records + self.facts.server_records > 0
            && !self
                .facts
                .alerts
                .iter()
                .any(|a| a.level == AlertLevel::Fatal);
    }

    fn handshake_messages(&mut self, side: Side, frame: u64) {
        loop {
            let buf = &self.dir(side).handshake;
            if buf.len() < 4 {
                return;
            }
            let len = 4
                + ((usize::from(buf[1]) << 16) | (usize::from(buf[2]) << 8) | usize::from(buf[3]));
            if buf.len() < len {
                return;
            }
            let message: Vec<u8> = self.dir(side).handshake.drain(..len).collect();
            if let Ok((_, TlsMessage::Handshake(hs))) = parse_tls_message_handshake(&message) {
                self.handshake(side, hs, frame);
            }
        }
    }

    fn handshake(&mut self, side: Side, hs: TlsMessageHandshake<'_>, frame: u64) {
        match hs {
            TlsMessageHandshake::ClientHello(ch) if side == Side::Client => {
                self.client_random = ch.random.try_into().ok();
                let mut versions: Vec<u16> = vec![ch.version.0];
                let mut sni = None;
                if let Some(Ok((_, exts))) = ch.ext.map(parse_tls_extensions) {
                    for e in exts {
                        match e {
                            TlsExtension::SupportedVersions(v) => {
                                versions =
                                    v.iter().map(|v| v.0).filter(|v| !is_grease(*v)).collect();
                            }
                            TlsExtension::SNI(names) => {
                                sni = names
                                    .first()
                                    .map(|(_, n)| String::from_utf8_lossy(n).into_owned());
                            }
                            _ => {}
                        }
                    }
                }
                let highest = versions
                    .iter()
                    .copied()
                    .filter(|v| *v <= 0x0304)
                    .max()
                    .unwrap_or(ch.version.0);
                self.facts.client_hello = Some(ClientHelloFact {
                    frame,
                    highest_version: TlsVersion(highest),
                    versions: versions.iter().map(|v| TlsVersion(*v)).collect(),
                    sni,
                    cipher_suites: ch.ciphers.len(),
                    offers_exo_cipher: ch.ciphers.iter().any(|c| exo_accepts_cipher(c.0)),
                    random: self.client_random,
                });
            }
            TlsMessageHandshake::ServerHello(sh) if side == Side::Server => {
                let mut version = sh.version.0;
                let mut encrypt_then_mac = false;
                if let Some(Ok((_, exts))) = sh.ext.map(parse_tls_extensions) {
                    for e in exts {
                        match e {
                            TlsExtension::SupportedVersions(v) => {
                                if let Some(v) = v.first() {
                                    version = v.0;
                                }
                            }
                            TlsExtension::EncryptThenMac => encrypt_then_mac = true,
                            _ => {}
                        }
                    }
                }
                let cipher = sh
                    .cipher
                    .get_ciphersuite()
                    .map_or_else(|| format!("0x{:04x}", sh.cipher.0), |c| c.name.to_string());
                self.facts.server_hello = Some(ServerHelloFact {
                    frame,
                    version: TlsVersion(version),
                    cipher,
                    suite: sh.cipher.0,
                    encrypt_then_mac,
                });
                self.start_decryption(&sh, version, encrypt_then_mac);
                if version == 0x0304 {
                    // Everything after the hellos is encrypted in TLS 1.3.
                    self.tls13 = true;
                    self.client.encrypted = true;
                    self.server.encrypted = true;
                }
            }
            TlsMessageHandshake::Certificate(c) if side == Side::Server => {
                if let Some(first) = c.cert_chain.first() {
                    if let Ok((_, cert)) = x509_parser::parse_x509_certificate(first.data) {
                        let mut names = Vec::new();
                        if let Ok(Some(san)) = cert.subject_alternative_name() {
                            for n in &san.value.general_names {
                                if let x509_parser::extensions::GeneralName::DNSName(d) = n {
                                    names.push(d.to_string());
                                }
                            }
                        }
                        self.facts.certificate = Some(CertificateFact {
                            frame,
                            subject: cert.subject().to_string(),
                            issuer: cert.issuer().to_string(),
                            names,
                            not_after: cert.validity().not_after.to_string(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
}

fn record_len(data: &[u8]) -> usize {
    RECORD_HEADER + usize::from(u16::from_be_bytes([data[3], data[4]]))
}

fn plausible_header(data: &[u8]) -> bool {
    (20..=24).contains(&data[0]) && data[1] == 3 && record_len(data) <= MAX_RECORD
}

/// RFC 8701 GREASE values (0x?a?a) are not versions.
fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}
