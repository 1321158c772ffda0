use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;

use super::line::display_text;

/// What one AUTH exchange line shows, with every secret withheld.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthData {
    pub mechanism: String,
    /// The user name the line carries, if any (user names are shown, passwords never).
    pub username: Option<String>,
    /// A password, token or digest was here and is withheld.
    pub redacted: bool,
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
        if self.redacted {
            parts.push("password withheld".into());
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
    let mut secret = |data: &mut AuthData, bytes: &[u8]| {
        data.redacted = true;
        secrets.push(String::from_utf8_lossy(raw).into_owned());
        secrets.push(String::from_utf8_lossy(bytes).into_owned());
        secrets.push(display_text(bytes));
    };
    let Some(plain) = decoded else {
        // Not base64: nothing can be told apart, so all of it is withheld.
        secret(&mut data, raw);
        return (data, secrets);
    };
    match mechanism {
        "LOGIN" => {
            let asks_password = prompt.map(|p| p.to_ascii_lowercase().contains("pass"));
            let asks_user = prompt.map(|p| p.to_ascii_lowercase().contains("user"));
            let is_password = match (asks_password, asks_user) {
                (Some(true), _) => true,
                (_, Some(true)) => false,
                _ => step > 0,
            };
            if is_password {
                secret(&mut data, &plain);
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
                    secret(&mut data, password);
                }
                _ => secret(&mut data, &plain),
            }
        }
        "XOAUTH2" | "OAUTHBEARER" => {
            let user = plain
                .split(|&b| b == 0x01 || b == b',')
                .find_map(|f| f.strip_prefix(b"user=").or_else(|| f.strip_prefix(b"a=")));
            data.username = user.map(display_text);
            secret(&mut data, &plain);
        }
        "CRAM-MD5" => match plain.iter().rposition(|&b| b == b' ') {
            Some(i) => {
                data.username = Some(display_text(&plain[..i]));
                secret(&mut data, &plain[i + 1..]);
            }
            None => secret(&mut data, &plain),
        },
        _ => secret(&mut data, &plain),
    }
    secrets.retain(|s| !s.is_empty());
    (data, secrets)
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
