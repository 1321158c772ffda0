//! Only the device's failed look-ups of its mail server count as a DNS failure. A
//! receiving server's blocklist, reverse and DKIM queries do not; its blocklist answers
//! show as facts ("… checked 192.168.36.1 against bl.mailspike.net: not listed").

mod common;

use std::io::Cursor;
use std::net::Ipv4Addr;

use common::craft::{Addr, Capture};
use simple_dns::rdata::{RData, A};
use simple_dns::{Name, Packet, Question, ResourceRecord, CLASS, QCLASS, QTYPE, RCODE, TYPE};
use smtpcap::internals::analysis::analyze_bytes;
use smtpcap::internals::diagnosis::{diagnose, Diagnosis, Severity};

const DEVICE: [u8; 4] = [192, 168, 36, 1];
const SERVER: [u8; 4] = [192, 168, 36, 10];
const RESOLVER: Addr = ([192, 168, 36, 53], 53);

/// A query of `name` (`qtype`) from `from`, and its answer: `rcode`, with an A record
/// when `address` is given.
fn lookup(
    cap: &mut Capture,
    from: Addr,
    id: u16,
    name: &str,
    qtype: TYPE,
    rcode: RCODE,
    address: Option<Ipv4Addr>,
) {
    let mut q = Packet::new_query(id);
    q.questions.push(Question::new(
        Name::new_unchecked(name),
        QTYPE::TYPE(qtype),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    let query = q.build_bytes_vec().unwrap();
    let mut r = q.into_reply();
    *r.rcode_mut() = rcode;
    if let Some(a) = address {
        r.answers.push(ResourceRecord::new(
            Name::new_unchecked(name),
            CLASS::IN,
            60,
            RData::A(A::from(a)),
        ));
    }
    let reply = r.build_bytes_vec().unwrap();
    cap.udp(from, RESOLVER, &query);
    cap.udp(RESOLVER, from, &reply);
}

fn delivery(cap: &mut Capture) {
    let mut turns = vec![
        "S: 220 mail.example.test ESMTP Postfix",
        "C: EHLO mx-4070n.example.test",
        "S: 250-mail.example.test",
        "S: 250 8BITMIME",
    ];
    turns.extend(common::craft::ENVELOPE_AND_MESSAGE);
    cap.tcp((DEVICE, 40000), (SERVER, 25), &turns);
}

fn findings(cap: &Capture) -> (Diagnosis, Vec<(String, Severity, Vec<String>)>) {
    let a = analyze_bytes("crafted", Cursor::new(cap.pcap()));
    assert!(a.error.is_none(), "{:?}", a.error);
    let d = diagnose(&a);
    let list = d
        .session_findings
        .iter()
        .flatten()
        .chain(&d.capture_findings)
        .map(|f| {
            (
                f.id.as_str().to_string(),
                f.severity,
                f.evidence.iter().map(|e| e.text.clone()).collect(),
            )
        })
        .collect();
    (d, list)
}

#[test]
fn a_receiving_servers_lookups_are_not_the_devices_dns_failure() {
    let mut cap = Capture::new();
    let server = (SERVER, 33000);
    delivery(&mut cap);
    lookup(
        &mut cap,
        server,
        1,
        "1.36.168.192.bl.mailspike.net",
        TYPE::A,
        RCODE::NameError,
        None,
    );
    lookup(
        &mut cap,
        server,
        2,
        "1.36.168.192.zen.spamhaus.org",
        TYPE::A,
        RCODE::NoError,
        Some(Ipv4Addr::new(127, 255, 255, 254)),
    );
    lookup(
        &mut cap,
        server,
        3,
        "1.36.168.192.in-addr.arpa",
        TYPE::PTR,
        RCODE::NameError,
        None,
    );
    lookup(
        &mut cap,
        server,
        4,
        "s1._domainkey.mail.example.test",
        TYPE::TXT,
        RCODE::NameError,
        None,
    );
    lookup(
        &mut cap,
        server,
        5,
        "mail.nowhere.invalid",
        TYPE::A,
        RCODE::NameError,
        None,
    );
    // The device's own reverse look-up of the server: no failure either.
    lookup(
        &mut cap,
        (DEVICE, 33001),
        6,
        "10.36.168.192.in-addr.arpa",
        TYPE::PTR,
        RCODE::NameError,
        None,
    );
    let (d, list) = findings(&cap);
    assert_eq!(d.sessions[0].outcome.name(), "delivered");
    assert!(
        !list
            .iter()
            .any(|(id, sev, _)| id == "dns-failure" || *sev == Severity::Error),
        "{list:#?}"
    );
    let facts: Vec<&String> = list
        .iter()
        .filter(|(id, _, _)| id == "dnsbl-check")
        .flat_map(|(_, sev, ev)| {
            assert_eq!(*sev, Severity::Info);
            ev
        })
        .collect();
    assert_eq!(
        facts,
        [
            "the mail server 192.168.36.10 checked 192.168.36.1 against bl.mailspike.net: not listed",
            "the mail server 192.168.36.10 checked 192.168.36.1 against zen.spamhaus.org: the list refused the query",
        ]
    );
}

#[test]
fn a_listed_address_is_a_warning_and_the_devices_failed_lookup_still_counts() {
    let mut cap = Capture::new();
    lookup(
        &mut cap,
        (DEVICE, 33001),
        7,
        "smtp.ofice365.com",
        TYPE::A,
        RCODE::NameError,
        None,
    );
    delivery(&mut cap);
    lookup(
        &mut cap,
        (SERVER, 33000),
        1,
        "1.36.168.192.zen.spamhaus.org",
        TYPE::A,
        RCODE::NoError,
        Some(Ipv4Addr::new(127, 0, 0, 4)),
    );
    let (_, list) = findings(&cap);
    let failure = list
        .iter()
        .find(|(id, _, _)| id == "dns-failure")
        .expect("the device's failure");
    assert!(
        failure
            .2
            .iter()
            .any(|t| t.contains("did you mean smtp.office365.com")),
        "{failure:?}"
    );
    let listed = list.iter().find(|(id, _, _)| id == "dnsbl-check").unwrap();
    assert_eq!(listed.1, Severity::Warning);
    assert_eq!(
        listed.2,
        ["the mail server 192.168.36.10 checked 192.168.36.1 against zen.spamhaus.org: listed (127.0.0.4)"]
    );
}
