use crate::base::{Side, Timestamp};

/// A protocol version as it is on the wire (0x0303 is TLS 1.2); shown and serialised by
/// its name (`TLS 1.2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TlsVersion(pub u16);

impl TlsVersion {
    pub const TLS_1_2: TlsVersion = TlsVersion(0x0303);

    /// SSL, TLS 1.0 or 1.1: versions mail servers now refuse.
    pub fn is_legacy(self) -> bool {
        matches!(self.0, 0x0002 | 0x0300..=0x0302)
    }
}

impl std::fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&super::version_name(self.0))
    }
}

/// How grave an alert is; `encrypted` when its content cannot be seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertLevel {
    Fatal,
    Warning,
    Encrypted,
}

/// What the capture shows of a TLS session.
#[derive(Clone, Debug, Default)]
pub struct TlsFacts {
    pub client_hello: Option<ClientHelloFact>,
    pub server_hello: Option<ServerHelloFact>,
    pub certificate: Option<CertificateFact>,
    pub alerts: Vec<AlertFact>,
    /// Both sides went on to encrypted traffic after the handshake.
    pub established: bool,
    /// Encrypted records after the handshake, and their payload bytes, per direction.
    pub client_records: u64,
    pub client_bytes: u64,
    /// The largest client record after the handshake (commands are small; a message is not).
    pub largest_client_record: u64,
    pub server_records: u64,
    pub server_bytes: u64,
    /// Frame of the client's first record after the handshake.
    pub client_data_frame: Option<u64>,
    /// The bytes could not be followed as TLS records (damaged, missing, or not TLS).
    pub lost_sync: bool,
    /// Where the records first stopped being TLS records (not a gap in the stream): the
    /// side and the frame.
    pub lost_at: Option<(Side, u64)>,
    /// The encrypted application data, as turns of either side in the order the dialogue
    /// met them: their lengths are what can be read of the dialogue inside TLS without the
    /// keys.
    pub sealed: Vec<SealedTurn>,
    /// Encrypted records past the bound on turns, counted only.
    pub sealed_not_kept: u64,
    /// With a key log: whether the records were decrypted.
    pub decryption: Option<DecryptionFact>,
}

/// What became of decrypting a session with the key log given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptionFact {
    pub status: DecryptionStatus,
    /// Records decrypted.
    pub records: u64,
    /// Application data they held.
    pub plaintext_bytes: u64,
    /// TLS 1.3 handshake records passed by (their secret was not logged).
    pub skipped: u64,
}

/// Whether a session was decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecryptionStatus {
    /// Its records were decrypted.
    Decrypted,
    /// The key log has no secrets for this session (its client random).
    NoKeys,
    /// The secrets are there, but the session cannot be decrypted with them.
    Unusable(super::decrypt::Unusable),
    /// From this record on (a side, a frame), the records do not decrypt with the secrets
    /// logged: wrong secrets, or a damaged record.
    Failed { side: Side, frame: u64 },
    /// The keys were made, but no encrypted record came to open.
    NothingOpened,
}

/// One side's encrypted application-data records with nothing of the other side between
/// them, in the order the dialogue met them: who sent them, where, and their lengths.
/// What a turn keeps is bounded whatever its size: the sum, the count, the first few
/// records and the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedTurn {
    pub side: Side,
    /// The frame of the turn's first record.
    pub first_frame: u64,
    /// The frame of its last record (where an answer ends).
    pub last_frame: u64,
    /// How many records.
    pub records: u64,
    /// Their bodies (ciphertext, tag and explicit nonce, without the 5-byte headers) added
    /// up.
    pub length: u64,
    /// The first records' bodies (`records.min(4)` of them): TLS 1.3 session tickets and
    /// key updates come as records of their own.
    pub head: [u32; SEALED_HEAD],
    /// The last record's body.
    pub last: u32,
    /// When its first record and its last record were seen.
    pub time: Timestamp,
    pub last_time: Timestamp,
}

/// Records of a turn whose lengths are kept one by one.
pub const SEALED_HEAD: usize = 4;

impl SealedTurn {
    /// A turn of one record, seen at `time`.
    #[must_use]
    pub fn new(side: Side, frame: u64, length: u32, time: Timestamp) -> SealedTurn {
        let mut head = [0; SEALED_HEAD];
        head[0] = length;
        SealedTurn {
            side,
            first_frame: frame,
            last_frame: frame,
            records: 1,
            length: u64::from(length),
            head,
            last: length,
            time,
            last_time: time,
        }
    }

    /// Adds a record of the same side, seen at `time`.
    pub fn push(&mut self, frame: u64, length: u32, time: Timestamp) {
        if let Some(slot) = self.head.get_mut(crate::base::to_index(self.records)) {
            *slot = length;
        }
        self.records += 1;
        self.length += u64::from(length);
        self.last = length;
        self.last_frame = frame;
        self.last_time = time;
    }

    /// The lengths of the records kept one by one.
    pub fn head(&self) -> &[u32] {
        let n = crate::base::to_index(self.records).min(SEALED_HEAD);
        self.head.get(..n).unwrap_or_default()
    }
}

#[derive(Clone, Debug)]
pub struct ClientHelloFact {
    pub frame: u64,
    /// The highest version offered, counting the `supported_versions` extension.
    pub highest_version: TlsVersion,
    pub versions: Vec<TlsVersion>,
    pub sni: Option<String>,
    pub cipher_suites: usize,
    /// At least one suite Exchange Online accepts is offered.
    pub offers_exo_cipher: bool,
    /// The client random: what a key log line names the session by.
    pub random: Option<[u8; 32]>,
}

#[derive(Clone, Debug)]
pub struct ServerHelloFact {
    pub frame: u64,
    pub version: TlsVersion,
    pub cipher: String,
    /// The cipher suite's number (IANA).
    pub suite: u16,
    /// Encrypt-then-MAC (RFC 7366) was agreed: it shapes a CBC record.
    pub encrypt_then_mac: bool,
}

#[derive(Clone, Debug)]
pub struct CertificateFact {
    pub frame: u64,
    pub subject: String,
    pub issuer: String,
    pub names: Vec<String>,
    pub not_after: String,
}

#[derive(Clone, Debug)]
pub struct AlertFact {
    pub frame: u64,
    pub from: Side,
    pub level: AlertLevel,
    pub description: Option<String>,
    pub code: Option<u8>,
}
