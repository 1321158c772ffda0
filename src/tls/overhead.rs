use tls_parser::{TlsCipherEnc, TlsCipherEncMode, TlsCipherMac, TlsCipherSuite};

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

/// How a record's body relates to the plaintext it carries, for reading lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordShape {
    /// AEAD and stream suites: plaintext = body − `overhead` (TLS 1.3: at most, a sender
    /// may pad).
    Exact { overhead: u64 },
    /// Block ciphers in CBC mode (RFC 5246 §6.2.3.2; RFC 7366 with encrypt-then-MAC):
    /// body = `iv` + blocks + `mac`; with minimal padding the plaintext is one of the
    /// `block` values from body − `iv` − `mac` − `block` to body − `iv` − `mac` − 1.
    Block {
        iv: u64,
        mac: u64,
        block: u64,
        encrypt_then_mac: bool,
    },
}

impl RecordShape {
    /// The plaintext lengths a record body of `body` bytes may carry (`lo..=hi`); `None`
    /// where no plaintext fits (a body shorter than the overhead, or not whole blocks).
    #[must_use]
    pub fn plaintext(self, body: u64) -> Option<(u64, u64)> {
        if let RecordShape::Block {
            iv,
            mac,
            block,
            encrypt_then_mac,
        } = self
        {
            let blocks = body.checked_sub(if encrypt_then_mac { iv + mac } else { iv })?;
            if block == 0 || blocks == 0 || blocks % block != 0 {
                return None;
            }
        }
        self.plaintext_of(body, 1)
    }

    /// The plaintext lengths `records` records of `body` bytes in all may carry: each
    /// record's range added up.
    #[must_use]
    pub fn plaintext_of(self, body: u64, records: u64) -> Option<(u64, u64)> {
        match self {
            RecordShape::Exact { overhead } => {
                let p = body.checked_sub(overhead * records)?;
                Some((p, p))
            }
            RecordShape::Block { iv, mac, block, .. } => {
                let top = body.checked_sub(records * (iv + mac + 1))?;
                Some((top.saturating_sub(records * block.saturating_sub(1)), top))
            }
        }
    }
}

/// Why a suite's records cannot be read by their lengths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeUnknown(pub String);

/// The shape of the records of `suite` under `version`: every AEAD suite, and the CBC
/// suites of TLS 1.0 to 1.2 with AES, Camellia, ARIA, 3DES or DES (MAC by HMAC).
///
/// # Errors
/// The suite is not known, or its encryption is neither AEAD nor a block cipher in CBC
/// mode (SSL 3.0, RC4, NULL encryption, export suites).
pub fn record_shape(
    version: u16,
    suite: u16,
    encrypt_then_mac: bool,
) -> Result<RecordShape, ShapeUnknown> {
    if let Some(overhead) = record_overhead(version, suite) {
        return Ok(RecordShape::Exact { overhead });
    }
    let info = TlsCipherSuite::from_id(suite)
        .ok_or_else(|| ShapeUnknown(format!("cipher suite 0x{suite:04x} is not known")))?;
    if !(0x0301..=0x0303).contains(&version) {
        return Err(ShapeUnknown(format!(
            "{} with version 0x{version:04x}",
            info.name
        )));
    }
    let block = info.enc_block_size() as u64;
    let mac = info.mac_length() as u64;
    let cbc = info.enc_mode == TlsCipherEncMode::Cbc
        && block >= 8
        && mac > 0
        && info.mac != TlsCipherMac::Aead;
    if !cbc {
        return Err(ShapeUnknown(format!(
            "{}: neither AEAD nor CBC with HMAC",
            info.name
        )));
    }
    // TLS 1.1 and 1.2 send an explicit IV of one block; TLS 1.0 chains it.
    let iv = if version >= 0x0302 { block } else { 0 };
    Ok(RecordShape::Block {
        iv,
        mac,
        block,
        encrypt_then_mac,
    })
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

    #[test]
    fn cbc_records_carry_one_block_of_lengths() {
        // ECDHE-RSA-AES128-SHA (0xc013), TLS 1.2: IV 16, MAC 20, block 16.
        let shape = record_shape(0x0303, 0xc013, false).unwrap();
        // "QUIT\r\n" (6) + MAC 20 + padding 5 + length byte = 32, with the IV 48.
        let (lo, hi) = shape.plaintext(48).unwrap();
        assert!((lo..=hi).contains(&6) && hi - lo <= 15);
        assert_eq!(shape.plaintext(47), None, "not whole blocks");
        // Encrypt-then-MAC: IV 16, one block for 6 bytes and the length byte, MAC 20.
        let etm = record_shape(0x0303, 0xc013, true).unwrap();
        let (lo, hi) = etm.plaintext(52).unwrap();
        assert!((lo..=hi).contains(&6) && hi - lo <= 15);
        // AES-256-CBC-SHA384 (0xc028): MAC 48.
        let (lo, hi) = record_shape(0x0303, 0xc028, false)
            .unwrap()
            .plaintext(80)
            .unwrap();
        assert!((lo..=hi).contains(&6));
        // AEAD suites are exact.
        assert_eq!(
            record_shape(0x0304, 0x1301, false).unwrap().plaintext(23),
            Some((6, 6))
        );
        // RC4 is neither.
        assert!(record_shape(0x0303, 0x0005, false).is_err());
    }
}
