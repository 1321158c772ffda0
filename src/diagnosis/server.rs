//! Who the server is: provider and software, told from its names (DNS, greeting, EHLO,
//! certificate, SNI), its banner and its replies' trailers. Explanations and remedies
//! depend on it: Microsoft 365 advice is only for Exchange Online.

use crate::analysis::Session;
use crate::dialogue::{Answered, EntryKind, Verb};

/// The mail service behind the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    ExchangeOnline,
    ExchangeOnPremises,
    Google,
    /// A server of the site or of a provider smtpcap does not know.
    Other,
}

/// The server software, where its banner or replies show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Software {
    Exchange,
    Gmail,
    Postfix,
    Exim,
    Sendmail,
    OpenSmtpd,
    IisSmtp,
    Unknown,
}

/// Which Exchange Online (or Google) endpoint: they accept different things.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// Authenticated client submission (smtp.office365.com, smtp.gmail.com).
    Submission,
    /// The opt-in endpoint for TLS 1.0/1.1 clients (smtp-legacy.office365.com).
    LegacySubmission,
    /// The tenant's inbound MX (*.mail.protection.outlook.com, *.mx.microsoft).
    InboundMx,
    /// Google Workspace's SMTP relay (smtp-relay.gmail.com).
    Relay,
    Unknown,
}

/// Which Microsoft cloud, for Exchange Online.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    Worldwide,
    /// GCC High / `DoD` (*.office365.us).
    UsGovernment,
    /// Operated by 21Vianet (*.partner.outlook.cn).
    China,
}

/// What the capture shows of the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerIdentity {
    pub provider: Provider,
    pub software: Software,
    pub endpoint: Endpoint,
    pub cloud: Option<Cloud>,
    /// The name it was recognised by, and where that was seen.
    pub name: Option<String>,
    pub frame: Option<u64>,
    pub source: &'static str,
}

impl ServerIdentity {
    pub fn is_exchange_online(&self) -> bool {
        self.provider == Provider::ExchangeOnline
    }

    /// A short label for tables: `Exchange Online (submission)`, `Postfix`, ….
    pub fn label(&self) -> String {
        let base = match (self.provider, self.software) {
            (Provider::ExchangeOnline, _) => "Exchange Online",
            (Provider::ExchangeOnPremises, _) => "Exchange Server",
            (Provider::Google, _) => "Google",
            (_, Software::Postfix) => "Postfix",
            (_, Software::Exim) => "Exim",
            (_, Software::Sendmail) => "Sendmail",
            (_, Software::OpenSmtpd) => "OpenSMTPD",
            (_, Software::IisSmtp) => "IIS SMTP",
            _ => "unknown server",
        };
        let endpoint = match self.endpoint {
            Endpoint::Submission => " (submission)",
            Endpoint::LegacySubmission => " (legacy TLS submission)",
            Endpoint::InboundMx => " (inbound MX)",
            Endpoint::Relay => " (relay)",
            Endpoint::Unknown => "",
        };
        let cloud = match self.cloud {
            Some(Cloud::UsGovernment) => ", US Government",
            Some(Cloud::China) => ", 21Vianet",
            _ => "",
        };
        format!("{base}{endpoint}{cloud}")
    }
}

/// What a host name says, on its own.
fn by_name(name: &str) -> Option<(Provider, Endpoint, Option<Cloud>)> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    let ends = |s: &str| n.ends_with(s);
    let exo = Provider::ExchangeOnline;
    let ww = Some(Cloud::Worldwide);
    let found = if n == "smtp-legacy.office365.com" || n == "smtp-legacy.partner.outlook.cn" {
        let cloud = if ends(".cn") {
            Cloud::China
        } else {
            Cloud::Worldwide
        };
        (exo, Endpoint::LegacySubmission, Some(cloud))
    } else if ends(".mail.protection.outlook.com") || ends(".mx.microsoft") {
        (exo, Endpoint::InboundMx, ww)
    } else if ends(".mail.protection.office365.us") || ends(".protection.office365.us") {
        (exo, Endpoint::InboundMx, Some(Cloud::UsGovernment))
    } else if ends(".mail.protection.partner.outlook.cn") {
        (exo, Endpoint::InboundMx, Some(Cloud::China))
    } else if n == "smtp.office365.com"
        || ends(".outlook.office365.com")
        || n == "outlook.office365.com"
        // Exchange Online's servers name themselves *.prod.outlook.com.
        || ends(".prod.outlook.com")
    {
        (exo, Endpoint::Submission, ww)
    } else if n == "smtp.office365.us" || ends("outlook.office365.us") {
        (exo, Endpoint::Submission, Some(Cloud::UsGovernment))
    } else if n == "smtp.partner.outlook.cn" || ends(".partner.outlook.cn") {
        (exo, Endpoint::Submission, Some(Cloud::China))
    } else if n == "smtp.gmail.com" || n == "smtp.googlemail.com" {
        (Provider::Google, Endpoint::Submission, None)
    } else if n == "smtp-relay.gmail.com" {
        (Provider::Google, Endpoint::Relay, None)
    } else if ends(".google.com") && (n.starts_with("aspmx") || n.contains("mx")) {
        (Provider::Google, Endpoint::InboundMx, None)
    } else {
        return None;
    };
    Some(found)
}

