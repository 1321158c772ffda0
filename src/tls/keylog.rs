//! TLS secrets in the NSS key log format (`SSLKEYLOGFILE` of curl, Firefox, Python,
//! OpenSSL and Wireshark; the content of a pcapng Decryption Secrets Block):
//! `LABEL <client random, 64 hex digits> <secret, hex>` per line, `#` for comments.

use std::collections::HashMap;

/// A client random: what each line of a key log is keyed by.
pub type ClientRandom = [u8; 32];

/// Sessions a key log may hold (a day of browsing is a few thousand; a hostile capture's
/// secrets blocks are not let grow past this).
const MAX_SESSIONS: usize = 1_000_000;
/// The longest secret any label carries (TLS 1.3 with SHA-384: 48 bytes).
const MAX_SECRET: usize = 64;
/// Lines whose problem is kept (the rest are counted).
const MAX_PROBLEMS: usize = 20;

/// The secrets logged for one TLS session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionSecrets {
    /// TLS 1.2 and older: the 48-byte master secret (`CLIENT_RANDOM`).
    pub master: Option<Vec<u8>>,
    /// TLS 1.3 (`CLIENT_HANDSHAKE_TRAFFIC_SECRET`, `SERVER_HANDSHAKE_TRAFFIC_SECRET`).
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    /// TLS 1.3 (`CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`).
    pub client_traffic: Option<Vec<u8>>,
    pub server_traffic: Option<Vec<u8>>,
}

/// A line that could not be used, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLogProblem {
    /// The line's number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub what: &'static str,
}

/// What reading some key log text found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyLogRead {
    /// Secrets taken (one per line used).
    pub secrets: usize,
    /// Lines that were neither used nor comments nor blank.
    pub skipped: usize,
    /// The first of those, with their reason.
    pub problems: Vec<KeyLogProblem>,
}

/// The secrets of many TLS sessions, by client random.
#[derive(Clone, Debug, Default)]
pub struct KeyLog {
    sessions: HashMap<ClientRandom, SessionSecrets>,
}

impl KeyLog {
    /// Reads key log text (the whole of a file, or a secrets block's content); what is
    /// read joins what is already here.
    pub fn add(&mut self, text: &[u8]) -> KeyLogRead {
        let mut read = KeyLogRead::default();
        for (i, line) in text.split(|b| *b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = line.trim_ascii();
            if line.is_empty() || line.starts_with(b"#") {
                continue;
            }
            match self.line(line) {
                Ok(()) => read.secrets += 1,
                Err(what) => {
                    read.skipped += 1;
                    if read.problems.len() < MAX_PROBLEMS {
                        read.problems.push(KeyLogProblem { line: i + 1, what });
                    }
                }
            }
        }
        read
    }

