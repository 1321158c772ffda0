//! The copier's SMTP settings as the capture shows them, field by field in the order of
//! the Sharp MX web page, each with what to set: the checklist a technician works down.

use super::catalogue::FindingId;
use super::server::{Endpoint, Provider, ServerIdentity};
use super::Outcome;
use crate::analysis::{Protocol, Session};
use crate::dialogue::{EntryKind, Exposure, Provenance};

/// What one session shows of the device's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsSeen {
    /// The server's name (where known) and address.
    pub server: Option<String>,
    pub port: Option<u16>,
    pub provider: Option<Provider>,
    pub endpoint: Option<Endpoint>,
    /// TLS: `STARTTLS`, `implicit TLS`, or `none`.
    pub tls: Option<&'static str>,
    /// The AUTH mechanism, or `none` when the session sent mail without AUTH.
    pub auth: Option<String>,
    /// The user name, where AUTH was in clear.
    pub user: Option<String>,
    /// The password (or a token) crossed in clear.
    pub password_in_clear: bool,
    /// A digest of the password crossed in clear, by this mechanism (CRAM-MD5, APOP…).
    pub digest_in_clear: Option<String>,
    /// A password was read from a decrypted TLS session (it crossed encrypted).
    pub password_in_tls: bool,
    pub sender: Option<String>,
    /// A POP3 login was seen (POP before SMTP).
    pub pop3_login: bool,
}

impl SettingsSeen {
    pub fn of(s: &Session, server: &ServerIdentity, out: Outcome) -> SettingsSeen {
        let mut seen = SettingsSeen::default();
        if s.protocol == Protocol::Pop3 {
            seen.pop3_login = s
                .dialogue
                .iter()
                .any(|e| matches!(e.command(), Some("USER" | "PASS" | "APOP" | "AUTH")));
            return seen;
        }
        if out == Outcome::NoConnection && s.dialogue.is_empty() {
            // The device tried this server and port, even if nothing answered.
            seen.server = Some(server_text(s, server));
            seen.port = Some(s.server.port);
            return seen;
        }
        seen.server = Some(server_text(s, server));
        seen.port = Some(s.server.port);
        seen.provider = Some(server.provider);
        seen.endpoint = Some(server.endpoint);
        let mut starttls = false;
        let mut mail = false;
        let mut mail_inferred = false;
        for e in &s.dialogue {
            match &e.kind {
                EntryKind::Command {
                    command, argument, ..
                } => match command.as_str() {
                    "STARTTLS" => starttls = true,
                    // Read from the record lengths, the mechanism may be one the lengths
                    // do not tell (empty).
                    "AUTH" if e.provenance.inferred() && argument.is_empty() => {}
                    "AUTH" => {
                        seen.auth.get_or_insert_with(|| match e.provenance {
                            Provenance::Inferred { .. } => {
                                format!("{argument}, read from the encrypted record lengths")
                            }
                            _ => argument.clone(),
                        });
                    }
                    "MAIL" => {
                        // A MAIL inside TLS does not say TLS was off.
                        mail |= e.provenance.in_clear();
                        mail_inferred |= e.provenance.inferred();
                        if seen.sender.is_none() && !e.provenance.inferred() {
                            seen.sender = address(argument);
                        }
                    }
                    _ => {}
                },
                EntryKind::Auth { auth } => {
                    if seen.user.is_none() {
                        seen.user.clone_from(&auth.username);
                    }
                    let clear = e.provenance.in_clear();
                    seen.password_in_clear |= auth.exposure.replayable() && clear;
                    if auth.exposure == Exposure::Digest && clear {
                        seen.digest_in_clear
                            .get_or_insert_with(|| auth.mechanism.clone());
                    }
                    seen.password_in_tls |= auth.redacted && e.provenance == Provenance::Decrypted;
                }
                _ => {}
            }
        }
        let implicit = s.tls.is_some() && !starttls && s.server.port == 465;
        seen.tls = Some(if starttls {
            "STARTTLS"
        } else if implicit || (s.tls.is_some() && !mail) {
            "implicit TLS"
        } else {
            "none"
        });
        if seen.auth.is_none() && (mail || mail_inferred) {
            seen.auth = Some("none".into());
        }
        seen
    }

