//! No password that crossed the wire appears in any output (user names may).

mod common;

use std::path::PathBuf;

const SAMPLE_PASSWORD: &str = "Scan2Mail!2026";

fn forms(secret: &str) -> Vec<String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        secret.to_string(),
        b64.encode(secret),
        b64.encode(format!("\0office@domain.com\0{secret}")),
        serde_json::to_string(secret)
            .unwrap()
            .trim_matches('"')
            .to_string(),
    ]
}

#[test]
fn no_output_holds_a_password() {
    let mut captures: Vec<PathBuf> = common::samples();
    captures.extend(common::public_captures());
    let mut checked_secrets = 0;
    for c in &captures {
        let a = common::analyze(c);
        // Text with transcripts, JSON, JSON Lines and the Markdown escalation report.
        let outputs = common::render_all(&a);
        let mut secrets = forms(SAMPLE_PASSWORD);
        secrets.extend(a.secrets.iter().filter(|s| s.len() >= 4).cloned());
        checked_secrets += a.secrets.len();
        for out in &outputs {
            for s in &secrets {
                assert!(
                    !out.contains(s.as_str()),
                    "{}: output contains the secret {s:?}",
                    c.display()
                );
            }
        }
    }
    // The cleartext AUTH samples and zeek/smtp.pcap carry passwords; they must be found.
    assert!(checked_secrets > 0);
}

#[test]
fn user_names_are_shown() {
    let a = common::analyze("samples/auth-login-cleartext-swaks.pcap.gz".as_ref());
    assert!(common::render(&a).0.contains("user office@domain.com"));
    assert!(a.secrets.iter().any(|s| s == SAMPLE_PASSWORD));
    let p = common::analyze("samples/auth-plain-cleartext-msmtp.pcap".as_ref());
    assert!(common::render(&p)
        .1
        .contains("\"username\": \"office@domain.com\""));
    assert!(p.secrets.iter().any(|s| s == SAMPLE_PASSWORD));
}
