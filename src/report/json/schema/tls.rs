//! What the capture shows of a TLS session, as the JSON report shows it.

use serde::Serialize;

use super::side;
use crate::tls::{
    AlertFact, AlertLevel, CertificateFact, ClientHelloFact, DecryptionFact, DecryptionStatus,
    ServerHelloFact, TlsFacts,
};

#[derive(Serialize)]
pub(super) struct Tls<'a> {
    client_hello: Option<ClientHello<'a>>,
    server_hello: Option<ServerHello<'a>>,
    certificate: Option<Certificate<'a>>,
    alerts: Vec<Alert<'a>>,
    established: bool,
    client_records: u64,
    client_bytes: u64,
    largest_client_record: u64,
    server_records: u64,
    server_bytes: u64,
    client_data_frame: Option<u64>,
    lost_sync: bool,
    /// Only with a key log.
    #[serde(skip_serializing_if = "Option::is_none")]
    decryption: Option<Decryption>,
}

/// Whether the session was decrypted with the key log given.
#[derive(Serialize)]
struct Decryption {
    status: &'static str,
    /// Why not, or from where not.
    detail: Option<String>,
    /// The first record that did not decrypt.
    frame: Option<u64>,
    records: u64,
    plaintext_bytes: u64,
}

impl Decryption {
    fn new(d: &DecryptionFact) -> Self {
        let (status, detail, frame) = match d.status {
            DecryptionStatus::Decrypted => ("decrypted", None, None),
            DecryptionStatus::NothingOpened => ("nothing-to-decrypt", None, None),
            DecryptionStatus::NoKeys => ("no-keys", None, None),
            DecryptionStatus::Unusable(why) => ("unusable", Some(why.to_string()), None),
            DecryptionStatus::Failed { side: from, frame } => (
                "failed",
                Some(format!("the {} records stopped decrypting", side(from))),
                Some(frame),
            ),
        };
        Decryption {
            status,
            detail,
            frame,
            records: d.records,
            plaintext_bytes: d.plaintext_bytes,
        }
    }
}

impl<'a> Tls<'a> {
    pub(super) fn new(t: &'a TlsFacts) -> Self {
        Tls {
            client_hello: t.client_hello.as_ref().map(ClientHello::new),
            server_hello: t.server_hello.as_ref().map(ServerHello::new),
            certificate: t.certificate.as_ref().map(Certificate::new),
            alerts: t.alerts.iter().map(Alert::new).collect(),
            established: t.established,
            client_records: t.client_records,
            client_bytes: t.client_bytes,
            largest_client_record: t.largest_client_record,
            server_records: t.server_records,
            server_bytes: t.server_bytes,
            client_data_frame: t.client_data_frame,
            lost_sync: t.lost_sync,
            decryption: t.decryption.as_ref().map(Decryption::new),
        }
    }
}

#[derive(Serialize)]
struct ClientHello<'a> {
    frame: u64,
    highest_version: String,
    versions: Vec<String>,
    sni: Option<&'a str>,
    cipher_suites: usize,
    offers_exo_cipher: bool,
}

impl<'a> ClientHello<'a> {
    fn new(c: &'a ClientHelloFact) -> Self {
        ClientHello {
            frame: c.frame,
            highest_version: c.highest_version.to_string(),
            versions: c.versions.iter().map(ToString::to_string).collect(),
            sni: c.sni.as_deref(),
            cipher_suites: c.cipher_suites,
            offers_exo_cipher: c.offers_exo_cipher,
        }
    }
}

#[derive(Serialize)]
struct ServerHello<'a> {
    frame: u64,
    version: String,
    cipher: &'a str,
}

impl<'a> ServerHello<'a> {
    fn new(s: &'a ServerHelloFact) -> Self {
        ServerHello {
            frame: s.frame,
            version: s.version.to_string(),
            cipher: &s.cipher,
        }
    }
}

#[derive(Serialize)]
struct Certificate<'a> {
    frame: u64,
    subject: &'a str,
    issuer: &'a str,
    names: &'a [String],
    not_after: &'a str,
}

impl<'a> Certificate<'a> {
    fn new(c: &'a CertificateFact) -> Self {
        Certificate {
            frame: c.frame,
            subject: &c.subject,
            issuer: &c.issuer,
            names: &c.names,
            not_after: &c.not_after,
        }
    }
}

#[derive(Serialize)]
struct Alert<'a> {
    frame: u64,
    from: &'static str,
    level: &'static str,
    description: Option<&'a str>,
    code: Option<u8>,
}

impl<'a> Alert<'a> {
    fn new(a: &'a AlertFact) -> Self {
        Alert {
            frame: a.frame,
            from: side(a.from),
            level: match a.level {
                AlertLevel::Fatal => "fatal",
                AlertLevel::Warning => "warning",
                AlertLevel::Encrypted => "encrypted",
            },
            description: a.description.as_deref(),
            code: a.code,
        }
    }
}