    /// Fills what this one does not show from `other`.
    pub fn merge(&mut self, other: &SettingsSeen) {
        if self.server.is_none() {
            self.server.clone_from(&other.server);
            self.port = other.port;
            self.provider = other.provider;
            self.endpoint = other.endpoint;
        }
        if self.tls.is_none() {
            self.tls = other.tls;
        }
        if self.auth.is_none() {
            self.auth.clone_from(&other.auth);
        }
        if self.user.is_none() {
            self.user.clone_from(&other.user);
        }
        self.password_in_clear |= other.password_in_clear;
        if self.digest_in_clear.is_none() {
            self.digest_in_clear.clone_from(&other.digest_in_clear);
        }
        self.password_in_tls |= other.password_in_tls;
        if self.sender.is_none() {
            self.sender.clone_from(&other.sender);
        }
        self.pop3_login |= other.pop3_login;
    }
}

fn server_text(s: &Session, server: &ServerIdentity) -> String {
    match &server.name {
        Some(n) => format!("{n} ({})", s.server.ip),
        None => s.server.ip.to_string(),
    }
}

/// The address in `FROM:<a@b> SIZE=…`.
fn address(argument: &str) -> Option<String> {
    let start = argument.find('<')? + 1;
    let end = argument[start..].find('>')? + start;
    Some(argument[start..end].to_string())
}

/// Whether a line needs a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// As it should be.
    Ok,
    /// To change.
    Change,
    /// The capture does not show it.
    Unknown,
}

/// One field of the settings page.
#[derive(Clone, Debug)]
pub struct ChecklistItem {
    pub field: &'static str,
    pub seen: String,
    pub set: String,
    pub check: Check,
}

/// The checklist, from what was seen and the findings made (`ids`).
pub fn checklist(seen: &SettingsSeen, ids: &[FindingId]) -> Vec<ChecklistItem> {
    let mut list = List {
        seen,
        ids,
        exo: seen.provider == Some(Provider::ExchangeOnline)
            || (seen.provider.is_none() && seen.server.is_none()),
        hidden: matches!(seen.tls, Some("STARTTLS" | "implicit TLS")),
        items: Vec::new(),
    };
    list.connection();
    list.login();
    list.items
}

/// A setting that differs between two attempts, in the checklist's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub field: &'static str,
    pub from: String,
    pub to: String,
}

/// The checklist fields whose seen value differs from one attempt to the next (only
/// fields both attempts showed).
pub fn changes(before: &SettingsSeen, after: &SettingsSeen) -> Vec<Change> {
    let after = checklist(after, &[]);
    checklist(before, &[])
        .into_iter()
        .filter_map(|x| {
            let y = after.iter().find(|y| y.field == x.field)?;
            let shown = x.check != Check::Unknown && y.check != Check::Unknown;
            (shown && x.seen != y.seen).then(|| Change {
                field: x.field,
                from: x.seen,
                to: y.seen.clone(),
            })
        })
        .collect()
}

/// A checklist being written.
struct List<'a> {
    seen: &'a SettingsSeen,
    ids: &'a [FindingId],
    /// The server is Exchange Online's (or not seen at all: the supported setting).
    exo: bool,
    /// The settings after STARTTLS are encrypted.
    hidden: bool,
    items: Vec<ChecklistItem>,
}

