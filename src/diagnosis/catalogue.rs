/// How much a finding matters, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// What stops scan-to-email, or what the server refused.
    Error,
    /// What works now but is unsupported or risky.
    Warning,
    /// Context.
    Info,
}

impl Severity {
    /// Every severity, worst first.
    pub const ALL: [Severity; 3] = [Severity::Error, Severity::Warning, Severity::Info];

    /// `error`, `warning` or `info`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// 0 for errors, 1 for warnings, 2 for information.
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }
}

impl std::str::FromStr for Severity {
    type Err = String;

    /// Parses `error`, `warning` or `info`.
    fn from_str(s: &str) -> Result<Self, String> {
        Severity::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| format!("`{s}` is not a severity (error, warning, info)"))
    }
}

/// One entry of the catalogue: what a finding means and what to change.
pub struct FindingKind {
    /// The stable id.
    pub id: FindingId,
    /// How much it matters where the facts do not say otherwise.
    pub severity: Severity,
    /// One line: what was found.
    pub title: &'static str,
    /// Why it matters.
    pub explanation: &'static str,
    /// What to change.
    pub remediation: &'static str,
    /// Its fix is a setting on the device (the report names the settings page).
    pub device_side: bool,
    /// Made only for Exchange Online servers: its words need no other version.
    pub exchange_online_only: bool,
    /// The words for a server that is not Exchange Online, where the ones above are
    /// Microsoft 365's (`None`: they fit any server, or the finding is only made for
    /// Exchange Online).
    pub elsewhere: Option<Texts>,
}

/// A finding's words for one kind of server.
#[derive(Clone, Copy, Debug)]
pub struct Texts {
    pub title: &'static str,
    pub explanation: &'static str,
    pub remediation: &'static str,
}

impl FindingKind {
    /// The words to use for a server that is (or is not) Exchange Online.
    pub fn texts(&self, exchange_online: bool) -> Texts {
        match (exchange_online, self.elsewhere) {
            (false, Some(t)) => t,
            _ => Texts {
                title: self.title,
                explanation: self.explanation,
                remediation: self.remediation,
            },
        }
    }
}

/// Where the Sharp MX keeps its SMTP settings (the seed guide).
pub const SHARP_SMTP: &str = "On the copier's web page (Embedded Web Server), log in as administrator and open \
Network Settings → Services Settings → SMTP (not Quick Settings, which lacks port, TLS and authentication options).";

/// The supported configuration, as the seed guide lists it.
pub const SUPPORTED: &str = "SMTP Server smtp.office365.com, Port Number 587, Enable SSL on with SSL/TLS level \
STARTTLS, SMTP Authentication enabled, User Name the full mailbox address, Password an app password or the \
mailbox password, Sender Address the same mailbox, POP before SMTP disabled.";

/// Declares the catalogue: the `FindingId` enum and one `FindingKind` per id, from one
/// list, so that an id without an entry (or a typo) cannot compile.
macro_rules! catalogue {
    ($(kind!($variant:ident = $id:literal, $sev:ident, $device:literal, $exo_only:literal,
        $title:literal, $expl:literal, $fix:literal
        $(; elsewhere: $t2:literal, $e2:literal, $f2:literal)?),)*) => {
        /// Every diagnosis smtpcap can make; serialised as its stable kebab-case id.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FindingId {
            $(#[doc = concat!("`", $id, "`: ", $title)] $variant,)*
        }

        impl FindingId {
            /// The stable id (`mx-endpoint`, …).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(FindingId::$variant => $id,)*
                }
            }
        }

        /// Every diagnosis smtpcap can make, in the order docs/findings.md lists them.
        pub const CATALOGUE: &[FindingKind] = &[
            $(FindingKind {
                id: FindingId::$variant,
                severity: Severity::$sev,
                title: $title,
                explanation: $expl,
                remediation: $fix,
                device_side: $device,
                exchange_online_only: $exo_only,
                elsewhere: catalogue!(@elsewhere $($t2, $e2, $f2)?),
            },)*
        ];
    };
    (@elsewhere) => { None };
    (@elsewhere $t2:literal, $e2:literal, $f2:literal) => {
        Some(Texts { title: $t2, explanation: $e2, remediation: $f2 })
    };
}

