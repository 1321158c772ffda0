//! Every sample's JSON equals its reviewed expected output in samples/expected/.
//! `SMTPCAP_BLESS=1 cargo test --test samples` rewrites them (review the diff).

mod common;

#[test]
fn every_sample_matches_its_expected_json() {
    let bless = std::env::var_os("SMTPCAP_BLESS").is_some();
    let samples = common::samples();
    assert!(
        samples.len() >= 18,
        "samples/ holds {} captures",
        samples.len()
    );
    let mut failures = Vec::new();
    for s in &samples {
        let a = common::analyze(s);
        let json = common::render(&a).1;
        let name = s
            .strip_prefix("samples")
            .unwrap()
            .to_string_lossy()
            .trim_start_matches('/')
            .replace('/', "--");
        let expected_path = common::root()
            .join("samples/expected")
            .join(format!("{name}.json"));
        if bless {
            std::fs::write(&expected_path, format!("{json}\n")).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
            panic!(
                "{} missing: run with SMTPCAP_BLESS=1",
                expected_path.display()
            )
        });
        if expected.trim_end() != json.trim_end() {
            failures.push(name);
        }
    }
    assert!(
        failures.is_empty(),
        "output differs from samples/expected for: {failures:?}"
    );
}

#[test]
fn every_sample_is_read_whole_and_has_an_smtp_session() {
    for s in common::samples() {
        let a = common::analyze(&s);
        assert!(a.error.is_none(), "{}: {:?}", s.display(), a.error);
        let dns_only = s.ends_with("scenarios/dns-typo.pcap");
        assert!(
            dns_only || !a.sessions.is_empty(),
            "{}: no session",
            s.display()
        );
        // An SMTP 220 or a POP3 +OK greeting, or implicit TLS (the greeting encrypted).
        let greeted = |x: &smtpcap::internals::analysis::Session| {
            let implicit_tls = matches!(
                x.dialogue.first().map(|e| &e.kind),
                Some(smtpcap::internals::dialogue::EntryKind::Tls { .. })
            );
            implicit_tls
                || x.dialogue.iter().any(|e| {
                    e.reply_code() == Some(220)
                        || matches!(&e.kind, smtpcap::internals::dialogue::EntryKind::Status { status, .. } if status == "+OK")
                })
        };
        assert!(
            a.sessions.iter().all(|x| x.tcp.mid_stream
                || x.tcp.handshake != smtpcap::internals::tcp::Handshake::Complete
                || greeted(x)),
            "{}",
            s.display()
        );
    }
}

#[test]
fn link_types_and_formats_are_recognised() {
    let cases = [
        ("samples/sll2-any-swaks.pcap", "pcap", "LINUX_SLL2"),
        ("samples/ipv6-starttls-swaks.pcapng", "pcapng", "ETHERNET"),
        ("samples/vlan-tagged-swaks.pcap", "pcap", "ETHERNET"),
        (
            "samples/auth-login-cleartext-swaks.pcap.gz",
            "pcap",
            "ETHERNET",
        ),
    ];
    for (path, format, link) in cases {
        let a = common::analyze(path.as_ref());
        assert_eq!(a.format, Some(format), "{path}");
        assert_eq!(a.link_types, vec![link.to_string()], "{path}");
        assert_eq!(a.sessions.len(), 1, "{path}");
    }
    assert_eq!(
        common::analyze("samples/auth-login-cleartext-swaks.pcap.gz".as_ref()).compression,
        Some("gzip")
    );
}

#[test]
fn vlan_and_ipv6_sessions_have_their_addresses() {
    let a = common::analyze("samples/ipv6-starttls-swaks.pcapng".as_ref());
    assert_eq!(a.sessions[0].server.ip.to_string(), "2001:db8::25");
    let v = common::analyze("samples/vlan-tagged-swaks.pcap".as_ref());
    assert_eq!(v.sessions[0].server.ip.to_string(), "192.0.2.25");
    assert_eq!(
        v.sessions[0].dialogue.len(),
        common::analyze("samples/plain-mx-swaks.pcap".as_ref()).sessions[0]
            .dialogue
            .len()
    );
}
