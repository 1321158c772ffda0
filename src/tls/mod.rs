//! Stage 4: what a capture shows of a TLS session without decrypting it: the hellos, the
//! server certificate (TLS 1.2 and older send it in clear), alerts, and the count and
//! size of encrypted records in each direction; with a key log, what they hold.

pub mod decrypt;
mod facts;
mod keylog;
mod observer;
mod overhead;

pub use decrypt::Unusable;
pub use facts::{
    AlertFact, AlertLevel, CertificateFact, ClientHelloFact, DecryptionFact, DecryptionStatus,
    SealedTurn, ServerHelloFact, TlsFacts, TlsVersion, SEALED_HEAD,
};
pub use keylog::{KeyLog, KeyLogProblem, KeyLogRead, SessionSecrets};
pub use observer::{Plaintext, TlsObserver};
pub use overhead::{record_overhead, record_shape, RecordShape, ShapeUnknown};

/// Name of a TLS protocol version number.
pub fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0x0002 => "SSL 2.0".into(),
        v => format!("0x{v:04x}"),
    }
}

/// Cipher suites Exchange Online accepts (TLS 1.2: ECDHE-RSA with AES-GCM or AES-CBC,
/// and RSA with AES-GCM; TLS 1.3: its AES-GCM suites). See the facts file §1.3.
pub fn exo_accepts_cipher(id: u16) -> bool {
    matches!(
        id,
        0xc030 | 0xc02f // ECDHE-RSA-AES256/128-GCM
            | 0xc028 | 0xc027 | 0xc014 | 0xc013 // ECDHE-RSA-AES CBC
            | 0x009d | 0x009c // RSA-AES-GCM
            | 0x1301 | 0x1302 // TLS 1.3 AES-GCM
    )
}

/// What an alert usually means for a mail client talking to Exchange Online.
pub fn alert_meaning(code: u8) -> &'static str {
    match code {
        0 => "close_notify: orderly end of the TLS session",
        10 => "unexpected_message: the peer sent something out of order",
        20 => "bad_record_mac: corrupted or tampered data",
        40 => "handshake_failure: no cipher suite or parameters in common",
        42 => "bad_certificate: the certificate was rejected",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired: the certificate (or the device clock) is out of date",
        46 => "certificate_unknown: the certificate is not trusted (often a missing root in the device's trust store)",
        47 => "illegal_parameter",
        48 => "unknown_ca: the issuing CA is not trusted (Exchange Online moved to DigiCert Global Root G2)",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version: no TLS version in common (TLS 1.0/1.1 is refused)",
        71 => "insufficient_security: the offered ciphers are too weak",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name: the SNI name is unknown to the server",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown alert",
    }
}
