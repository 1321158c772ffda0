//! `basic-auth-deadline`: every session that logged in to Exchange Online's submission
//! endpoint with AUTH LOGIN and did not fail carries it (decrypted with the recording's
//! key log, or read from the encrypted record lengths); no other server's, no failed
//! session's, and never beside `basic-auth-retired`.

mod common;

use smtpcap::internals::analysis::Analysis;
use smtpcap::internals::diagnosis::server::Endpoint;
use smtpcap::internals::diagnosis::{diagnose, Basis, Outcome, Severity};

/// Checks one analysis; counts the sessions that carry the warning, by basis.
fn check(name: &str, a: &Analysis, counts: &mut [usize; 3], wrong: &mut Vec<String>) {
    let d = diagnose(a);
    for (sd, findings) in d.sessions.iter().zip(&d.session_findings) {
        let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
        let has = ids.contains(&"basic-auth-deadline");
        let exo_submission = sd.server_identity.is_exchange_online()
            && matches!(
                sd.server_identity.endpoint,
                Endpoint::Submission | Endpoint::LegacySubmission
            );
        // `LOGIN`, or `LOGIN, read from the encrypted record lengths`.
        let login = sd
            .settings
            .auth
            .as_deref()
            .is_some_and(|a| a.split([',', ' ']).next() == Some("LOGIN"));
        let works = matches!(
            sd.outcome,
            Outcome::Delivered | Outcome::TestOnly | Outcome::EncryptedMessageTransferred
        );
        let retired = ids.contains(&"basic-auth-retired");
        let want = exo_submission && login && works && !retired;
        if has != want {
            wrong.push(format!(
                "{name}: {} {:?} auth {:?}: {ids:?}",
                sd.server_identity.label(),
                sd.outcome,
                sd.settings.auth
            ));
        }
        if has {
            let f = findings
                .iter()
                .find(|f| f.id.as_str() == "basic-auth-deadline")
                .unwrap();
            assert_eq!(f.severity, Severity::Warning, "{name}");
            assert!(f.explanation.contains("December 2026"), "{name}");
            counts[match sd.basis {
                Basis::Observed => 0,
                Basis::Decrypted => 1,
                Basis::Inferred => 2,
            }] += 1;
        }
    }
}

#[test]
fn the_deadline_is_on_every_working_exchange_online_basic_login_and_nowhere_else() {
    let mut counts = [0usize; 3];
    let mut wrong = Vec::new();
    for p in common::samples() {
        check(
            &p.display().to_string(),
            &common::analyze(&p),
            &mut counts,
            &mut wrong,
        );
    }
    for p in common::keyed_samples() {
        let keys = common::keylog_of(&p).unwrap();
        let name = format!("{} (decrypted)", p.display());
        check(
            &name,
            &common::analyze_with(&p, keys),
            &mut counts,
            &mut wrong,
        );
    }
    for p in common::all_public_captures() {
        check(
            &p.display().to_string(),
            &common::analyze(&p),
            &mut counts,
            &mut wrong,
        );
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let [_, decrypted, inferred] = counts;
    assert!(
        decrypted >= 5 && inferred >= 5,
        "decrypted {decrypted}, inferred {inferred}"
    );
}
