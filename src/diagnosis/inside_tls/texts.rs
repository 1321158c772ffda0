//! What each server family answers inside TLS, as templates with typed slots: the
//! acceptances and the documented refusals at each stage (`../shared/docs/`: the m365
//! facts for Exchange Online, the replies-by-server facts and the lab notes for the
//! others). A template's length is its literal text plus each slot's range; the slots
//! are filled from what the capture shows (the banner's host name, the Exchange Online
//! greeting's label, the client's address, the lengths of the user and address records).

use crate::base::Len;
use crate::diagnosis::server::{Provider, ServerIdentity, Software};

/// The server software whose texts are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    ExchangeOnline,
    ExchangeServer,
    Postfix,
    Exim,
    Sendmail,
    OpenSmtpd,
    Gmail,
    /// Texts unknown: the client's behaviour alone reads the login and the envelope.
    Unknown,
}

impl Family {
    /// The family of the server as identified (banner, EHLO, DNS, certificate).
    #[must_use]
    pub fn of(server: &ServerIdentity) -> Family {
        // The software the texts name first: a certificate or a DNS name can say
        // Microsoft 365 while the server that answers is a relay.
        if let Some(f) = Family::of_mta(server.software) {
            return f;
        }
        match (server.provider, server.software) {
            (Provider::ExchangeOnline, _) => Family::ExchangeOnline,
            (Provider::ExchangeOnPremises, _) | (_, Software::Exchange) => Family::ExchangeServer,
            (Provider::Google, _) | (_, Software::Gmail) => Family::Gmail,
            _ => Family::Unknown,
        }
    }

    /// Every family whose texts are known, and the unknown one.
    pub const ALL: [Family; 8] = [
        Family::ExchangeOnline,
        Family::ExchangeServer,
        Family::Postfix,
        Family::Exim,
        Family::Sendmail,
        Family::OpenSmtpd,
        Family::Gmail,
        Family::Unknown,
    ];

    /// The family of a mail transfer agent's software, whatever a certificate or a DNS
    /// name in front of it says.
    #[must_use]
    pub fn of_mta(software: Software) -> Option<Family> {
        match software {
            Software::Postfix => Some(Family::Postfix),
            Software::Exim => Some(Family::Exim),
            Software::Sendmail => Some(Family::Sendmail),
            Software::OpenSmtpd => Some(Family::OpenSmtpd),
            _ => None,
        }
    }

    /// Whether the family offers a SASL mechanism: Exchange Online offers LOGIN and
    /// XOAUTH2 (`250-AUTH LOGIN XOAUTH2`); elsewhere it is the administrator's choice
    /// (`None`).
    #[must_use]
    pub fn offers(self, mechanism: super::Mechanism) -> Option<bool> {
        use super::Mechanism;
        match self {
            Family::ExchangeOnline => {
                Some(matches!(mechanism, Mechanism::Login | Mechanism::OAuth))
            }
            _ => None,
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Family::ExchangeOnline => "Exchange Online",
            Family::ExchangeServer => "Exchange Server",
            Family::Postfix => "Postfix",
            Family::Exim => "Exim",
            Family::Sendmail => "Sendmail",
            Family::OpenSmtpd => "OpenSMTPD",
            Family::Gmail => "Gmail",
            Family::Unknown => "this server",
        }
    }

    /// Every template of the family.
    #[must_use]
    pub fn templates(self) -> &'static [Template] {
        match self {
            Family::ExchangeOnline => EXCHANGE_ONLINE,
            Family::ExchangeServer => EXCHANGE_SERVER,
            Family::Postfix => POSTFIX,
            Family::Exim => EXIM,
            Family::Sendmail => SENDMAIL,
            Family::OpenSmtpd => OPENSMTPD,
            Family::Gmail => GMAIL,
            Family::Unknown => &[],
        }
    }
}

/// What a reply answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Asked {
    /// AUTH LOGIN, or its user name line: a `334` asking for the next line.
    LoginPrompt,
    /// AUTH PLAIN without an initial response: an empty `334`.
    PlainPrompt,
    /// The last line of the credentials (or AUTH with an initial response).
    Credentials,
    Mail,
    Rcpt,
    Data,
    /// The message, after its final dot.
    Message,
    Rset,
    Noop,
    Quit,
}

