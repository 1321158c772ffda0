use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;

use super::line::display_text;

/// What a credential line gives whoever reads it on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exposure {
    /// Nothing secret: a user name, a negotiation step, an empty line, a cancel.
    Nothing,
    /// A password as it can be replayed (LOGIN, PLAIN, POP3 PASS).
    Password,
    /// A bearer token, valid until it expires (XOAUTH2, OAUTHBEARER).
    Token,
    /// An NTLM version 1 response (24 bytes): cracked as fast as a password is read.
    NtlmV1,
    /// Data of a mechanism smtpcap does not know: withheld, and counted as a password.
    Unknown,
    /// A response computed from the password and a challenge (CRAM-MD5, DIGEST-MD5,
    /// APOP, SCRAM-*, NTLM version 2): no password, but open to an offline attack (and NTLM to
    /// relaying).
    Digest,
    /// A Kerberos token, a certificate's identity or an anonymous trace (GSSAPI,
    /// EXTERNAL, ANONYMOUS): nothing a reader can reuse.
    Opaque,
}

impl Exposure {
    /// The line can be used as it is, or as good as: a password, a token, an NTLM version 1 response.
    #[must_use]
    pub fn replayable(self) -> bool {
        matches!(
            self,
            Exposure::Password | Exposure::Token | Exposure::NtlmV1 | Exposure::Unknown
        )
    }

    /// `nothing`, `password`, `token`, `ntlmv1`, `unknown`, `digest` or `opaque`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Exposure::Nothing => "nothing",
            Exposure::Password => "password",
            Exposure::Token => "token",
            Exposure::NtlmV1 => "ntlmv1",
            Exposure::Unknown => "unknown",
            Exposure::Digest => "digest",
            Exposure::Opaque => "opaque",
        }
    }

    /// What was withheld, in the words a report uses (`None` when nothing was).
    #[must_use]
    pub fn withheld(self) -> Option<&'static str> {
        match self {
            Exposure::Nothing => None,
            Exposure::Password => Some("password"),
            Exposure::Token => Some("token"),
            Exposure::NtlmV1 => Some("NTLMv1 response"),
            Exposure::Unknown => Some("credential data"),
            Exposure::Digest => Some("digest"),
            Exposure::Opaque => Some("security token"),
        }
    }
}

/// What one AUTH exchange line shows, with every secret withheld.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthData {
    pub mechanism: String,
    /// The user name the line carries, if any (user names are shown, passwords never).
    pub username: Option<String>,
    /// A password, token or digest was here and is withheld.
    pub redacted: bool,
    /// What the withheld part would give a reader.
    pub exposure: Exposure,
    /// The client cancelled the exchange (`*`).
    pub cancelled: bool,
}

impl AuthData {
    /// `AUTH LOGIN, user office@contoso.com, password withheld`: what the line was, the
    /// password never.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("AUTH {}", self.mechanism)];
        if let Some(u) = &self.username {
            parts.push(format!("user {u}"));
        }
        if let Some(what) = self.exposure.withheld() {
            parts.push(format!("{what} withheld"));
        }
        if self.cancelled {
            parts.push("cancelled".into());
        }
        parts.join(", ")
    }
}

/// Decodes base64 as AUTH uses it; `None` when the line is not base64.
pub fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let t = text.trim_ascii();
    STANDARD
        .decode(t)
        .or_else(|_| STANDARD_NO_PAD.decode(t))
        .ok()
}

