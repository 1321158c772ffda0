use crate::base::Side;

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
    /// Every encrypted record, both directions in the order the dialogue met them: their
    /// lengths are what can be read of the dialogue inside TLS without the keys.
    pub sealed: Vec<SealedRecord>,
    /// Encrypted records past the bound, counted only.
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

/// One encrypted record (or, in a long run of one side's, the rest of the run): who sent
/// it, in which frame, and its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedRecord {
    pub side: Side,
    /// The frame of the (last) record.
    pub frame: u64,
    /// The record's body (ciphertext, tag and explicit nonce), without its 5-byte header;
    /// for several records, their sum.
    pub length: u64,
    /// How many records this is.
    pub records: u64,
    /// The record's outer type is application data (every one in TLS 1.3), not an
    /// encrypted handshake message (TLS 1.2's Finished).
    pub application_data: bool,
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
}

#[derive(Clone, Debug)]
pub struct ServerHelloFact {
    pub frame: u64,
    pub version: TlsVersion,
    pub cipher: String,
    /// The cipher suite's number (IANA).
    pub suite: u16,
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