impl List<'_> {
    fn has(&self, id: FindingId) -> bool {
        self.ids.contains(&id)
    }

    fn push(&mut self, field: &'static str, seen: Option<String>, set: String, wrong: bool) {
        let check = match (&seen, wrong) {
            (_, true) => Check::Change,
            (None, false) => Check::Unknown,
            (Some(_), false) => Check::Ok,
        };
        let seen = seen.unwrap_or_else(|| {
            if self.hidden {
                "inside TLS: not visible".to_string()
            } else {
                "not seen in the capture".to_string()
            }
        });
        self.items.push(ChecklistItem {
            field,
            seen,
            set,
            check,
        });
    }

    /// Where the device connects: server, port, TLS.
    fn connection(&mut self) {
        let server_wrong = self.has(FindingId::MxEndpoint)
            || self.has(FindingId::DnsFailure)
            || self.has(FindingId::ConnectionRefused)
            || self.has(FindingId::WrongRegion)
            || (self.exo && self.seen.endpoint == Some(Endpoint::InboundMx));
        let server_set = if self.exo {
            "smtp.office365.com (by name, not an IP address)".to_string()
        } else if server_wrong {
            "the mail server's submission host name".to_string()
        } else {
            "keep".to_string()
        };
        self.push(
            "SMTP Server",
            self.seen.server.clone(),
            server_set,
            server_wrong,
        );
        let port_wrong = self.has(FindingId::ImplicitTlsPort)
            || self.has(FindingId::PortBlocked)
            || self.has(FindingId::ConnectionRefused)
            || (self.exo && self.seen.port.is_some_and(|p| p != 587));
        let port_set = if self.exo || port_wrong {
            "587".to_string()
        } else {
            "keep".to_string()
        };
        self.push(
            "Port Number",
            self.seen.port.map(|p| p.to_string()),
            port_set,
            port_wrong,
        );
        let tls_wrong = self.has(FindingId::NoStarttls)
            || self.has(FindingId::MustStarttls)
            || self.has(FindingId::ImplicitTlsPort)
            || self.has(FindingId::TlsVersionTooOld)
            || self.has(FindingId::TlsHandshakeFailed)
            || (self.exo && self.seen.tls == Some("none"));
        self.push(
            "Enable SSL / SSL/TLS level",
            self.seen.tls.map(|t| match t {
                "none" => "off (no STARTTLS)".to_string(),
                t => format!("on ({t})"),
            }),
            "on, STARTTLS".to_string(),
            tls_wrong,
        );
    }

    /// How it logs in and sends: authentication, user, password, sender, POP before SMTP.
    fn login(&mut self) {
        let auth_wrong = self.has(FindingId::NotAuthenticated)
            || self.has(FindingId::RelayDenied)
            || self.has(FindingId::AuthNotOffered)
            || (self.exo && self.seen.auth.as_deref() == Some("none"));
        self.push(
            "SMTP Authentication",
            self.seen.auth.as_ref().map(|a| match a.as_str() {
                "none" => "off (mail sent without AUTH)".to_string(),
                m => match m.split([',', ' ']).next().unwrap_or(m) {
                    "LOGIN" | "PLAIN" => format!("on, Basic (AUTH {m})"),
                    "XOAUTH2" | "OAUTHBEARER" => format!("on, OAuth 2.0 (AUTH {m})"),
                    _ => format!("on (AUTH {m})"),
                },
            }),
            if self.exo {
                "enabled".to_string()
            } else {
                "enabled, if the server requires it".to_string()
            },
            auth_wrong,
        );
        let user_wrong = self.has(FindingId::AuthFailed) || self.has(FindingId::SendAsDenied);
        self.push(
            "User Name",
            self.seen.user.clone(),
            "the full mailbox address".to_string(),
            user_wrong,
        );
        let password_wrong = self.has(FindingId::AuthFailed)
            || self.has(FindingId::SmtpAuthDisabled)
            || self.has(FindingId::AppPasswordRequired)
            || self.has(FindingId::BasicAuthRetired)
            || self.seen.password_in_clear;
        self.push(
            "Password",
            if self.seen.password_in_clear {
                Some("sent in clear (withheld here): treat it as exposed".to_string())
            } else if let Some(m) = &self.seen.digest_in_clear {
                Some(format!(
                    "not sent; a {m} digest of it crossed in clear (open to offline guessing)"
                ))
            } else {
                self.seen
                    .password_in_tls
                    .then(|| "sent inside TLS (decrypted, withheld here)".to_string())
            },
            if self.seen.password_in_clear {
                "a new password (or app password), sent only after STARTTLS".to_string()
            } else {
                "an app password or the mailbox password".to_string()
            },
            password_wrong,
        );
        let sender_wrong =
            self.has(FindingId::SendAsDenied) || self.has(FindingId::SenderDomainUnknown);
        self.push(
            "Sender Address",
            self.seen.sender.clone(),
            "the same mailbox as User Name".to_string(),
            sender_wrong,
        );
        self.push(
            "POP before SMTP",
            Some(if self.seen.pop3_login {
                "on (a POP3 login precedes SMTP)".to_string()
            } else {
                "off (no POP3 login seen)".to_string()
            }),
            "Disabled".to_string(),
            self.seen.pop3_login,
        );
    }
}