/// A reply text of a family, with `{slot}`s; `\n` separates the lines of a multi-line
/// reply (each line ends in CRLF on the wire).
#[derive(Clone, Copy, Debug)]
pub struct Template {
    pub to: Asked,
    pub text: &'static str,
}

impl Template {
    /// The reply code.
    #[must_use]
    pub fn code(&self) -> u16 {
        self.text.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0)
    }

    /// The text's pieces in order: literal text and slot names.
    fn parts(&self) -> impl Iterator<Item = Part<'static>> {
        let mut rest = self.text;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let Some(after) = rest.strip_prefix('{') else {
                let end = rest.find('{').unwrap_or(rest.len());
                let (text, tail) = rest.split_at(end);
                rest = tail;
                return Some(Part::Text(text));
            };
            let close = after.find('}').unwrap_or(after.len());
            let (name, tail) = after.split_at(close);
            rest = tail.get(1..).unwrap_or_default();
            Some(Part::Slot(name))
        })
    }

    /// The length on the wire (with each line's CRLF), its slots filled from `slots`.
    #[must_use]
    pub fn len(&self, slots: &Slots) -> Len {
        let lines = self.text.split('\n').count() as u64;
        self.parts()
            .fold(Len::exact(2 * lines), |total, part| match part {
                Part::Text(t) => total.plus(Len::exact(t.len() as u64)),
                Part::Slot(name) => total.plus(slots.get(name)),
            })
    }

    /// An answer to a command out of RFC 5321's order (a recipient before a sender, the
    /// message before a recipient): 503, or a protocol error 5.5.1/5.5.2.
    #[must_use]
    pub fn out_of_sequence(&self) -> bool {
        let enhanced = self.text.get(4..).and_then(|t| t.split(' ').next());
        self.code() == 503 || matches!(enhanced, Some("5.5.1" | "5.5.2"))
    }

    /// The answer to an AUTH mechanism the server does not offer.
    #[must_use]
    pub fn unrecognized_mechanism(&self) -> bool {
        self.code() == 504
    }

    /// The text with each slot shown as `<name>`, for quoting what a length fits.
    #[must_use]
    pub fn shown(&self) -> String {
        self.named().replace('\n', " ")
    }

    /// Each line of the text with its slots shown as `<name>`: what an answer read from
    /// its length is quoted as.
    #[must_use]
    pub fn shown_lines(&self) -> Vec<String> {
        self.named().split('\n').map(str::to_string).collect()
    }

    /// The text with each slot shown as `<name>`, its lines kept.
    fn named(&self) -> String {
        self.parts()
            .map(|part| match part {
                Part::Text(t) => t.to_string(),
                Part::Slot(name) => format!("<{name}>"),
            })
            .collect()
    }

    /// The text with every slot filled by a plausible value, for classifying it as a
    /// refusal the same way a reply seen in clear is.
    #[must_use]
    pub fn example(&self) -> String {
        self.parts()
            .map(|part| match part {
                Part::Text(t) => t,
                Part::Slot("sender" | "rcpt" | "user") => "office@domain.com",
                Part::Slot("trailer") => "[DB8PR0101CA0001.EURPRD01.PROD.OUTLOOK.COM 2026-11-27T07:00:00.000Z 08DD842467C8274D]",
                Part::Slot(_) => "x",
            })
            .collect()
    }
}

