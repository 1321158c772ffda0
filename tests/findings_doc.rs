//! docs/findings.md is the catalogue, rendered. `SMTPCAP_BLESS=1` rewrites it.

use std::fmt::Write as _;

use smtpcap::internals::diagnosis::{Diagnosis, CATALOGUE, SHARP_SMTP, SUPPORTED};

/// How severities, servers and reply texts are handled (docs/findings.md's preamble).
const RULES: &str = r#"## How severity is decided

The severity in the table below is each finding's usual one; the facts of the session
decide it (`src/diagnosis/severity.rs`):

- **Error**: the cause of this failure (the finding that cites the reply that decided it,
  which also leads the session's findings), something that will make delivery fail (the
  tenant MX endpoint, Exchange Online's submission endpoint used without STARTTLS), or a
  credential exposed (`cleartext-credentials`, and `pop-before-smtp` when its POP3
  password crossed in clear).
- **Warning**: unsupported or risky, but it did not stop this attempt: a refusal the
  session got past or that did not decide it, `no-starttls` towards a server on the site
  (private, link-local or the device's own subnet; a recognised cloud provider's server
  never is) or where nothing crossed in clear, TLS 1.0/1.1 towards a server other than
  Exchange Online that accepted it.
- On a session whose message was accepted, only `cleartext-credentials` and `mx-endpoint`
  may be errors.
- **Info**: facts; a connection test alone proves nothing about delivery.

The verdict says what happened first — `DELIVERED`, `SENT INSIDE TLS`, `FAIL: rejected at
STAGE: the reply`, `FAIL: no connection`, `FAIL: the TLS handshake did not complete`, `NOT
SENT` — then the first error (its cause) or warning. Every reply that decided a failure is
cited by a finding: a specific one, or `refused` with the meaning of its enhanced status
code (RFC 3463).

## Servers

Each session's server is recognised (`server_identity` in the JSON, the table's server
column) from its DNS name, greeting and EHLO host names, certificate names and SNI, and
from its banner and reply texts: Exchange Online (`smtp.office365.com`,
`smtp-legacy.office365.com`, `*.outlook.office365.com`, `*.prod.outlook.com`; the tenant MX
`*.mail.protection.outlook.com`, `*.mx.microsoft`; US Government `*.office365.us`;
21Vianet `*.partner.outlook.cn`; reply trailers naming `*.prod.outlook.com` or
`*.prod.protection.outlook.com`), Exchange Server on premises (Exchange's banner under
another name), Google (`smtp.gmail.com`, `smtp-relay.gmail.com`, `- gsmtp` trailers),
Postfix, Exim, Sendmail, OpenSMTPD and IIS SMTP (their banners and reply texts). Findings
about Microsoft 365 (its endpoints, tenant settings, message trace) are made, and worded,
only for Exchange Online servers; other servers get the words under "For a server that is
not Exchange Online", and a Google server its own remedies (app passwords).

## Reply texts: seen in captures, or documented

Refusals are read from their code, enhanced code and text together, with the server's
identity (`src/diagnosis/refusal.rs`; a 4xx policy refusal such as Postfix's default
`454 4.7.1 Relay access denied` is no passing condition). Texts **seen in captures** held
by this repository or beside it: Postfix 3.7 (`samples/postfix/`, recorded here: 454 and
554 relay refusals, `530 5.7.0 Must issue a STARTTLS command first`, `504 5.5.2 …
need fully-qualified hostname`, `552 5.3.4 Error: message file too big`), Sendmail
(`553 5.1.8 … Domain of sender address … does not exist`, `554 5.7.1 Message contains
virus`, in suricata-verify's smtp-data-rejected), AOL (`521 5.2.1 …`), Exim (`503 AUTH
command used when not advertised`), and Exchange Online's texts as the lab simulator
(`scripts/exo_sim.py`) reproduces them from Microsoft's documentation. Texts taken **only
from documentation** (unit-tested in `refusal.rs`, not yet seen on the wire here): Exim's
relay, user and size texts, Sendmail's relay and size texts, OpenSMTPD's, Exchange
Server's, and Google's.

"#;

fn render() -> String {
    let mut out = String::from(
        "# Findings\n\nEvery diagnosis smtpcap reports, by its stable id (`smtpcap findings` lists them). \
Each reported finding also names its session and quotes its evidence: the frames to open in Wireshark \
and the lines they hold. Exit status: 0 when no finding is of error severity, 1 when one is, 2 when a \
capture could not be read (the worst over all captures wins).\n\n",
    );
    let _ = write!(
        out,
        "Settings on a Sharp MX are changed in: {SHARP_SMTP}\n\nThe supported configuration for Microsoft 365: {SUPPORTED}\n\n"
    );
    out.push_str(RULES);
    out.push_str("## The catalogue\n\n| id | severity | title |\n|---|---|---|\n");
    for k in CATALOGUE {
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {} | {} |",
            k.id,
            k.id,
            k.severity.name(),
            k.title
        );
    }
    for k in CATALOGUE {
        let place = if Diagnosis::device_side(k.id) {
            " (on the device: Network Settings → Services Settings → SMTP)"
        } else {
            ""
        };
        let _ = write!(
            out,
            "\n### {}\n\n**{}** — {}\n\n{}\n\n**Fix{place}:** {}\n",
            k.id,
            k.severity.name(),
            k.title,
            k.explanation,
            k.remediation
        );
        if let Some(t) = &k.elsewhere {
            let _ = write!(
                out,
                "\nFor a server that is not Exchange Online — **{}**: {}\n\n**Fix{place}:** {}\n",
                t.title, t.explanation, t.remediation
            );
        }
    }
    out
}

#[test]
fn findings_doc_is_the_catalogue() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/findings.md");
    let text = render();
    if std::env::var_os("SMTPCAP_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "docs/findings.md is out of date: run SMTPCAP_BLESS=1 cargo test --test findings_doc"
    );
}
