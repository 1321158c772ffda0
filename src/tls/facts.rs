use serde::Serialize;

use crate::tcp::Side;

/// What the capture shows of a TLS session.
#[derive(Clone, Debug, Default, Serialize)]
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
}

#[derive(Clone, Debug, Serialize)]
pub struct ClientHelloFact {
    pub frame: u64,
    /// The highest version offered, counting the supported_versions extension.
    pub highest_version: String,
    pub versions: Vec<String>,
    pub sni: Option<String>,
    pub cipher_suites: usize,
    /// At least one suite Exchange Online accepts is offered.
    pub offers_exo_cipher: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServerHelloFact {
    pub frame: u64,
    pub version: String,
    pub cipher: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct CertificateFact {
    pub frame: u64,
    pub subject: String,
    pub issuer: String,
    pub names: Vec<String>,
    pub not_after: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AlertFact {
    pub frame: u64,
    pub from: Side,
    /// `fatal`, `warning`, or `encrypted` (its content cannot be seen).
    pub level: String,
    pub description: Option<String>,
    pub code: Option<u8>,
}
