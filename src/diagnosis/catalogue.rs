use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// 0 for errors, 1 for warnings, 2 for information.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One entry of the catalogue: what a finding means and what to change.
pub struct FindingKind {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub explanation: &'static str,
    pub remediation: &'static str,
}

/// Where the Sharp MX keeps its SMTP settings (the seed guide).
pub const SHARP_SMTP: &str = "On the copier's web page (Embedded Web Server), log in as administrator and open \
Network Settings → Services Settings → SMTP (not Quick Settings, which lacks port, TLS and authentication options).";

/// The supported configuration, as the seed guide lists it.
pub const SUPPORTED: &str = "SMTP Server smtp.office365.com, Port Number 587, Enable SSL on with SSL/TLS level \
STARTTLS, SMTP Authentication enabled, User Name the full mailbox address, Password an app password or the \
mailbox password, Sender Address the same mailbox, POP before SMTP disabled.";

macro_rules! kind {
    ($id:literal, $sev:ident, $title:literal, $expl:literal, $fix:literal) => {
        FindingKind {
            id: $id,
            severity: Severity::$sev,
            title: $title,
            explanation: $expl,
            remediation: $fix,
        }
    };
}

/// Every diagnosis smtpcap can make. Ids are stable; docs/findings.md is generated from this.
pub const CATALOGUE: &[FindingKind] = &[
    kind!("mx-endpoint", Error, "Sending to an inbound MX endpoint instead of smtp.office365.com:587",
        "The device talks to the tenant's MX host (*.mail.protection.outlook.com or *.mx.microsoft), which is built for inbound mail: it does not accept SMTP authentication, enforces IP reputation (Spamhaus and Microsoft filtering) and only accepts mail for the tenant's own domains. A connection test can pass here while real sends fail.",
        "Set SMTP Server to smtp.office365.com and Port Number to 587, with STARTTLS and SMTP Authentication enabled."),
    kind!("no-starttls", Error, "STARTTLS offered but never used",
        "The server advertised STARTTLS and the client went on in clear text: the device has SSL/TLS disabled. Exchange Online requires TLS 1.2 or later before authentication, and anything sent in clear (credentials included) can be read on the network.",
        "Turn on Enable SSL and set the SSL/TLS level to STARTTLS (port 587)."),
    kind!("auth-not-offered", Error, "AUTH sent although the server did not offer it",
        "The client sent AUTH where the server had not advertised it: before STARTTLS (Exchange Online offers AUTH only after TLS) or on an MX endpoint, which never accepts authentication. The reply is typically 504 5.7.4 Unrecognized authentication type.",
        "Use smtp.office365.com on port 587 with STARTTLS enabled, so that authentication happens inside TLS."),
    kind!("cleartext-credentials", Error, "A password crossed the network unencrypted",
        "A password (SMTP AUTH or POP3 PASS) was sent without TLS; anyone on the path can read it (smtpcap withholds it from its output). Treat the password as exposed.",
        "Enable STARTTLS before authentication, then change the mailbox password (or revoke the app password)."),
    kind!("not-authenticated", Error, "Mail refused because the client did not authenticate",
        "The submission endpoint refused the sender because the session was not authenticated (530 5.7.57 Client not authenticated to send mail). Microsoft 365 does not accept unauthenticated mail on smtp.office365.com.",
        "Enable SMTP Authentication and enter the full mailbox address and its (app) password."),
    kind!("auth-failed", Error, "Credentials refused",
        "The server refused the user name or password (535 5.7.3 Authentication unsuccessful): a wrong password, a blocked account, or SMTP AUTH disabled for the mailbox.",
        "Check the user name (the full mailbox address) and the password; confirm Authenticated SMTP is enabled for the mailbox in the Microsoft 365 admin centre."),
    kind!("smtp-auth-disabled", Error, "SMTP AUTH disabled for the tenant or mailbox, or blocked by policy",
        "The server refused authentication with 535 5.7.139: SMTP client authentication is disabled for the tenant or the mailbox, or blocked by security defaults, an authentication policy or Conditional Access.",
        "In Exchange Online enable SMTP AUTH (Set-CASMailbox -SmtpClientAuthenticationDisabled $false for the mailbox, or the tenant setting), and exclude the account from security defaults or Conditional Access blocks of legacy authentication."),
    kind!("basic-auth-retired", Error, "Basic authentication no longer accepted for client submission",
        "The server answered 550 5.7.30 Basic authentication is not supported for Client Submission: user name and password logins are switched off for SMTP submission. Sharp MX devices of this generation do not support OAuth.",
        "Re-enable Basic authentication for SMTP AUTH where the tenant still allows it, or send through an inbound connector relay or Direct Send instead of authenticated submission."),
    kind!("send-as-denied", Error, "The sender address is not the authenticated mailbox",
        "The server refused the sender (550 5.7.60 or 554 5.2.252 SendAsDenied): the MAIL FROM or header From address differs from the mailbox that logged in.",
        "Set Sender Address to exactly the mailbox used as User Name, or grant that mailbox Send As rights on the address."),
    kind!("ip-blocklisted", Error, "The sending IP address is on a blocklist",
        "The server refused mail because the public IP address is listed (550 5.7.1 … blocked using Spamhaus, 5.7.606–649 banned sending IP, 5.7.708, 5.7.750). This happens on the MX endpoint; residential and cellular ISP ranges are commonly listed.",
        "Use authenticated submission (smtp.office365.com:587), which does not depend on IP reputation; otherwise request delisting."),
    kind!("relay-denied", Error, "Relaying refused",
        "The server refused to relay to the recipient (550 5.7.54, 550 5.7.64, 550 5.7.68, or relay access denied): the MX endpoint only takes mail for the tenant's domains unless a connector matches the sender.",
        "Use authenticated submission (smtp.office365.com:587), or configure an inbound connector for the device's static public IP."),
    kind!("temporary-failure", Warning, "A temporary failure (4xx)",
        "The server answered with a transient 4xx reply (greylisting, 451 4.7.500 throttling, 432 4.3.2 too many connections, 421 service not available). The device may succeed on a later try, but repeated 4xx replies mean it will not.",
        "Retry later; if it persists, follow the reply text (for 432 4.3.2, limit the device to one connection at a time)."),
    kind!("tls-version-too-old", Error, "TLS version too old for Exchange Online",
        "The client offered nothing newer than TLS 1.1, or the server answered 421 4.7.66. Exchange Online requires TLS 1.2 or later for SMTP AUTH.",
        "Update the copier's firmware so that it supports TLS 1.2; as a stop-gap only, the tenant can opt in to smtp-legacy.office365.com."),
    kind!("tls-handshake-failed", Error, "The TLS handshake failed",
        "The STARTTLS or implicit TLS handshake did not complete: an alert (no common cipher, untrusted certificate) or a close right after the client's hello.",
        "Update the firmware and the device's trusted root certificates (Exchange Online uses DigiCert Global Root G2); check the device clock."),
    kind!("port-blocked", Error, "SYNs to the server go unanswered",
        "The client's connection attempts got no answer at all: a firewall or the ISP drops the traffic (port 25 is commonly blocked by ISPs; unanswered SYNs to 587 point to a local firewall).",
        "Allow outbound TCP 587 to smtp.office365.com on the site's firewall, and use port 587 rather than 25."),
    kind!("connection-refused", Error, "The server refused the connection",
        "The server answered the SYN with a reset: nothing listens on that port at that address (a wrong server name or port).",
        "Set SMTP Server to smtp.office365.com and Port Number to 587."),
    kind!("implicit-tls-port", Error, "Port 465 (implicit TLS) used",
        "The device connects to port 465, where it expects TLS from the first byte. Exchange Online does not offer SMTP submission on 465.",
        "Set Port Number to 587 and the SSL/TLS level to STARTTLS."),
    kind!("dns-failure", Error, "The mail server's name did not resolve",
        "A DNS lookup of the mail server's name failed (NXDOMAIN, SERVFAIL, REFUSED or no answer), so the device never knew where to connect: a typo in the server name or a broken DNS setting.",
        "Check the SMTP Server name (smtp.office365.com) and the device's DNS server settings."),
    kind!("pop-before-smtp", Warning, "A POP3 login precedes SMTP",
        "The device logs in with POP3 before sending (POP before SMTP). Exchange Online removed Basic authentication for POP3; it does not authorise SMTP this way.",
        "Set POP before SMTP to Disabled and enable SMTP Authentication instead."),
    kind!("connection-test-only", Info, "Only connection tests, no message",
        "The sessions connect, greet and quit without sending a message, which is what the device's connection test does. A passing test proves only that TCP and the greeting work, not that mail will be accepted.",
        "Send a real test scan to a mailbox and capture that attempt."),
    kind!("capture-truncated", Warning, "Packets were cut by the snapshot length",
        "Some packets are shorter in the capture than on the wire, so part of the content cannot be known.",
        "Capture again without a snapshot length (tcpdump -s 0, or dumpcap's default)."),
    kind!("conflicting-retransmission", Warning, "A retransmission carried different bytes than the first copy",
        "The capture holds two copies of the same TCP bytes that disagree. smtpcap shows the first copy; the receiver may have kept the other, so the dialogue shown may not be what the server (or the device) read. A faulty switch, NIC or middlebox rewriting traffic causes this, and so does deliberate evasion.",
        "Capture again on the device's own switch port (or on the server side) to see which copy reached the receiver, and check the path for a device that rewrites SMTP (an SMTP inspection feature on a firewall, a faulty NIC)."),
    kind!("capture-incomplete", Warning, "The capture misses part of a conversation",
        "The capture started in the middle of a conversation or misses segments, so part of the story cannot be known.",
        "Start the capture before triggering the scan, on a mirror port that sees both directions, and keep it running until the device reports the result."),
    kind!("wrong-region", Error, "Mail sent to the wrong Office 365 region",
        "The server answered 451 4.4.62 … ATTR35: the host used is not the tenant's region (an old MX, an IP literal, or a connector certificate mismatch).",
        "Use smtp.office365.com by name (not an IP address) for submission, or the tenant's current MX host."),
    kind!("restricted-sender", Error, "The mailbox is restricted from sending",
        "The server answered 550 5.1.8 Access denied, bad outbound sender (or 5.7.501–503): the account was blocked for sending spam, often after its password was stolen.",
        "Release the user at security.microsoft.com/restrictedusers after securing the account, and change the password."),
    kind!("invalid-helo", Error, "The EHLO name was refused",
        "The server refused the client's EHLO/HELO name (501 5.5.4 Invalid domain name): the device's host name is empty or malformed.",
        "Give the device a valid host name (Network Settings → Network Name / Domain) without spaces or double dots."),
    kind!("encrypted-no-message", Warning, "TLS was established but no message followed",
        "The conversation switched to TLS and ended after a few small encrypted records, without a message-sized transfer. This is what a login refused inside TLS (wrong password, SMTP AUTH disabled), a missing login (530 5.7.57 Client not authenticated), a refused sender, or a connection test looks like; the replies themselves are encrypted.",
        "Check that SMTP Authentication is enabled with the full mailbox address and a valid (app) password, and that Sender Address equals that mailbox; the device's job log or the Exchange message trace tells which."),
    kind!("encrypted-outcome-unknown", Info, "The result is inside TLS",
        "The conversation switched to TLS, so the replies that tell whether the login and the message were accepted are encrypted. smtpcap reports what the sizes of the encrypted records show.",
        "Check the mailbox's message trace in the Exchange admin centre, or the device's job log, for the final result."),
];

pub fn kind(id: &str) -> Option<&'static FindingKind> {
    CATALOGUE.iter().find(|k| k.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut ids: Vec<&str> = CATALOGUE.iter().map(|k| k.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CATALOGUE.len());
        assert!(ids.iter().all(|id| id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())));
    }
}
