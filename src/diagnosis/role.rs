use serde::Serialize;

use crate::analysis::Session;
use crate::dialogue::EntryKind;

/// Which kind of Microsoft 365 endpoint the server is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerRole {
    /// smtp.office365.com (or smtp-legacy): authenticated client submission.
    ExoSubmission,
    /// *.mail.protection.outlook.com or *.mx.microsoft: the tenant's inbound MX.
    ExoInboundMx,
    Other,
}

impl ServerRole {
    pub fn name(self) -> &'static str {
        match self {
            ServerRole::ExoSubmission => "exo-submission",
            ServerRole::ExoInboundMx => "exo-inbound-mx",
            ServerRole::Other => "other",
        }
    }
}

/// The role and the clue it was told from (a name and where it was seen).
pub struct RoleClue {
    pub role: ServerRole,
    pub name: Option<String>,
    pub frame: Option<u64>,
    pub source: &'static str,
}

pub fn classify_name(name: &str) -> ServerRole {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if n == "smtp.office365.com"
        || n == "smtp-legacy.office365.com"
        || n.ends_with(".outlook.office365.com")
    {
        ServerRole::ExoSubmission
    } else if n.ends_with(".mail.protection.outlook.com") || n.ends_with(".mx.microsoft") {
        ServerRole::ExoInboundMx
    } else {
        ServerRole::Other
    }
}

/// Every clue the capture gives, best first: the DNS name, the greeting and EHLO host
/// names, the certificate's names, the SNI.
pub fn classify(session: &Session, dns_name: Option<(&str, u64)>) -> RoleClue {
    let mut clues: Vec<(String, Option<u64>, &'static str)> = Vec::new();
    if let Some((n, frame)) = dns_name {
        clues.push((n.to_string(), Some(frame), "DNS lookup"));
    }
    for e in &session.dialogue {
        if let EntryKind::Reply {
            code,
            lines,
            answers: Some(a),
            ..
        } = &e.kind
        {
            if (*code == 220 && a.command == "GREETING")
                || (*code == 250 && matches!(a.command.as_str(), "EHLO" | "HELO"))
            {
                if let Some(host) = lines
                    .first()
                    .and_then(|l| l.get(4..))
                    .and_then(|t| t.split_whitespace().next())
                {
                    clues.push((
                        host.to_string(),
                        Some(e.frame),
                        if *code == 220 {
                            "greeting"
                        } else {
                            "EHLO reply"
                        },
                    ));
                }
            }
        }
    }
    if let Some(tls) = &session.tls {
        if let Some(c) = &tls.certificate {
            for n in &c.names {
                clues.push((n.clone(), Some(c.frame), "certificate"));
            }
        }
        if let Some(sni) = tls
            .client_hello
            .as_ref()
            .and_then(|h| h.sni.clone().map(|s| (s, h.frame)))
        {
            clues.push((sni.0, Some(sni.1), "TLS server name"));
        }
    }
    for (name, frame, source) in &clues {
        let role = classify_name(name);
        if role != ServerRole::Other {
            return RoleClue {
                role,
                name: Some(name.clone()),
                frame: *frame,
                source,
            };
        }
    }
    let first = clues.into_iter().next();
    RoleClue {
        role: ServerRole::Other,
        name: first.as_ref().map(|c| c.0.clone()),
        frame: first.as_ref().and_then(|c| c.1),
        source: first.map_or("none", |c| c.2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names() {
        assert_eq!(
            classify_name("smtp.office365.com"),
            ServerRole::ExoSubmission
        );
        assert_eq!(
            classify_name("PN4P287CA0064.outlook.office365.com"),
            ServerRole::ExoSubmission
        );
        assert_eq!(
            classify_name("contoso-com.mail.protection.outlook.com."),
            ServerRole::ExoInboundMx
        );
        assert_eq!(
            classify_name("contoso-com.a1b2.mx.microsoft"),
            ServerRole::ExoInboundMx
        );
        assert_eq!(classify_name("mx.google.com"), ServerRole::Other);
        assert_eq!(
            classify_name("outlook.office365.com.evil.example"),
            ServerRole::Other
        );
    }
}