/// Exchange Online's reply trailers name its servers under prod.outlook.com (submission)
/// or prod.protection.outlook.com (EOP, the inbound MX).
fn exo_trailer(lower: &str) -> bool {
    lower.contains(".prod.outlook.com") || lower.contains(".prod.protection.outlook.com")
}

/// What a greeting or reply text says of the software.
pub(super) fn by_text(text: &str) -> Option<Software> {
    let t = text.to_ascii_lowercase();
    let found = if t.contains("microsoft esmtp mail service, version:") {
        Software::IisSmtp
    } else if t.contains("microsoft esmtp mail service") || exo_trailer(&t) {
        Software::Exchange
    } else if t.ends_with(" - gsmtp") || t.contains(" gsmtp") || t.contains("at your service") {
        Software::Gmail
    } else if t.contains("esmtp postfix") || t.contains("ok: queued as") {
        Software::Postfix
    } else if t.contains("esmtp exim") || t.starts_with("250 ok id=") {
        Software::Exim
    } else if t.contains("esmtp sendmail")
        || (t.contains("pleased to meet you") && !t.contains("opensmtpd"))
    {
        Software::Sendmail
    } else if t.contains("opensmtpd") {
        Software::OpenSmtpd
    } else {
        return None;
    };
    Some(found)
}

