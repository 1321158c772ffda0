//! What a refusal means, whichever server sent it: the reply code, its enhanced status
//! code (RFC 3463) and its text read together, with the server's identity where the same
//! code means different things (Exchange Online's 5.1.8 is a restricted mailbox,
//! Sendmail's an unknown sender domain).

use super::server::{Provider, ServerIdentity, Software};

/// The kinds of refusal a scan-to-email attempt meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// The server does not relay to this recipient for this client.
    RelayDenied,
    /// TLS is required before this command.
    MustStartTls,
    /// Authentication is required before sending.
    AuthRequired,
    /// AUTH was used where the server did not offer it, or with a mechanism it lacks.
    AuthNotOffered,
    /// The credentials were refused.
    AuthFailed,
    /// Exchange Online: SMTP AUTH disabled for the tenant or mailbox, or blocked by policy.
    AuthDisabled,
    /// Google: an app password is required (or a browser login first).
    AppPasswordRequired,
    /// Exchange Online: Basic authentication retired for client submission.
    BasicAuthRetired,
    /// The sender address is not one the login may send as.
    SenderNotAllowed,
    /// The sender address's domain does not exist.
    SenderDomainUnknown,
    /// Exchange Online: the mailbox is restricted from sending (spam, compromise).
    SenderRestricted,
    /// The recipient mailbox does not exist.
    MailboxUnknown,
    MailboxFull,
    MessageTooLarge,
    TooManyRecipients,
    /// Come back later: a greylisting server.
    Greylisted,
    /// Too much mail or too many connections from this client or mailbox.
    RateLimited,
    /// The client's IP address is on a blocklist.
    IpBlocklisted,
    /// Exchange Online: the wrong region (ATTR35).
    WrongRegion,
    /// The EHLO/HELO name was refused.
    HeloRejected,
    /// Exchange Online: TLS 1.0/1.1 refused.
    TlsTooOld,
    /// The message content was refused (virus, spam, malformed).
    ContentRejected,
    /// A refusal no specific kind describes: explained from its enhanced code and text.
    Other,
}

/// A refusal read: its kind, and whether it is a policy decision (a 4xx relay refusal
/// will not pass by retrying) or a passing condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    /// Retrying the same thing later may work.
    pub transient: bool,
}

/// `x.y.z` as three numbers, when well formed (RFC 3463: class 2, 4 or 5).
pub fn parse_enhanced(enhanced: &str) -> Option<(u16, u16, u16)> {
    let mut parts = enhanced.split('.');
    let class = parts.next()?.parse().ok()?;
    let subject = parts.next()?.parse().ok()?;
    let detail = parts.next()?.parse().ok()?;
    (parts.next().is_none() && matches!(class, 2 | 4 | 5)).then_some((class, subject, detail))
}

/// Reads a refusal (code 4xx or 5xx); `None` for a reply that is no refusal.
pub fn classify(
    code: u16,
    enhanced: Option<&str>,
    text: &str,
    server: &ServerIdentity,
) -> Option<Refusal> {
    use RefusalKind::{
        AppPasswordRequired, AuthDisabled, AuthNotOffered, AuthRequired, BasicAuthRetired,
        HeloRejected, IpBlocklisted, MustStartTls, Other, RelayDenied, SenderNotAllowed,
        SenderRestricted, TlsTooOld, WrongRegion,
    };
    if !(400..600).contains(&code) {
        return None;
    }
    let t = text.to_ascii_lowercase();
    let reply = Reply {
        code,
        text: &t,
        enhanced: enhanced.and_then(parse_enhanced),
        server,
    };
    let kind = reply.policy().or_else(|| reply.delivery()).unwrap_or(Other);
    // A policy refusal stays a refusal, whatever its first digit says.
    let policy = matches!(
        kind,
        RelayDenied
            | MustStartTls
            | AuthRequired
            | AuthNotOffered
            | AuthDisabled
            | BasicAuthRetired
            | SenderNotAllowed
            | SenderRestricted
            | IpBlocklisted
            | WrongRegion
            | TlsTooOld
            | AppPasswordRequired
            | HeloRejected
    );
    Some(Refusal {
        kind,
        transient: code < 500 && !policy,
    })
}