/// A piece of a template's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part<'a> {
    Text(&'a str),
    Slot(&'a str),
}

/// The lengths the slots may have in this session.
#[derive(Clone, Copy, Debug)]
pub struct Slots {
    /// The server's host name, from the greeting.
    pub host: Len,
    /// Exchange Online's diagnostic trailer, from the greeting's host label.
    pub trailer: Len,
    /// The sender, the recipient and the login, from their records' lengths.
    pub sender: Len,
    pub rcpt: Len,
    pub user: Len,
    /// The decimal digits of the message's size, from the body's records.
    pub size_digits: Len,
}

impl Slots {
    fn get(&self, name: &str) -> Len {
        match name {
            "host" => self.host,
            "trailer" => self.trailer,
            "sender" => self.sender,
            "rcpt" => self.rcpt,
            "user" => self.user,
            "size" => self.size_digits,
            // Exchange Online's mailbox server (`SA1PR12MB1234.namprd12.prod.outlook.com`).
            "exohost" => Len::range(25, 60),
            // The client's Message-ID, quoted by Exchange's acceptance.
            "msgid" => Len::range(8, 120),
            "internalid" => Len::range(10, 16),
            // `0.311`, `395.236`.
            "secs" => Len::range(5, 8),
            "rate" => Len::range(5, 11),
            // Postfix queue ids: short (hex) or long (`enable_long_queue_ids`).
            "qid" => Len::range(5, 20),
            // Exim message ids: 16 characters up to 4.96, 23 from 4.97.
            "eximid" => Len::range(16, 23),
            // Sendmail's queue id (`3B4F1A0E123456`), OpenSMTPD's message id.
            "smid" => Len::range(12, 18),
            "osid" => Len::range(8, 16),
            // Gmail's session id (`d2e1a72fcca58-7e3e8cb4a1fsm1234567b3a.12`).
            "gsid" => Len::range(20, 60),
            "epoch" => Len::range(10, 10),
            // A refusal's text quoted inside another answer.
            "reason" => Len::range(3, 200),
            _ => Len::range(0, 200),
        }
    }
}

/// The two prompts of AUTH LOGIN (`Username:`, `Password:` in base64), which every family
/// sends.
const LOGIN_PROMPTS: [Template; 2] = [
    Template {
        to: Asked::LoginPrompt,
        text: "334 VXNlcm5hbWU6",
    },
    Template {
        to: Asked::LoginPrompt,
        text: "334 UGFzc3dvcmQ6",
    },
];

macro_rules! templates {
    ($name:ident: $($to:ident $text:literal),* $(,)?) => {
        const $name: &[Template] = &[
            LOGIN_PROMPTS[0],
            LOGIN_PROMPTS[1],
            $(Template { to: Asked::$to, text: $text },)*
        ];
    };
}

templates! { EXCHANGE_ONLINE:
    Credentials "235 2.7.0 Authentication successful",
    Credentials "535 5.7.3 Authentication unsuccessful {trailer}",
    Credentials "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. {trailer}",
    Credentials "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. {trailer}",
    Credentials "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator. {trailer}",
    Credentials "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator. {trailer}",
    Credentials "550 5.7.30 Basic authentication is not supported for Client Submission. {trailer}",
    Credentials "504 5.7.4 Unrecognized authentication type {trailer}",
    Mail "250 2.1.0 Sender OK",
    Mail "530 5.7.57 Client not authenticated to send mail. {trailer}",
    Mail "530 5.7.57 Client not authenticated to send anonymous mail during MAIL FROM {trailer}",
    Mail "550 5.7.60 SMTP; Client does not have permissions to send as this sender {trailer}",
    Mail "550 5.1.8 Access denied, bad outbound sender {trailer}",
    // A SIZE= above the limit: Exchange's documented text; whether Exchange Online adds
    // its trailer there is [U], so both.
    Mail "552 5.3.4 Message size exceeds fixed maximum message size",
    Mail "552 5.3.4 Message size exceeds fixed maximum message size {trailer}",
    Rcpt "250 2.1.5 Recipient OK",
    Rcpt "550 5.1.8 Access denied, bad outbound sender {trailer}",
    Rcpt "452 4.5.3 Too many recipients {trailer}",
    // The answers to a pipelined group whose MAIL or RCPT were refused (Exchange's texts
    // as the look-alike sends them, [U] for Exchange Online).
    Rcpt "503 5.5.1 Bad sequence of commands {trailer}",
    Data "503 5.5.2 Need rcpt command {trailer}",
    Data "354 Start mail input; end with <CRLF>.<CRLF>",
    Message "250 2.0.0 OK <{msgid}> [Hostname={exohost}]",
    Message "250 2.6.0 <{msgid}> [InternalId={internalid}, Hostname={exohost}] {size} bytes in {secs}, {rate} KB/sec Queued mail for delivery",
    Message "554 5.2.252 SendAsDenied; {user} not allowed to send as {sender}; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message. {trailer}",
    Message "552 5.3.4 Message size exceeds fixed maximum message size {trailer}",
    Rset "250 2.0.0 Resetting",
    Noop "250 2.0.0 OK",
    Quit "221 2.0.0 Service closing transmission channel",
}

templates! { EXCHANGE_SERVER:
    Credentials "235 2.7.0 Authentication successful",
    Credentials "535 5.7.3 Authentication unsuccessful",
    Mail "250 2.1.0 Sender OK",
    Mail "530 5.7.1 Client was not authenticated",
    Mail "552 5.3.4 Message size exceeds fixed maximum message size",
    Rcpt "250 2.1.5 Recipient OK",
    Rcpt "550 5.7.1 Unable to relay",
    Rcpt "550 5.1.1 User unknown",
    Rcpt "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
    Data "354 Start mail input; end with <CRLF>.<CRLF>",
    Message "250 2.6.0 <{msgid}> [InternalId={internalid}, Hostname={host}] Queued mail for delivery",
    Message "250 2.6.0 <{msgid}> [InternalId={internalid}, Hostname={host}] {size} bytes in {secs}, {rate} KB/sec Queued mail for delivery",
    Message "550 5.7.1 Client does not have permissions to send as this sender",
    Message "552 5.3.4 Message size exceeds fixed maximum message size",
    Rset "250 2.0.0 Resetting",
    Noop "250 2.0.0 OK",
    Quit "221 2.0.0 Service closing transmission channel",
}

templates! { POSTFIX:
    PlainPrompt "334 ",
    Credentials "235 2.7.0 Authentication successful",
    Credentials "535 5.7.8 Error: authentication failed: authentication failure",
    Credentials "535 5.7.8 Error: authentication failed: (reason unavailable)",
    Credentials "535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6",
    Credentials "535 5.7.8 Error: authentication failed: Invalid authentication mechanism",
    Credentials "503 5.5.1 Error: authentication not enabled",
    Mail "250 2.1.0 Ok",
    Mail "552 5.3.4 Message size exceeds fixed limit",
    // The sender restrictions answer at RCPT: smtpd_delay_reject=yes is the default.
    Rcpt "250 2.1.5 Ok",
    Rcpt "454 4.7.1 <{rcpt}>: Relay access denied",
    Rcpt "554 5.7.1 <{rcpt}>: Relay access denied",
    Rcpt "553 5.7.1 <{sender}>: Sender address rejected: not logged in",
    Rcpt "553 5.7.1 <{sender}>: Sender address rejected: not owned by user {user}",
    Rcpt "450 4.1.8 <{sender}>: Sender address rejected: Domain not found",
    Rcpt "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in local recipient table",
    Rcpt "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
    Rcpt "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in relay recipient table",
    Rcpt "452 4.5.3 Error: too many recipients",
    Rcpt "503 5.5.1 Error: need MAIL command",
    Data "354 End data with <CR><LF>.<CR><LF>",
    Data "554 5.5.1 Error: no valid recipients",
    Data "503 5.5.1 Error: need RCPT command",
    Message "250 2.0.0 Ok: queued as {qid}",
    Message "552 5.3.4 Error: message file too big",
    Message "451 4.3.0 Error: queue file write error",
    Rset "250 2.0.0 Ok",
    Noop "250 2.0.0 Ok",
    Quit "221 2.0.0 Bye",
}

templates! { EXIM:
    PlainPrompt "334 ",
    Credentials "235 Authentication succeeded",
    Credentials "535 Incorrect authentication data",
    Credentials "435 Unable to authenticate at present",
    Credentials "503 AUTH command used when not advertised",
    Mail "250 OK",
    Mail "552 Message size exceeds maximum permitted",
    Mail "550 Administrative prohibition",
    Rcpt "250 Accepted",
    Rcpt "550 relay not permitted",
    Rcpt "550 Relay not permitted",
    Rcpt "550 Unknown user",
    Rcpt "550 Unrouteable address",
    Rcpt "550 Administrative prohibition",
    Rcpt "503 sender not yet given",
    Data "354 Enter message, ending with \".\" on a line by itself",
    Data "503 Valid RCPT command must precede DATA",
    // After a pipelined group whose recipients were all refused, quoting the refusal.
    Data "503-All RCPT commands were rejected with this error:\n503-{reason}\n503 Valid RCPT command must precede DATA",
    Message "250 OK id={eximid}",
    Message "552 Message size exceeds maximum permitted",
    Message "550 Administrative prohibition",
    Rset "250 Reset OK",
    Noop "250 OK",
    Quit "221 {host} closing connection",
}

templates! { SENDMAIL:
    PlainPrompt "334 ",
    Credentials "235 2.0.0 OK Authenticated",
    Credentials "535 5.7.0 authentication failed",
    Credentials "454 4.5.4 Temporary authentication failure",
    Mail "250 2.1.0 <{sender}>... Sender ok",
    Mail "530 5.7.0 Authentication required",
    Mail "553 5.1.8 <{sender}>... Domain of sender address {sender} does not exist",
    Mail "552 5.2.3 Message size exceeds fixed maximum message size ({size})",
    Rcpt "250 2.1.5 <{rcpt}>... Recipient ok",
    Rcpt "550 5.7.1 <{rcpt}>... Relaying denied",
    Rcpt "550 5.7.1 <{rcpt}>... Relaying denied. Proper authentication required.",
    Rcpt "550 5.1.1 <{rcpt}>... User unknown",
    Data "354 Enter mail, end with \".\" on a line by itself",
    Message "250 2.0.0 {smid} Message accepted for delivery",
    Message "552 5.2.3 Message exceeds maximum fixed size ({size})",
    Rset "250 2.0.0 Reset state",
    Noop "250 2.0.0 OK",
    Quit "221 2.0.0 {host} closing connection",
}

templates! { OPENSMTPD:
    PlainPrompt "334 ",
    Credentials "235 2.0.0 Authentication succeeded",
    Credentials "535 Authentication failed",
    Mail "250 2.0.0 Ok",
    Mail "530 5.5.1 Invalid command: Must issue an AUTH command first",
    Mail "530 Sender rejected",
    Mail "452 4.5.3 Too many recipients: Too many messages sent",
    Rcpt "250 2.1.5 Destination address valid: Recipient ok",
    Rcpt "550 Invalid recipient: <{rcpt}>",
    Rcpt "451 4.5.3 Too many recipients: Too many recipients",
    Data "354 Enter mail, end with \".\" on a line by itself",
    Message "250 2.0.0 {osid} Message accepted for delivery",
    Message "554 5.3.4 Message too big for system: Transaction failed, message too big",
    Rset "250 2.0.0 Reset state",
    Noop "250 2.0.0 Ok",
    Quit "221 2.0.0 Bye",
}

templates! { GMAIL:
    PlainPrompt "334 ",
    Credentials "235 2.7.0 Accepted",
    Credentials "535-5.7.8 Username and Password not accepted. For more information, go to\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials {gsid} - gsmtp",
    Credentials "534-5.7.9 Application-specific password required. For more information, go to\n534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor {gsid} - gsmtp",
    Credentials "535-5.7.8 Username and Password not accepted. Learn more at\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials {gsid} - gsmtp",
    Credentials "534-5.7.9 Application-specific password required. Learn more at\n534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor {gsid} - gsmtp",
    Mail "250 2.1.0 OK {gsid} - gsmtp",
    Rcpt "250 2.1.5 OK {gsid} - gsmtp",
    Data "354 Go ahead {gsid} - gsmtp",
    Message "250 2.0.0 OK  {epoch} {gsid} - gsmtp",
    Message "552-5.3.4 Your message exceeded Google's message size limits. For more information, go to\n552 5.3.4  https://support.google.com/mail/?p=MaxSizeError {gsid} - gsmtp",
    Rset "250 2.1.5 Flushed {gsid} - gsmtp",
    Noop "250 2.0.0 OK {gsid} - gsmtp",
    Quit "221 2.0.0 closing connection {gsid} - gsmtp",
}