/// Every clue the capture gives, best first: names (the DNS name, the greeting and EHLO
/// host names, the certificate's names, the SNI), then the software the texts show.
pub fn identify(session: &Session, dns_name: Option<(&str, u64)>) -> ServerIdentity {
    let mut names: Vec<(String, Option<u64>, &'static str)> = Vec::new();
    let mut software = Software::Unknown;
    let mut exo_seen = false;
    if let Some((n, frame)) = dns_name {
        names.push((n.to_string(), Some(frame), "DNS lookup"));
    }
    for e in &session.dialogue {
        let EntryKind::Reply {
            code,
            lines,
            answers,
            ..
        } = &e.kind
        else {
            continue;
        };
        let answered = answers.as_ref().map(|a| &a.command);
        let greeting = *code == 220 && answered == Some(&Answered::Greeting);
        let ehlo = *code == 250 && answered.is_some_and(|a| a.is(&Verb::Ehlo) || a.is(&Verb::Helo));
        if greeting || ehlo {
            if let Some(host) = lines
                .first()
                .and_then(|l| l.get(4..))
                .and_then(|t| t.split_whitespace().next())
            {
                let source = if greeting { "greeting" } else { "EHLO reply" };
                names.push((host.to_string(), Some(e.frame), source));
            }
        }
        if software == Software::Unknown {
            if let Some(s) = lines.iter().find_map(|l| by_text(l)) {
                software = s;
            }
        }
        exo_seen |= lines.iter().any(|l| exo_trailer(&l.to_ascii_lowercase()));
    }
    if let Some(tls) = &session.tls {
        if let Some(c) = &tls.certificate {
            for n in &c.names {
                names.push((n.clone(), Some(c.frame), "certificate"));
            }
        }
        if let Some(h) = &tls.client_hello {
            if let Some(sni) = &h.sni {
                names.push((sni.clone(), Some(h.frame), "TLS server name"));
            }
        }
    }
    for (name, frame, source) in &names {
        if let Some((provider, endpoint, cloud)) = by_name(name) {
            let software = match provider {
                Provider::Google => Software::Gmail,
                _ => Software::Exchange,
            };
            return ServerIdentity {
                provider,
                software,
                endpoint,
                cloud,
                name: Some(name.clone()),
                frame: *frame,
                source,
            };
        }
    }
    let provider = match software {
        _ if exo_seen => Provider::ExchangeOnline,
        // Exchange's banner under a name that is not Exchange Online's.
        Software::Exchange => Provider::ExchangeOnPremises,
        Software::Gmail => Provider::Google,
        _ => Provider::Other,
    };
    let first = names.into_iter().next();
    ServerIdentity {
        provider,
        software,
        endpoint: Endpoint::Unknown,
        cloud: exo_seen.then_some(Cloud::Worldwide),
        name: first.as_ref().map(|c| c.0.clone()),
        frame: first.as_ref().and_then(|c| c.1),
        source: first.map_or("none", |c| c.2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_online_names_in_every_cloud() {
        let cases = [
            ("smtp.office365.com", Endpoint::Submission, Cloud::Worldwide),
            (
                "PN4P287CA0064.outlook.office365.com",
                Endpoint::Submission,
                Cloud::Worldwide,
            ),
            (
                "BMXPR01MB0083.INDPRD01.PROD.OUTLOOK.COM",
                Endpoint::Submission,
                Cloud::Worldwide,
            ),
            (
                "smtp-legacy.office365.com",
                Endpoint::LegacySubmission,
                Cloud::Worldwide,
            ),
            (
                "contoso-com.mail.protection.outlook.com.",
                Endpoint::InboundMx,
                Cloud::Worldwide,
            ),
            (
                "contoso-com.a1b2.mx.microsoft",
                Endpoint::InboundMx,
                Cloud::Worldwide,
            ),
            (
                "CY1USG02FT007.mail.protection.office365.us",
                Endpoint::InboundMx,
                Cloud::UsGovernment,
            ),
            (
                "smtp.office365.us",
                Endpoint::Submission,
                Cloud::UsGovernment,
            ),
            (
                "contoso.mail.protection.partner.outlook.cn",
                Endpoint::InboundMx,
                Cloud::China,
            ),
            (
                "smtp.partner.outlook.cn",
                Endpoint::Submission,
                Cloud::China,
            ),
        ];
        for (name, endpoint, cloud) in cases {
            assert_eq!(
                by_name(name),
                Some((Provider::ExchangeOnline, endpoint, Some(cloud))),
                "{name}"
            );
        }
        assert_eq!(by_name("outlook.office365.com.evil.example"), None);
        assert_eq!(by_name("relay.contoso.local"), None);
    }

    #[test]
    fn google_names() {
        assert_eq!(
            by_name("smtp.gmail.com").map(|x| x.1),
            Some(Endpoint::Submission)
        );
        assert_eq!(
            by_name("smtp-relay.gmail.com").map(|x| x.1),
            Some(Endpoint::Relay)
        );
    }

    #[test]
    fn software_from_banners_and_replies() {
        let cases = [
            ("220 mail.example.org ESMTP Postfix (Debian/GNU)", Software::Postfix),
            ("250 2.0.0 Ok: queued as 4Xb2Kq1fz3z9rxL", Software::Postfix),
            ("220 mx.example.org ESMTP Exim 4.97 Fri, 27 Nov 2026 07:00:00 +0000", Software::Exim),
            ("250 OK id=1vZ4bT-000abc-2D", Software::Exim),
            ("220 mail.example.org ESMTP Sendmail 8.17.1/8.17.1; Fri, 27 Nov 2026", Software::Sendmail),
            ("250-mail.example.org Hello copier [192.0.2.10], pleased to meet you", Software::Sendmail),
            ("220 mail.example.org ESMTP OpenSMTPD", Software::OpenSmtpd),
            ("220 ex01.contoso.local Microsoft ESMTP MAIL Service ready at Fri, 27 Nov 2026 07:00:00 +0000", Software::Exchange),
            ("220 iis.contoso.local Microsoft ESMTP MAIL Service, Version: 6.0.3790.4675 ready at  Fri, 27 Nov 2026", Software::IisSmtp),
            ("220 smtp.gmail.com ESMTP a1b2c3 - gsmtp", Software::Gmail),
            ("535 5.7.8 https://support.google.com/mail/?p=BadCredentials a1b2c3 - gsmtp", Software::Gmail),
        ];
        for (text, sw) in cases {
            assert_eq!(by_text(text), Some(sw), "{text}");
        }
        assert_eq!(by_text("220 relay.contoso.local ESMTP"), None);
    }
}