/// RFC 3463's words for an enhanced status code, for refusals nothing more specific
/// explains: `5.3.4` → "message too big for system".
pub fn describe_enhanced(enhanced: &str) -> Option<&'static str> {
    let (_, subject, detail) = parse_enhanced(enhanced)?;
    Some(match (subject, detail) {
        (1, 1) => "bad destination mailbox address",
        (1, 2) => "bad destination system address",
        (1, 3) => "bad destination mailbox address syntax",
        (1, 7) => "bad sender's mailbox address syntax",
        (1, 8) => "bad sender's system address",
        (1, 10) => "recipient address has a null MX",
        (1, _) => "addressing problem",
        (2, 1) => "mailbox disabled",
        (2, 2) => "mailbox full",
        (2, 3) => "message length exceeds administrative limit",
        (2, _) => "mailbox problem",
        (3, 1) => "mail system full",
        (3, 2) => "system not accepting network messages",
        (3, 3) => "system not capable of selected features",
        (3, 4) => "message too big for system",
        (3, 5) => "system incorrectly configured",
        (3, _) => "mail system problem",
        (4, 1) => "no answer from host",
        (4, 2) => "bad connection",
        (4, 3) => "directory server failure",
        (4, 4) => "unable to route",
        (4, 5) => "mail system congestion",
        (4, 7) => "delivery time expired",
        (4, _) => "network or routing problem",
        (5, 1) => "invalid command",
        (5, 2) => "syntax error",
        (5, 3) => "too many recipients",
        (5, 4) => "invalid command arguments",
        (5, 5) => "wrong protocol version",
        (5, 6) => "authentication exchange line too long",
        (5, _) => "mail delivery protocol problem",
        (6, _) => "message content or media problem",
        (7, 1) => "delivery not authorized, message refused",
        (7, 4) => "security features not supported",
        (7, 5) => "cryptographic failure",
        (7, 8) => "authentication credentials invalid",
        (7, 9) => "authentication mechanism too weak",
        (7, 10) => "encryption needed",
        (7, 11) => "encryption required for requested authentication mechanism",
        (7, 12) => "a password transition is needed",
        (7, 13) => "user account disabled",
        (7, 25) => "reverse DNS validation failed",
        (7, 27) => "sender address has a null MX",
        (7, _) => "security or policy status",
        (0, _) => "other or undefined status",
        _ => return None,
    })
}

/// A refusal being read: its code, its text in lower case, its enhanced code (class,
/// subject, detail) and the server that sent it.
struct Reply<'a> {
    code: u16,
    text: &'a str,
    enhanced: Option<(u16, u16, u16)>,
    server: &'a ServerIdentity,
}