    fn line(&mut self, line: &[u8]) -> Result<(), &'static str> {
        let mut words = line
            .split(u8::is_ascii_whitespace)
            .filter(|w| !w.is_empty());
        let (Some(label), Some(random), Some(secret), None) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            return Err("not `LABEL <client random> <secret>`");
        };
        let random: ClientRandom = hex(random)
            .and_then(|r| r.try_into().ok())
            .ok_or("the client random is not 64 hex digits")?;
        let secret = hex(secret).ok_or("the secret is not hex")?;
        if secret.is_empty() || secret.len() > MAX_SECRET {
            return Err("the secret's length fits no TLS secret");
        }
        if !self.sessions.contains_key(&random) && self.sessions.len() >= MAX_SESSIONS {
            return Err("too many sessions in the key log");
        }
        let slot: fn(&mut SessionSecrets) -> &mut Option<Vec<u8>> = match label {
            b"CLIENT_RANDOM" if secret.len() == 48 => |s: &mut SessionSecrets| &mut s.master,
            b"CLIENT_RANDOM" => return Err("a master secret is 48 bytes"),
            b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => |s: &mut SessionSecrets| &mut s.client_handshake,
            b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => |s: &mut SessionSecrets| &mut s.server_handshake,
            b"CLIENT_TRAFFIC_SECRET_0" => |s: &mut SessionSecrets| &mut s.client_traffic,
            b"SERVER_TRAFFIC_SECRET_0" => |s: &mut SessionSecrets| &mut s.server_traffic,
            // Valid lines this reader has no use for: 0-RTT data and exporters.
            b"CLIENT_EARLY_TRAFFIC_SECRET" | b"EXPORTER_SECRET" | b"EARLY_EXPORTER_SECRET" => {
                return Ok(())
            }
            b"RSA" => return Err("RSA pre-master secrets (by encrypted key) are not read"),
            _ => return Err("unknown label"),
        };
        *slot(self.sessions.entry(random).or_default()) = Some(secret);
        Ok(())
    }

    /// The key log lines of the sessions named by `randoms` (NSS format), for a copy of
    /// the capture that carries only its own sessions' keys.
    #[must_use]
    pub fn lines_for(&self, randoms: &[[u8; 32]]) -> String {
        use std::fmt::Write as _;
        let hex = |b: &[u8]| {
            b.iter()
                .fold(String::with_capacity(b.len() * 2), |mut s, x| {
                    let _ = write!(s, "{x:02x}");
                    s
                })
        };
        let mut out = String::new();
        for r in randoms {
            let Some(s) = self.sessions.get(r) else {
                continue;
            };
            for (label, secret) in [
                ("CLIENT_RANDOM", &s.master),
                ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &s.client_handshake),
                ("SERVER_HANDSHAKE_TRAFFIC_SECRET", &s.server_handshake),
                ("CLIENT_TRAFFIC_SECRET_0", &s.client_traffic),
                ("SERVER_TRAFFIC_SECRET_0", &s.server_traffic),
            ] {
                if let Some(secret) = secret {
                    let _ = writeln!(out, "{label} {} {}", hex(r), hex(secret));
                }
            }
        }
        out
    }

    /// The secrets logged for the session with this client random.
    pub fn get(&self, random: &ClientRandom) -> Option<&SessionSecrets> {
        self.sessions.get(random)
    }

    /// How many sessions have secrets.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// No session has secrets.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

fn hex(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    s.chunks(2)
        .map(|p| {
            let d = |c: u8| (c as char).to_digit(16);
            Some((d(p[0])? * 16 + d(p[1])?) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "5a3f0e4c1b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f";

    #[test]
    fn lines_of_each_label_are_kept_by_client_random() {
        let master = "ab".repeat(48);
        let text = format!(
            "# comment\r\nCLIENT_RANDOM {R} {master}\n\nSERVER_TRAFFIC_SECRET_0 {R} {}\nEXPORTER_SECRET {R} {}\n",
            "cd".repeat(32),
            "ef".repeat(32)
        );
        let mut log = KeyLog::default();
        let read = log.add(text.as_bytes());
        assert_eq!((read.secrets, read.skipped), (3, 0));
        let random: ClientRandom = hex(R.as_bytes()).unwrap().try_into().unwrap();
        let s = log.get(&random).unwrap();
        assert_eq!(s.master.as_deref(), Some(&[0xab; 48][..]));
        assert_eq!(s.server_traffic.as_deref(), Some(&[0xcd; 32][..]));
        assert!(s.client_traffic.is_none());
    }

    #[test]
    fn bad_lines_are_named_by_number_and_the_rest_still_read() {
        let text = format!(
            "CLIENT_RANDOM {R}\nCLIENT_RANDOM {R} abcd\nWHATEVER {R} abcd\nCLIENT_TRAFFIC_SECRET_0 zz {}\nCLIENT_TRAFFIC_SECRET_0 {R} {}\n",
            "00".repeat(32),
            "00".repeat(32)
        );
        let mut log = KeyLog::default();
        let read = log.add(text.as_bytes());
        assert_eq!(read.secrets, 1);
        assert_eq!(
            read.problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(read.problems[1].what, "a master secret is 48 bytes");
    }
}