/// The meaning of a client AUTH line, and the secrets it holds (for the output scrubber).
/// `prompt` is the server's decoded 334 challenge, `step` counts the client's lines.
pub fn decode_response(
    mechanism: &str,
    step: usize,
    prompt: Option<&str>,
    line: &[u8],
) -> (AuthData, Vec<String>) {
    let mut data = AuthData {
        mechanism: mechanism.to_string(),
        username: None,
        redacted: false,
        exposure: Exposure::Nothing,
        cancelled: false,
    };
    let mut secrets = Vec::new();
    let raw = line.trim_ascii();
    if raw == b"*" {
        data.cancelled = true;
        return (data, secrets);
    }
    if raw.is_empty() {
        return (data, secrets);
    }
    let decoded = decode_base64(raw);
    let mut secret = |data: &mut AuthData, exposure: Exposure, bytes: &[u8]| {
        data.redacted = true;
        data.exposure = exposure;
        secrets.push(String::from_utf8_lossy(raw).into_owned());
        secrets.push(String::from_utf8_lossy(bytes).into_owned());
        secrets.push(display_text(bytes));
    };
    let Some(plain) = decoded else {
        // Not base64: nothing can be told apart, so all of it is withheld.
        secret(&mut data, Exposure::Unknown, raw);
        return (data, secrets);
    };
    let mechanism = mechanism.to_ascii_uppercase();
    match mechanism.as_str() {
        "LOGIN" => {
            let asks_password = prompt.map(|p| p.to_ascii_lowercase().contains("pass"));
            let asks_user = prompt.map(|p| p.to_ascii_lowercase().contains("user"));
            let is_password = match (asks_password, asks_user) {
                (Some(true), _) => true,
                (_, Some(true)) => false,
                _ => step > 0,
            };
            if is_password {
                secret(&mut data, Exposure::Password, &plain);
            } else {
                data.username = Some(display_text(&plain));
            }
        }
        "PLAIN" => {
            let parts: Vec<&[u8]> = plain.splitn(3, |&b| b == 0).collect();
            match parts.as_slice() {
                [authzid, authcid, password] => {
                    let user = if authcid.is_empty() { authzid } else { authcid };
                    data.username = Some(display_text(user));
                    secret(&mut data, Exposure::Password, password);
                }
                _ => secret(&mut data, Exposure::Password, &plain),
            }
        }
        "XOAUTH2" | "OAUTHBEARER" => {
            let user = plain
                .split(|&b| b == 0x01 || b == b',')
                .find_map(|f| f.strip_prefix(b"user=").or_else(|| f.strip_prefix(b"a=")));
            data.username = user.map(display_text);
            secret(&mut data, Exposure::Token, &plain);
        }
        "CRAM-MD5" => match plain.iter().rposition(|&b| b == b' ') {
            Some(i) => {
                data.username = Some(display_text(&plain[..i]));
                secret(&mut data, Exposure::Digest, &plain[i + 1..]);
            }
            None => secret(&mut data, Exposure::Digest, &plain),
        },
        "DIGEST-MD5" => {
            // username="…",realm=…,nonce=…,response=<hex>: the user shows, the rest not.
            data.username = field(&plain, b"username").map(|u| display_text(&u));
            secret(&mut data, Exposure::Digest, &plain);
        }
        m if m.starts_with("SCRAM-") => {
            // client-first "n,,n=user,r=nonce" carries the user; client-final the proof.
            if let Some(user) = field(&plain, b"n") {
                data.username = Some(display_text(&user));
            }
            if field(&plain, b"p").is_some() {
                secret(&mut data, Exposure::Digest, &plain);
            }
        }
        "NTLM" => match ntlm_authenticate(&plain) {
            Some((user, nt_len)) => {
                data.username = user;
                let exposure = if nt_len == 24 {
                    Exposure::NtlmV1
                } else {
                    Exposure::Digest
                };
                secret(&mut data, exposure, &plain);
            }
            // Negotiate: flags and names of the workstation, nothing secret.
            None if plain.starts_with(b"NTLMSSP\0") => {}
            None => secret(&mut data, Exposure::Unknown, &plain),
        },
        "GSSAPI" | "EXTERNAL" | "ANONYMOUS" => secret(&mut data, Exposure::Opaque, &plain),
        _ => secret(&mut data, Exposure::Unknown, &plain),
    }
    secrets.retain(|s| !s.is_empty());
    (data, secrets)
}

/// The value of `name=` in a comma-separated SASL message (quotes removed).
fn field(message: &[u8], name: &[u8]) -> Option<Vec<u8>> {
    message.split(|&b| b == b',').find_map(|f| {
        let f = f.trim_ascii();
        let v = f.strip_prefix(name)?.strip_prefix(b"=")?;
        let v = v.strip_prefix(b"\"").unwrap_or(v);
        Some(v.strip_suffix(b"\"").unwrap_or(v).to_vec())
    })
}

/// An NTLM AUTHENTICATE (type 3) message: the user name and the NT response's length,
/// which tells version 1 (24 bytes) from version 2 (longer). `None` for other messages.
fn ntlm_authenticate(m: &[u8]) -> Option<(Option<String>, usize)> {
    if !m.starts_with(b"NTLMSSP\0") || m.get(8..12)? != [3, 0, 0, 0] {
        return None;
    }
    let u16_at = |at: usize| -> Option<usize> {
        Some(usize::from(u16::from_le_bytes(
            m.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let u32_at = |at: usize| -> Option<usize> {
        Some(u32::from_le_bytes(m.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let nt_len = u16_at(20)?;
    let (user_len, user_at) = (u16_at(36)?, u32_at(40)?);
    let unicode = u32_at(60).is_some_and(|flags| flags & 1 == 1);
    let user = m.get(user_at..user_at.checked_add(user_len)?).map(|b| {
        if unicode {
            let units: Vec<u16> = b
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        } else {
            display_text(b)
        }
    });
    Some((user.filter(|u| !u.is_empty()), nt_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_username_then_password() {
        let (u, s) = decode_response("LOGIN", 0, Some("Username:"), b"b2ZmaWNlQGRvbWFpbi5jb20=");
        assert_eq!(u.username.as_deref(), Some("office@domain.com"));
        assert!(!u.redacted && s.is_empty());
        let (p, s) = decode_response("LOGIN", 1, Some("Password:"), b"czNjcjN0UGFzcw==");
        assert!(p.redacted && p.username.is_none());
        assert!(s.contains(&"s3cr3tPass".to_string()));
        assert!(s.contains(&"czNjcjN0UGFzcw==".to_string()));
    }

    #[test]
    fn plain_credentials() {
        // "\0user@x\0pw12345"
        let (d, s) = decode_response("PLAIN", 0, None, b"AHVzZXJAeABwdzEyMzQ1");
        assert_eq!(d.username.as_deref(), Some("user@x"));
        assert!(d.redacted);
        assert!(s.contains(&"pw12345".to_string()));
    }

    #[test]
    fn cancel_and_garbage() {
        assert!(decode_response("LOGIN", 0, None, b"*").0.cancelled);
        let (d, s) = decode_response("LOGIN", 1, None, b"not base64!!");
        assert!(d.redacted);
        assert!(s.contains(&"not base64!!".to_string()));
    }
}