// Every diagnosis smtpcap can make. Ids are stable; docs/findings.md is generated from this.
catalogue! {
    kind!(MxEndpoint = "mx-endpoint", Error, true, true, "Sending to an inbound MX endpoint instead of smtp.office365.com:587",
        "The device talks to the tenant's MX host (*.mail.protection.outlook.com or *.mx.microsoft), which is built for inbound mail: it does not accept SMTP authentication, enforces IP reputation (Spamhaus and Microsoft filtering) and only accepts mail for the tenant's own domains. A connection test can pass here while real sends fail.",
        "Set SMTP Server to smtp.office365.com and Port Number to 587, with STARTTLS and SMTP Authentication enabled."),
    kind!(NoStarttls = "no-starttls", Error, true, false, "STARTTLS offered but never used",
        "The server advertised STARTTLS and the client went on in clear text: the device has SSL/TLS disabled. Exchange Online requires TLS 1.2 or later before authentication, and anything sent in clear (credentials included) can be read on the network.",
        "Turn on Enable SSL and set the SSL/TLS level to STARTTLS (port 587).";
        elsewhere: "STARTTLS offered but never used",
        "The server advertised STARTTLS and the client went on in clear text: the device has SSL/TLS disabled. Anything sent in clear, credentials and the scan included, can be read on the network.",
        "Turn on Enable SSL and set the SSL/TLS level to STARTTLS (port 587), if the server accepts it there."),
    kind!(AuthNotOffered = "auth-not-offered", Error, true, false, "AUTH sent although the server did not offer it",
        "The client sent AUTH where the server had not advertised it: before STARTTLS (Exchange Online offers AUTH only after TLS) or on an MX endpoint, which never accepts authentication. The reply is typically 504 5.7.4 Unrecognized authentication type.",
        "Use smtp.office365.com on port 587 with STARTTLS enabled, so that authentication happens inside TLS.";
        elsewhere: "AUTH sent although the server did not offer it",
        "The client sent AUTH where the server had not advertised it: many servers offer AUTH only after STARTTLS, and relays and inbound MX hosts often not at all. The server refused the command.",
        "Enable STARTTLS so that authentication happens inside TLS; if this server takes the device's mail without a login (a relay that trusts its address), turn SMTP Authentication off instead."),
    kind!(CleartextCredentials = "cleartext-credentials", Error, true, false, "A password crossed the network unencrypted",
        "A password or bearer token (SMTP AUTH LOGIN or PLAIN, POP3 PASS, XOAUTH2, OAUTHBEARER, an NTLMv1 response or an unknown mechanism's data) was sent without TLS; anyone on the path can read it and log in with it (smtpcap withholds it from its output). Treat the password as exposed.",
        "Enable STARTTLS before authentication, then change the mailbox password (or revoke the app password)."),
    kind!(CleartextChallengeResponse = "cleartext-challenge-response", Warning, true, false, "A login crossed the network unencrypted as a challenge-response",
        "The client logged in without TLS with a mechanism that sends a digest of the password rather than the password (CRAM-MD5, DIGEST-MD5, SCRAM, NTLMv2, APOP): the user name can be read, and a recorded exchange can be attacked offline with guessed passwords (NTLM can also be relayed). Weak passwords fall quickly.",
        "Enable STARTTLS before authentication; keep the password long and unique."),
    kind!(NotAuthenticated = "not-authenticated", Error, true, false, "Mail refused because the client did not authenticate",
        "The submission endpoint refused the sender because the session was not authenticated (530 5.7.57 Client not authenticated to send mail). Microsoft 365 does not accept unauthenticated mail on smtp.office365.com.",
        "Enable SMTP Authentication and enter the full mailbox address and its (app) password.";
        elsewhere: "Mail refused because the client did not authenticate",
        "The server refused to take the message without a login (Authentication required, Client was not authenticated): it relays only for clients that authenticate.",
        "Enable SMTP Authentication with the account's user name and password, with STARTTLS so that they do not cross the network in clear."),
    kind!(AuthFailed = "auth-failed", Error, true, false, "Credentials refused",
        "The server refused the user name or password (535 5.7.3 Authentication unsuccessful): a wrong password, a blocked account, or SMTP AUTH disabled for the mailbox.",
        "Check the user name (the full mailbox address) and the password; confirm Authenticated SMTP is enabled for the mailbox in the Microsoft 365 admin centre.";
        elsewhere: "Credentials refused",
        "The server refused the user name or password (535): a wrong password, a locked or disabled account, or a login this server does not allow from the device.",
        "Check User Name and Password against the mail server's account (the full address is usually the user name); the server's log says why it refused."),
    kind!(SmtpAuthDisabled = "smtp-auth-disabled", Error, false, true, "SMTP AUTH disabled for the tenant or mailbox, or blocked by policy",
        "The server refused authentication with 535 5.7.139: SMTP client authentication is disabled for the tenant or the mailbox, or blocked by security defaults, an authentication policy or Conditional Access.",
        "In Exchange Online enable SMTP AUTH (Set-CASMailbox -SmtpClientAuthenticationDisabled $false for the mailbox, or the tenant setting), and exclude the account from security defaults or Conditional Access blocks of legacy authentication."),
    kind!(BasicAuthRetired = "basic-auth-retired", Error, false, true, "Basic authentication no longer accepted for client submission",
        "The server answered 550 5.7.30 Basic authentication is not supported for Client Submission: user name and password logins are switched off for SMTP submission. Sharp MX devices of this generation do not support OAuth.",
        "Re-enable Basic authentication for SMTP AUTH where the tenant still allows it, or send through an inbound connector relay or Direct Send instead of authenticated submission."),
    kind!(BasicAuthDeadline = "basic-auth-deadline", Warning, true, true, "Basic authentication (AUTH LOGIN) works today, and Microsoft is switching it off",
        "The device logged in to Exchange Online's submission endpoint with AUTH LOGIN (user name and password), and the login was accepted. Microsoft's plan of 27 January 2026: from December 2026 Basic authentication for SMTP AUTH is off by default on existing tenants (an administrator can turn it back on) and unavailable on new ones; the final removal date is to be announced in the second half of 2027. When the tenant's setting changes, this device fails with 535 5.7.139 or 550 5.7.30.",
        "Before it stops: where the model supports OAuth 2.0 (newer Sharp BP models: Network Settings → Services Settings → SMTP, Authentication Method OAuth 2.0, Get Token), switch to it; otherwise plan a connector relay (an inbound connector for the site's static public IP, server the tenant's MX on port 25) or Direct Send for internal recipients, and keep SMTP AUTH enabled for this mailbox until then."),
    kind!(SendAsDenied = "send-as-denied", Error, true, false, "The sender address is not the authenticated mailbox",
        "The server refused the sender (550 5.7.60 or 554 5.2.252 SendAsDenied): the MAIL FROM or header From address differs from the mailbox that logged in.",
        "Set Sender Address to exactly the mailbox used as User Name, or grant that mailbox Send As rights on the address.";
        elsewhere: "The sender address is not allowed for this login",
        "The server refused the sender address: the account that logged in may not send as it (Sender address rejected: not owned by user, Sender rejected).",
        "Set Sender Address to the address of the account used as User Name."),
    kind!(IpBlocklisted = "ip-blocklisted", Error, true, false, "The sending IP address is on a blocklist",
        "The server refused mail because the public IP address is listed (550 5.7.1 … blocked using Spamhaus, 5.7.606–649 banned sending IP, 5.7.708, 5.7.750). This happens on the MX endpoint; residential and cellular ISP ranges are commonly listed.",
        "Use authenticated submission (smtp.office365.com:587), which does not depend on IP reputation; otherwise request delisting.";
        elsewhere: "The sending IP address is on a blocklist",
        "The server refused mail because the client's public IP address is on a blocklist (blocked using a DNSBL such as Spamhaus); residential and cellular ISP ranges are commonly listed.",
        "Send through the provider's authenticated submission service (port 587 with a login), which does not depend on IP reputation; otherwise request delisting."),
    kind!(RelayDenied = "relay-denied", Error, true, false, "Relaying refused",
        "The server refused to relay to the recipient (550 5.7.54, 550 5.7.64, 550 5.7.68, or relay access denied): the MX endpoint only takes mail for the tenant's domains unless a connector matches the sender.",
        "Use authenticated submission (smtp.office365.com:587), or configure an inbound connector for the device's static public IP.";
        elsewhere: "Relaying refused",
        "The server refused to pass the message on to this recipient (relay access denied): it relays only for clients that log in, or from addresses it trusts; without either it accepts mail only for its own domains. A 4xx relay refusal is a policy decision too: retrying does not help.",
        "Enable SMTP Authentication (port 587 with STARTTLS) with an account of this server, or have the server's administrator allow the copier's address to relay."),
    kind!(TemporaryFailure = "temporary-failure", Warning, false, false, "A temporary failure (4xx)",
        "The server answered with a transient 4xx reply (greylisting, 451 4.7.500 throttling, 432 4.3.2 too many connections, 421 service not available). The device may succeed on a later try, but repeated 4xx replies mean it will not.",
        "Retry later; if it persists, follow the reply text (for 432 4.3.2, limit the device to one connection at a time).";
        elsewhere: "A temporary failure (4xx)",
        "The server answered with a transient 4xx reply: the device may succeed on a later try, but repeated 4xx replies mean it will not.",
        "Let the device retry; if the same reply repeats, follow its text, or ask the server's administrator."),
    kind!(TlsVersionTooOld = "tls-version-too-old", Error, true, false, "TLS version too old for Exchange Online",
        "The client offered nothing newer than TLS 1.1, or the server answered 421 4.7.66. Exchange Online requires TLS 1.2 or later for SMTP AUTH.",
        "Update the copier's firmware so that it supports TLS 1.2; as a stop-gap only, the tenant can opt in to smtp-legacy.office365.com.";
        elsewhere: "TLS version too old",
        "The client offered nothing newer than TLS 1.1; most mail servers now refuse TLS 1.0 and 1.1.",
        "Update the copier's firmware so that it supports TLS 1.2."),
    kind!(TlsHandshakeFailed = "tls-handshake-failed", Error, true, false, "The TLS handshake failed",
        "The STARTTLS or implicit TLS handshake did not complete: an alert (no common cipher, untrusted certificate) or a close right after the client's hello.",
        "Update the firmware and the device's trusted root certificates (Exchange Online uses DigiCert Global Root G2); check the device clock.";
        elsewhere: "The TLS handshake failed",
        "The STARTTLS or implicit TLS handshake did not complete: an alert (no common cipher, untrusted certificate) or a close right after the client's hello.",
        "Update the firmware and the device's trusted root certificates, check the device clock, and check that the server's certificate chain is complete."),
    kind!(PortBlocked = "port-blocked", Error, false, false, "SYNs to the server go unanswered",
        "The client's connection attempts got no answer at all: a firewall or the ISP drops the traffic (port 25 is commonly blocked by ISPs; unanswered SYNs to 587 point to a local firewall).",
        "Allow outbound TCP 587 to smtp.office365.com on the site's firewall, and use port 587 rather than 25.";
        elsewhere: "SYNs to the server go unanswered",
        "The client's connection attempts got no answer at all: a firewall or the ISP drops the traffic (port 25 is commonly blocked by ISPs).",
        "Check that the site's firewall allows outbound TCP to the server's port, and use the server's submission port (587) rather than 25."),
    kind!(ConnectionRefused = "connection-refused", Error, true, false, "The server refused the connection",
        "The server answered the SYN with a reset: nothing listens on that port at that address (a wrong server name or port).",
        "Set SMTP Server to smtp.office365.com and Port Number to 587.";
        elsewhere: "The server refused the connection",
        "The server answered the SYN with a reset: nothing listens on that port at that address (a wrong server name or port).",
        "Check SMTP Server and Port Number against the mail server's documented submission settings."),
    kind!(ImplicitTlsPort = "implicit-tls-port", Error, true, false, "Port 465 (implicit TLS) used",
        "The device connects to port 465, where it expects TLS from the first byte. Exchange Online does not offer SMTP submission on 465.",
        "Set Port Number to 587 and the SSL/TLS level to STARTTLS.";
        elsewhere: "Port 465 (implicit TLS) did not work",
        "The device connects to port 465 and starts TLS with the first byte (implicit TLS), and the handshake did not complete: the server does not offer implicit TLS there, or not in a form the device accepts.",
        "Check whether the server offers implicit TLS on port 465; otherwise set Port Number to 587 with the SSL/TLS level STARTTLS."),
    kind!(DnsFailure = "dns-failure", Error, true, false, "The mail server's name did not resolve",
        "A DNS lookup of the mail server's name failed (NXDOMAIN, SERVFAIL, REFUSED or no answer), so the device never knew where to connect: a typo in the server name or a broken DNS setting.",
        "Check the SMTP Server name (a typo is common: the evidence says when the name is one letter or two away from a known mail server) and the device's DNS server settings."),
    kind!(DnsblCheck = "dnsbl-check", Info, false, false, "A receiving server checked an address against a DNS blocklist",
        "A mail server looked up a sending address in a DNS blocklist (the address's bytes reversed under the list's zone): NXDOMAIN means not listed, 127.0.0.x listed, 127.255.255.x that the list refused the query (often because the query came through a public resolver). A listed address is refused by servers that use the list.",
        "Nothing, when not listed. When listed: send through the provider's authenticated submission endpoint (port 587) rather than straight to an MX, or ask the list's operator to delist the address."),
    kind!(PopBeforeSmtp = "pop-before-smtp", Warning, true, false, "A POP3 login precedes SMTP",
        "The device logs in with POP3 before sending (POP before SMTP). Exchange Online removed Basic authentication for POP3; it does not authorise SMTP this way.",
        "Set POP before SMTP to Disabled and enable SMTP Authentication instead.";
        elsewhere: "A POP3 login precedes SMTP",
        "The device logs in with POP3 before sending (POP before SMTP), an old way of authorising SMTP; on port 110 its password crosses the network in clear.",
        "Set POP before SMTP to Disabled and enable SMTP Authentication instead."),
    kind!(ConnectionTestOnly = "connection-test-only", Info, false, false, "Only connection tests, no message",
        "The sessions connect, greet and quit without sending a message, which is what the device's connection test does. A passing test proves only that TCP and the greeting work, not that mail will be accepted.",
        "Send a real test scan to a mailbox and capture that attempt."),
    kind!(MustStarttls = "must-starttls", Error, true, false, "The server requires TLS before this command",
        "The server refused the command until STARTTLS has been done (530 5.7.0 Must issue a STARTTLS command first, 451 5.7.3 STARTTLS is required to send mail): the device has SSL/TLS disabled.",
        "Turn on Enable SSL and set the SSL/TLS level to STARTTLS (port 587)."),
    kind!(AppPasswordRequired = "app-password-required", Error, true, false, "Google requires an app password",
        "Google refused the account's password because the account uses 2-Step Verification (534 5.7.9 Application-specific password required), or asks for a login in a browser first (534 5.7.14).",
        "Create an app password for the account (Google Account → Security → App passwords) and enter it as the Password; or send through smtp-relay.gmail.com with the copier's public IP registered."),
    kind!(SenderDomainUnknown = "sender-domain-unknown", Error, true, false, "The sender address's domain does not exist",
        "The server refused the sender address because its domain is not found in DNS (553 5.1.8 Domain of sender address … does not exist, Sender address rejected: Domain not found).",
        "Set Sender Address to a real address of the mail domain (a typo in the domain is common)."),
    kind!(MailboxUnknown = "mailbox-unknown", Error, true, false, "The recipient address does not exist",
        "The server refused the recipient: no such mailbox (550 5.1.1 User unknown, Recipient not found).",
        "Check the destination address in the copier's address book or on the panel (a typo is common), and that the mailbox exists."),
    kind!(MailboxFull = "mailbox-full", Error, false, false, "A mailbox is full",
        "The server refused the message because the mailbox it was to be stored in (the recipient's, or the sender's Sent Items) is full (5.2.2).",
        "Free space in the mailbox or raise its quota."),
    kind!(MessageTooLarge = "message-too-large", Error, true, false, "The scan is larger than the server accepts",
        "The server refused the message for its size (552 5.3.4 Message size exceeds fixed limit): the scan, encoded for mail, is larger than the server's limit.",
        "Lower the scan resolution or colour mode, use a compressed format (compact PDF), or split the scan; or ask the server's administrator to raise the limit."),
    kind!(TooManyRecipients = "too-many-recipients", Error, false, false, "Too many recipients for one message",
        "The server refused further recipients of the message (452 4.5.3 Too many recipients).",
        "Send to fewer recipients per message, or to a distribution group."),
    kind!(Greylisted = "greylisted", Warning, false, false, "Greylisted: the server asks the device to come back later",
        "The server deferred the message as a first contact (greylisting); a retry after a few minutes is normally accepted.",
        "Let the device retry; if every retry is refused, ask the server's administrator to allow the copier's address."),
    kind!(RateLimited = "rate-limited", Warning, false, false, "Too many connections or messages for now",
        "The server refused for now because of too many connections or messages from this client or mailbox: Exchange Online allows 3 connections at once and 30 messages a minute per mailbox (432 4.3.2 Concurrent connections limit exceeded), and throttles new or busy sending IPs (451 4.7.500–699 Server busy).",
        "Limit the device to one connection at a time and send fewer scans at once; for 451 4.7.5xx retry later or add an inbound connector for the copier's public IP.";
        elsewhere: "Too many connections or messages for now",
        "The server refused for now because of too many connections or messages from this client or mailbox (a connection or rate limit). Retrying soon repeats it.",
        "Limit the device to one connection at a time and send fewer scans at once; if it persists, ask the server's administrator about its limits."),
    kind!(ContentRejected = "content-rejected", Error, false, false, "The message's content was refused",
        "The server refused the message after reading it: a virus or spam filter, or malformed content.",
        "Send a test scan as a plain PDF to the same address; if that passes, the content triggered a filter, and the server's administrator can tell which rule."),
    kind!(Pop3LoginRefused = "pop3-login-refused", Warning, true, false, "The POP3 login was refused",
        "The POP3 server refused the user name or password (-ERR). The device logs in with POP3 before sending (POP before SMTP); Exchange Online no longer accepts Basic authentication for POP3, so this login fails whatever the password.",
        "Set POP before SMTP to Disabled and use SMTP Authentication instead.";
        elsewhere: "The POP3 login was refused",
        "The POP3 server refused the user name or password (-ERR). The device logs in with POP3 before sending (POP before SMTP), so a server that relies on it will refuse the mail too.",
        "Check the POP3 user name and password; better, set POP before SMTP to Disabled and use SMTP Authentication."),
    kind!(Refused = "refused", Error, false, false, "The server refused the attempt",
        "The server's reply refused the attempt, for a reason no more specific finding covers: its evidence quotes the reply and what its enhanced status code means (RFC 3463).",
        "Follow the reply's text; quote it, with its frame, to the mail server's administrator."),
    kind!(NetworkLoss = "network-loss", Warning, false, false, "Packets are being lost on the network",
        "A host sent many of its segments again: packets are lost or badly delayed between the two hosts (a faulty cable, a speed or duplex mismatch, a congested or faulty switch port, Wi-Fi). Loss slows the transfer of a large scan and can make the device give up. Copies the capture itself holds twice (a mirror of both switch ports) are not counted.",
        "Check the copier's cable and switch port (speed and duplex on auto at both ends, the port's error counters), then capture again, if possible at both ends, to see where packets are lost."),
    kind!(CaptureTruncated = "capture-truncated", Warning, false, false, "Packets were cut by the snapshot length",
        "Some packets are shorter in the capture than on the wire, so part of the content cannot be known.",
        "Capture again without a snapshot length (tcpdump -s 0, or dumpcap's default)."),
    kind!(ConflictingRetransmission = "conflicting-retransmission", Warning, false, false, "A retransmission carried different bytes than the first copy",
        "The capture holds two copies of the same TCP bytes that disagree. smtpcap shows the first copy; the receiver may have kept the other, so the dialogue shown may not be what the server (or the device) read. A faulty switch, NIC or middlebox rewriting traffic causes this, and so does deliberate evasion.",
        "Capture again on the device's own switch port (or on the server side) to see which copy reached the receiver, and check the path for a device that rewrites SMTP (an SMTP inspection feature on a firewall, a faulty NIC)."),
    kind!(CaptureIncomplete = "capture-incomplete", Warning, false, false, "The capture misses part of a conversation",
        "The capture started in the middle of a conversation or misses segments, so part of the story cannot be known.",
        "Start the capture before triggering the scan, on a mirror port that sees both directions, and keep it running until the device reports the result."),
    kind!(WrongRegion = "wrong-region", Error, true, true, "Mail sent to the wrong Office 365 region",
        "The server answered 451 4.4.62 … ATTR35: the host used is not the tenant's region (an old MX, an IP literal, or a connector certificate mismatch).",
        "Use smtp.office365.com by name (not an IP address) for submission, or the tenant's current MX host."),
    kind!(RestrictedSender = "restricted-sender", Error, false, true, "The mailbox is restricted from sending",
        "The server answered 550 5.1.8 Access denied, bad outbound sender (or 5.7.501–503): the account was blocked for sending spam, often after its password was stolen.",
        "Release the user at security.microsoft.com/restrictedusers after securing the account, and change the password."),
    kind!(InvalidHelo = "invalid-helo", Error, true, false, "The EHLO name was refused",
        "The server refused the client's EHLO/HELO name (501 5.5.4 Invalid domain name): the device's host name is empty or malformed.",
        "Give the device a valid host name (Network Settings → Network Name / Domain) without spaces or double dots.";
        elsewhere: "The EHLO name was refused",
        "The server refused the client's EHLO/HELO name: not a fully-qualified host name, or malformed (many servers require a name with a domain).",
        "Give the device a fully-qualified host name (Network Settings → Network Name and Domain), without spaces or double dots."),
    kind!(EncryptedNoMessage = "encrypted-no-message", Warning, false, false, "TLS was established but no message followed",
        "The conversation switched to TLS and ended after a few small encrypted records, without a message-sized transfer. This is what a login refused inside TLS (wrong password, SMTP AUTH disabled), a missing login (530 5.7.57 Client not authenticated), a refused sender, or a connection test looks like; the replies themselves are encrypted.",
        "Check that SMTP Authentication is enabled with the full mailbox address and a valid (app) password, and that Sender Address equals that mailbox; the device's job log or the Exchange message trace tells which.";
        elsewhere: "TLS was established but no message followed",
        "The conversation switched to TLS and ended after a few small encrypted records, without a message-sized transfer. This is what a login refused inside TLS, a missing login, a refused sender or a connection test looks like; the replies themselves are encrypted.",
        "Check that SMTP Authentication is enabled with valid credentials and that Sender Address matches the account; the device's job log or the server's log tells which."),
    kind!(EncryptedOutcomeUnknown = "encrypted-outcome-unknown", Info, false, false, "The result is inside TLS",
        "The conversation switched to TLS, so the replies that tell whether the login and the message were accepted are encrypted. smtpcap reports what the sizes of the encrypted records show.",
        "Check the mailbox's message trace in the Exchange admin centre, or the device's job log, for the final result.";
        elsewhere: "The result is inside TLS",
        "The conversation switched to TLS, so the replies that tell whether the login and the message were accepted are encrypted. smtpcap reports what the sizes of the encrypted records show.",
        "Check the server's log, or the device's job log, for the final result."),
}

impl FindingId {
    /// Its catalogue entry (the enum and the catalogue come from one list, in one order).
    pub fn kind(self) -> &'static FindingKind {
        &CATALOGUE[self as usize]
    }
}

impl std::fmt::Display for FindingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for FindingId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        for (i, k) in CATALOGUE.iter().enumerate() {
            assert_eq!(k.id as usize, i, "{} is out of place", k.id);
            assert_eq!(k.id.kind().title, k.title);
        }
        let mut ids: Vec<&str> = CATALOGUE.iter().map(|k| k.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CATALOGUE.len());
        assert!(ids.iter().all(|id| id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())));
    }
}