/// The line that ends every checklist.
pub const THEN: &str = "Then send a real scan to a mailbox, not the connection test (it proves only that the server answers), and capture that attempt.";

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(seen: &SettingsSeen, ids: &[FindingId]) -> Vec<(&'static str, Check)> {
        checklist(seen, ids)
            .into_iter()
            .map(|i| (i.field, i.check))
            .collect()
    }

    #[test]
    fn the_tenant_mx_in_clear_needs_server_port_tls_and_auth_changed() {
        let seen = SettingsSeen {
            server: Some("contoso-com.mail.protection.outlook.com (192.0.2.25)".into()),
            port: Some(25),
            provider: Some(Provider::ExchangeOnline),
            endpoint: Some(Endpoint::InboundMx),
            tls: Some("none"),
            auth: Some("none".into()),
            sender: Some("office@domain.com".into()),
            ..SettingsSeen::default()
        };
        let got = checks(
            &seen,
            &[
                FindingId::MxEndpoint,
                FindingId::NoStarttls,
                FindingId::IpBlocklisted,
            ],
        );
        assert_eq!(
            got,
            [
                ("SMTP Server", Check::Change),
                ("Port Number", Check::Change),
                ("Enable SSL / SSL/TLS level", Check::Change),
                ("SMTP Authentication", Check::Change),
                ("User Name", Check::Unknown),
                ("Password", Check::Unknown),
                ("Sender Address", Check::Ok),
                ("POP before SMTP", Check::Ok),
            ]
        );
    }

    #[test]
    fn a_site_relay_keeps_its_server_and_port() {
        let seen = SettingsSeen {
            server: Some("relay.contoso.local (10.0.0.5)".into()),
            port: Some(25),
            provider: Some(Provider::Other),
            endpoint: Some(Endpoint::Unknown),
            tls: Some("none"),
            auth: Some("none".into()),
            sender: Some("scanner@contoso.local".into()),
            ..SettingsSeen::default()
        };
        let items = checklist(&seen, &[FindingId::NoStarttls]);
        assert_eq!(items[0].check, Check::Ok);
        assert_eq!(items[0].set, "keep");
        assert_eq!(items[1].check, Check::Ok);
        assert_eq!(items[2].check, Check::Change);
        assert_eq!(items[3].check, Check::Ok);
    }

    #[test]
    fn a_password_in_clear_is_to_be_changed() {
        let seen = SettingsSeen {
            password_in_clear: true,
            user: Some("office@domain.com".into()),
            ..SettingsSeen::default()
        };
        let items = checklist(&seen, &[FindingId::CleartextCredentials]);
        let pw = items.iter().find(|i| i.field == "Password").unwrap();
        assert_eq!(pw.check, Check::Change);
        assert!(pw.seen.contains("withheld"));
    }
}