impl Reply<'_> {
    fn has(&self, s: &str) -> bool {
        self.text.contains(s)
    }

    /// The enhanced code's subject and detail are `c`.
    fn is(&self, c: (u16, u16)) -> bool {
        self.enhanced.is_some_and(|(_, s, d)| (s, d) == c)
    }

    /// Refusals of the session's setup: relay, TLS, authentication, the sender.
    fn policy(&self) -> Option<RefusalKind> {
        use RefusalKind::{
            AppPasswordRequired, AuthDisabled, AuthFailed, AuthNotOffered, AuthRequired,
            BasicAuthRetired, MustStartTls, RelayDenied, SenderDomainUnknown, SenderNotAllowed,
            SenderRestricted, TlsTooOld, WrongRegion,
        };
        let (code, e) = (self.code, self.enhanced);
        let has = |s: &str| self.has(s);
        let is = |c: (u16, u16)| self.is(c);
        let exo = self.server.provider == Provider::ExchangeOnline;
        let server = self.server;
        Some(
            if (has("relay")
                && (has("denied")
                    || has("not permitted")
                    || has("unable to relay")
                    || has("relay access")))
                || (exo && (is((7, 54)) || is((7, 64)) || is((7, 68))))
            {
                RelayDenied
            } else if is((4, 62)) || has("attr35") {
                WrongRegion
            } else if is((7, 66)) || (has("tls 1.0") && has("not supported")) {
                TlsTooOld
            } else if (has("starttls") && (has("must") || has("required") || has("first")))
                || has("session encryption is required")
                || (is((7, 10)) && code == 530)
            {
                MustStartTls
            } else if is((7, 139)) {
                AuthDisabled
            } else if is((7, 30)) || has("basic authentication is not supported") {
                BasicAuthRetired
            } else if has("application-specific password")
                || (is((7, 9)) && server.software == Software::Gmail)
                || is((7, 90))
                || (is((7, 14)) && server.software == Software::Gmail)
            {
                AppPasswordRequired
            } else if code == 535
                || has("authentication failed")
                || has("authentication unsuccessful")
                || has("incorrect authentication data")
                || has("username and password not accepted")
            {
                AuthFailed
            } else if has("not authenticated")
                || has("authentication required")
                || has("must issue an auth")
                || has("proper authentication required")
                // Postfix's reject_unauth_sender_login_mismatch.
                || has("sender address rejected: not logged in")
                || is((7, 57))
            {
                // Sendmail's relay text asks for authentication too; relay came first above.
                AuthRequired
            } else if is((7, 4))
                || has("unrecognized authentication type")
                || has("authentication not enabled")
                || has("auth command used when not advertised")
                || is((7, 40))
                || (code == 504 && has("auth"))
            {
                AuthNotOffered
            } else if is((7, 60))
                || is((2, 252))
                || has("sendasdenied")
                || has("send as this sender")
                || has("not owned by user")
                || has("sender rejected: not logged in")
                || (code == 530 && has("sender rejected"))
            {
                SenderNotAllowed
            } else if exo
                && (is((1, 8)) || e.is_some_and(|(_, s, d)| s == 7 && (501..=503).contains(&d)))
            {
                SenderRestricted
            } else if is((1, 8))
                || has("domain of sender address")
                || (has("sender address rejected") && has("domain not found"))
                || is((7, 27))
            {
                SenderDomainUnknown
            } else {
                return None;
            },
        )
    }

    /// Refusals of the mail itself: reputation, limits, the recipient, the content.
    fn delivery(&self) -> Option<RefusalKind> {
        use RefusalKind::{
            ContentRejected, Greylisted, HeloRejected, IpBlocklisted, MailboxFull, MailboxUnknown,
            MessageTooLarge, RateLimited, TooManyRecipients,
        };
        let (code, e) = (self.code, self.enhanced);
        let has = |s: &str| self.has(s);
        let is = |c: (u16, u16)| self.is(c);
        Some(
            if has("spamhaus")
                || has("blocked using")
                || has("blocklist")
                || has("banned sending ip")
                || (has("listed at") && has("rejected"))
                || e.is_some_and(|(_, s, d)| {
                    s == 7 && ((606..=649).contains(&d) || d == 708 || d == 750)
                })
            {
                IpBlocklisted
            } else if has("greylist") || has("graylist") {
                Greylisted
            } else if has("too many recipients") || is((5, 3)) {
                TooManyRecipients
            } else if has("too many connections")
                || has("concurrent")
                || has("too much mail")
                || has("rate limit")
                || has("sending limit")
                || has("server busy")
                || has("try again later")
                || is((4, 5))
                || (is((3, 2)) && code < 500)
                || e.is_some_and(|(_, s, d)| s == 7 && (500..=699).contains(&d) && code < 500)
            {
                RateLimited
            } else if is((3, 4))
                || is((2, 3))
                || has("message size exceeds")
                || has("too big")
                || has("exceeds maximum")
                || has("size limit")
            {
                MessageTooLarge
            } else if is((2, 2)) || has("mailbox full") || has("quota") {
                MailboxFull
            } else if is((1, 1))
                || is((1, 10))
                || has("user unknown")
                || has("unknown user")
                || has("unrouteable address")
                || has("recipient not found")
                || (has("does not exist") && has("account"))
                || has("invalid recipient")
            {
                MailboxUnknown
            } else if has("helo")
                || has("ehlo")
                || (is((5, 4)) && has("domain name"))
                || has("invalid domain name")
            {
                HeloRejected
            } else if has("virus") || has("spam") || is((6, 0)) || (has("content") && code >= 500) {
                ContentRejected
            } else {
                return None;
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::server::{Endpoint, ServerIdentity};
    use super::*;

    fn server(provider: Provider, software: Software) -> ServerIdentity {
        ServerIdentity {
            provider,
            software,
            endpoint: Endpoint::Unknown,
            cloud: None,
            name: None,
            frame: None,
            source: "none",
        }
    }

    /// (server, reply line, expected kind, transient): documented texts of each server
    /// software (docs/findings.md says which were seen in captures).
    #[test]
    fn documented_refusals_are_read_as_what_they_mean() {
        use RefusalKind::*;
        use Software::*;
        const OTHER: Provider = Provider::Other;
        const ONPREM: Provider = Provider::ExchangeOnPremises;
        const EXO: Provider = Provider::ExchangeOnline;
        const GOOGLE: Provider = Provider::Google;
        let cases: &[(Provider, Software, &str, RefusalKind, bool)] = &[
            // Postfix
            (OTHER, Postfix, "454 4.7.1 <someone@example.org>: Relay access denied", RelayDenied, false),
            (OTHER, Postfix, "554 5.7.1 <someone@example.org>: Relay access denied", RelayDenied, false),
            (OTHER, Postfix, "530 5.7.0 Must issue a STARTTLS command first", MustStartTls, false),
            (OTHER, Postfix, "450 4.7.1 Session encryption is required", MustStartTls, false),
            (OTHER, Postfix, "503 5.5.1 Error: authentication not enabled", AuthNotOffered, false),
            (OTHER, Postfix, "535 5.7.8 Error: authentication failed: authentication failure", AuthFailed, false),
            (OTHER, Postfix, "553 5.7.1 <scanner@domain.com>: Sender address rejected: not owned by user office@domain.com", SenderNotAllowed, false),
            (OTHER, Postfix, "450 4.1.8 <a@nowhere.invalid>: Sender address rejected: Domain not found", SenderDomainUnknown, true),
            (OTHER, Postfix, "550 5.1.1 <x@domain.com>: Recipient address rejected: User unknown in local recipient table", MailboxUnknown, false),
            (OTHER, Postfix, "552 5.3.4 Message size exceeds fixed limit", MessageTooLarge, false),
            (OTHER, Postfix, "552 5.3.4 Error: message file too big", MessageTooLarge, false),
            (OTHER, Postfix, "504 5.5.2 <MX-4070N>: Helo command rejected: need fully-qualified hostname", HeloRejected, false),
            (OTHER, Postfix, "450 4.2.0 <x@domain.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/domain.com.html", Greylisted, true),
            (OTHER, Postfix, "421 4.7.0 mail.example.org Error: too many connections from 192.0.2.10", RateLimited, true),
            (OTHER, Postfix, "554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org", IpBlocklisted, false),
            (OTHER, Postfix, "554 5.7.1 Message contains virus", ContentRejected, false),
            (OTHER, Postfix, "521 5.5.4 Syntax: EHLO hostname", HeloRejected, false),
            // Exim
            (OTHER, Exim, "550 relay not permitted", RelayDenied, false),
            (OTHER, Exim, "550 Unknown user", MailboxUnknown, false),
            (OTHER, Exim, "503 AUTH command used when not advertised", AuthNotOffered, false),
            (OTHER, Exim, "535 Incorrect authentication data", AuthFailed, false),
            (OTHER, Exim, "552 Message size exceeds maximum permitted", MessageTooLarge, false),
            (OTHER, Exim, "501 Syntactically invalid HELO argument(s)", HeloRejected, false),
            // Sendmail
            (OTHER, Sendmail, "550 5.7.1 <someone@example.org>... Relaying denied. Proper authentication required.", RelayDenied, false),
            (OTHER, Sendmail, "530 5.7.0 Authentication required", AuthRequired, false),
            (OTHER, Sendmail, "553 5.1.8 <scan@nowhere.invalid>... Domain of sender address scan@nowhere.invalid does not exist", SenderDomainUnknown, false),
            (OTHER, Sendmail, "552 5.2.3 Message size exceeds fixed maximum message size (10000000)", MessageTooLarge, false),
            (OTHER, Sendmail, "451 4.7.1 Greylisting in action, please come back in 00:05:00", Greylisted, true),
            (OTHER, Sendmail, "452 4.3.2 Connection rate limit exceeded.", RateLimited, true),
            // OpenSMTPD
            (OTHER, OpenSmtpd, "530 5.5.1 Invalid command: Must issue a STARTTLS command first", MustStartTls, false),
            (OTHER, OpenSmtpd, "530 5.5.1 Invalid command: Must issue an AUTH command first", AuthRequired, false),
            (OTHER, OpenSmtpd, "550 Invalid recipient: <x@domain.com>", MailboxUnknown, false),
            (OTHER, OpenSmtpd, "530 Sender rejected", SenderNotAllowed, false),
            (OTHER, OpenSmtpd, "554 5.3.4 Message too big for system: Transaction failed, message too big", MessageTooLarge, false),
            // Exchange Server (on premises)
            (ONPREM, Exchange, "530 5.7.1 Client was not authenticated", AuthRequired, false),
            (ONPREM, Exchange, "550 5.7.1 Unable to relay", RelayDenied, false),
            (ONPREM, Exchange, "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain", RelayDenied, false),
            (ONPREM, Exchange, "501 5.5.4 Invalid domain name", HeloRejected, false),
            // Exchange Online
            (EXO, Exchange, "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain", RelayDenied, false),
            (EXO, Exchange, "550 5.7.64 TenantAttribution; Relay Access Denied", RelayDenied, false),
            (EXO, Exchange, "530 5.7.57 Client not authenticated to send mail", AuthRequired, false),
            (EXO, Exchange, "451 5.7.3 STARTTLS is required to send mail", MustStartTls, false),
            (EXO, Exchange, "504 5.7.4 Unrecognized authentication type", AuthNotOffered, false),
            (EXO, Exchange, "535 5.7.3 Authentication unsuccessful", AuthFailed, false),
            (EXO, Exchange, "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.", AuthDisabled, false),
            (EXO, Exchange, "550 5.7.30 Basic authentication is not supported for Client Submission.", BasicAuthRetired, false),
            (EXO, Exchange, "550 5.7.60 SMTP; Client does not have permissions to send as this sender", SenderNotAllowed, false),
            (EXO, Exchange, "554 5.2.252 SendAsDenied; office@domain.com not allowed to send as scanner@domain.com", SenderNotAllowed, false),
            (EXO, Exchange, "550 5.1.8 Access denied, bad outbound sender", SenderRestricted, false),
            (EXO, Exchange, "550 5.7.1 Service unavailable, Client host [198.51.100.7] blocked using Spamhaus", IpBlocklisted, false),
            (EXO, Exchange, "550 5.7.606 Access denied, banned sending IP [198.51.100.7]", IpBlocklisted, false),
            (EXO, Exchange, "451 4.7.500 Server busy. Please try again later from [198.51.100.7]. (S77714)", RateLimited, true),
            (EXO, Exchange, "432 4.3.2 Concurrent connections limit exceeded", RateLimited, true),
            (EXO, Exchange, "451 4.4.62 Mail sent to the wrong Office 365 region. ATTR35", WrongRegion, false),
            (EXO, Exchange, "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2.", TlsTooOld, false),
            (EXO, Exchange, "501 5.5.4 Invalid domain name", HeloRejected, false),
            (EXO, Exchange, "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", MailboxUnknown, false),
            (EXO, Exchange, "554 5.2.2 mailbox full; STOREDRV.Submission.Exception:QuotaExceededException", MailboxFull, false),
            // Google
            (GOOGLE, Gmail, "530 5.7.0 Must issue a STARTTLS command first. a1b2c3 - gsmtp", MustStartTls, false),
            (GOOGLE, Gmail, "534-5.7.9 Application-specific password required. Learn more at", AppPasswordRequired, false),
            (GOOGLE, Gmail, "535-5.7.8 Username and Password not accepted. Learn more at", AuthFailed, false),
            (GOOGLE, Gmail, "550 5.7.0 Mail relay denied. a1b2c3 - gsmtp", RelayDenied, false),
            (GOOGLE, Gmail, "552 5.3.4 Your message exceeded Google's message size limits. a1b2c3 - gsmtp", MessageTooLarge, false),
        ];
        let mut wrong = Vec::new();
        for &(provider, software, line, kind, transient) in cases {
            let code: u16 = line[..3].parse().unwrap();
            let text = &line[4..];
            let enhanced = text
                .split_whitespace()
                .next()
                .filter(|w| parse_enhanced(w).is_some());
            let got = classify(code, enhanced, text, &server(provider, software));
            if got != Some(Refusal { kind, transient }) {
                wrong.push(format!(
                    "{line}: {got:?}, expected {kind:?} transient {transient}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn the_same_code_means_what_the_server_means() {
        let reply = "550 5.1.8 Access denied, bad outbound sender";
        let exo = classify(
            550,
            Some("5.1.8"),
            &reply[4..],
            &server(Provider::ExchangeOnline, Software::Exchange),
        );
        let other = classify(
            550,
            Some("5.1.8"),
            &reply[4..],
            &server(Provider::Other, Software::Sendmail),
        );
        assert_eq!(exo.map(|r| r.kind), Some(RefusalKind::SenderRestricted));
        assert_eq!(
            other.map(|r| r.kind),
            Some(RefusalKind::SenderDomainUnknown)
        );
    }

    #[test]
    fn rfc_3463_words() {
        assert_eq!(
            describe_enhanced("5.3.4"),
            Some("message too big for system")
        );
        assert_eq!(
            describe_enhanced("4.7.1"),
            Some("delivery not authorized, message refused")
        );
        assert_eq!(describe_enhanced("5.9"), None);
        assert_eq!(describe_enhanced("3.1.1"), None);
    }
}
