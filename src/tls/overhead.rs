use tls_parser::{TlsCipherEnc, TlsCipherEncMode, TlsCipherSuite};

/// What an encrypted record adds to the plaintext it carries, for the negotiated version
/// and cipher suite: exact for the AEAD suites (the plaintext's length is then the record's
/// less this); `None` where the padding of a CBC suite hides up to a block, or the suite
/// is not known.
///
/// - TLS 1.3 (RFC 8446 §5.2): the inner content type and the tag: 1 + 16 (`CCM_8`: 1 + 8).
///   A sender may pad; the caller checks the lengths against a known one before trusting
///   them.
/// - TLS 1.2 AES-GCM and AES-CCM (RFC 5288, 6655): the explicit nonce and the tag,
///   8 + 16 (`CCM_8`: 8 + 8); ChaCha20-Poly1305 (RFC 7905): the tag, 16.
#[must_use]
pub fn record_overhead(version: u16, suite: u16) -> Option<u64> {
    let info = TlsCipherSuite::from_id(suite)?;
    let short_tag = info.name.ends_with("CCM_8") || info.name.contains("CCM_8_");
    if version == 0x0304 {
        return Some(if short_tag { 1 + 8 } else { 1 + 16 });
    }
    if version < 0x0303 {
        return None;
    }
    match (info.enc, info.enc_mode) {
        (TlsCipherEnc::Chacha20_Poly1305, _) => Some(16),
        (
            TlsCipherEnc::Aes | TlsCipherEnc::Aria | TlsCipherEnc::Camellia,
            TlsCipherEncMode::Gcm,
        ) => Some(8 + 16),
        (TlsCipherEnc::Aes, TlsCipherEncMode::Ccm) => Some(if short_tag { 8 + 8 } else { 8 + 16 }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aead_overheads_by_version_and_suite() {
        assert_eq!(record_overhead(0x0304, 0x1301), Some(17)); // TLS_AES_128_GCM_SHA256
        assert_eq!(record_overhead(0x0304, 0x1303), Some(17)); // TLS_CHACHA20_POLY1305_SHA256
        assert_eq!(record_overhead(0x0304, 0x1305), Some(9)); // TLS_AES_128_CCM_8_SHA256
        assert_eq!(record_overhead(0x0303, 0xc030), Some(24)); // ECDHE-RSA-AES256-GCM-SHA384
        assert_eq!(record_overhead(0x0303, 0xcca8), Some(16)); // ECDHE-RSA-CHACHA20-POLY1305
        assert_eq!(record_overhead(0x0303, 0xc09c), Some(24)); // TLS_RSA_WITH_AES_128_CCM
        assert_eq!(record_overhead(0x0303, 0xc0a0), Some(16)); // TLS_RSA_WITH_AES_128_CCM_8
        assert_eq!(record_overhead(0x0303, 0xc0a8), Some(16)); // TLS_PSK_WITH_AES_128_CCM_8
                                                               // CBC: the padding hides the length; unknown suites are unknown.
        assert_eq!(record_overhead(0x0303, 0xc028), None); // ECDHE-RSA-AES256-SHA384
        assert_eq!(record_overhead(0x0303, 0xffff), None);
        assert_eq!(record_overhead(0x0301, 0xc030), None);
    }
}
