//! The classic pcap variants libpcap and Wireshark read (patched tcpdump's record
//! headers in either byte order, Red Hat 6.1's, Nokia's, an FCS length in the link-type
//! field) give the same report as the standard file they were written from; only the
//! format's name differs.

mod common;

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use smtpcap::internals::analysis::analyze_bytes;

/// The JSON report without what names the file rather than its content.
fn report_of(a: &smtpcap::internals::analysis::Analysis) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(&common::render(a).1).unwrap();
    for key in ["file", "format", "compression"] {
        v.as_object_mut().unwrap().remove(key);
    }
    v
}

fn format_of(a: &smtpcap::internals::analysis::Analysis) -> String {
    a.format.unwrap_or_default().to_string()
}

/// The samples in the standard microsecond pcap format, read (gzip undone).
fn standard_samples() -> Vec<(std::path::PathBuf, Vec<u8>)> {
    common::samples()
        .into_iter()
        .filter_map(|p| {
            let raw = std::fs::read(common::root().join(&p)).unwrap();
            let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
                let mut out = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut out)
                    .unwrap();
                out
            } else {
                raw
            };
            bytes
                .starts_with(&[0xd4, 0xc3, 0xb2, 0xa1])
                .then_some((p, bytes))
        })
        .collect()
}

fn editcap(format: &str, input: &Path, output: &Path) {
    let status = Command::new("editcap")
        .args(["-F", format])
        .arg(input)
        .arg(output)
        .status()
        .expect("editcap runs");
    assert!(status.success(), "editcap -F {format} {}", input.display());
}

#[test]
fn every_variant_of_every_classic_sample_reads_like_the_original() {
    if !common::which("editcap") {
        common::skipped("editcap not installed (apt-get install wireshark-common)");
        return;
    }
    let samples = standard_samples();
    assert!(samples.len() >= 40, "{} classic samples", samples.len());
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (path, bytes) in &samples {
        let original = analyze_bytes("original", Cursor::new(bytes.clone()));
        let plain = dir.path().join("original.pcap");
        std::fs::write(&plain, bytes).unwrap();
        for (tool_name, ours) in [
            ("modpcap", "pcap-modified"),
            ("suse6_3pcap", "pcap-suse-6.3"),
            ("rh6_1pcap", "pcap-redhat-6.1"),
            ("nokiapcap", "pcap-nokia"),
        ] {
            let out = dir.path().join(format!("{tool_name}.pcap"));
            editcap(tool_name, &plain, &out);
            let variant = analyze_bytes(tool_name, Cursor::new(std::fs::read(&out).unwrap()));
            if variant.error.is_some()
                || format_of(&variant) != ours
                || report_of(&variant) != report_of(&original)
            {
                failures.push(format!(
                    "{} as {tool_name}: {} {:?}",
                    path.display(),
                    format_of(&variant),
                    variant.error
                ));
            }
            if tool_name == "modpcap" {
                let swapped = swap_modified(&std::fs::read(&out).unwrap());
                let be = analyze_bytes("be", Cursor::new(swapped));
                if format_of(&be) != ours || report_of(&be) != report_of(&original) {
                    failures.push(format!("{} as big-endian modpcap", path.display()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A little-endian modified pcap (24-byte records) rewritten big-endian.
fn swap_modified(le: &[u8]) -> Vec<u8> {
    let u32_at = |i: usize| u32::from_le_bytes(le[i..i + 4].try_into().unwrap());
    let u16_at = |i: usize| u16::from_le_bytes(le[i..i + 2].try_into().unwrap());
    assert_eq!(u32_at(0), 0xa1b2_cd34);
    let mut out = u32_at(0).to_be_bytes().to_vec();
    out.extend(u16_at(4).to_be_bytes());
    out.extend(u16_at(6).to_be_bytes());
    for i in [8, 12, 16, 20] {
        out.extend(u32_at(i).to_be_bytes());
    }
    let mut at = 24;
    while at + 24 <= le.len() {
        let caplen = u32_at(at + 8) as usize;
        for i in 0..5 {
            out.extend(u32_at(at + 4 * i).to_be_bytes());
        }
        out.extend(u16_at(at + 20).to_be_bytes());
        out.extend(&le[at + 22..at + 24]);
        out.extend(&le[at + 24..at + 24 + caplen]);
        at += 24 + caplen;
    }
    assert_eq!(at, le.len());
    out
}

/// IEEE 802.3's CRC-32, the Ethernet frame check sequence.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A standard little-endian pcap with `link_field` as its link type, each frame given
/// an FCS when `fcs`.
fn with_link_field(le: &[u8], link_field: u32, fcs: bool) -> Vec<u8> {
    let u32_at = |i: usize| u32::from_le_bytes(le[i..i + 4].try_into().unwrap());
    let mut out = le[..20].to_vec();
    out.extend(link_field.to_le_bytes());
    let mut at = 24;
    while at + 16 <= le.len() {
        let caplen = u32_at(at + 8) as usize;
        let origlen = u32_at(at + 12) as usize;
        let frame = &le[at + 16..at + 16 + caplen];
        let whole = caplen == origlen;
        let extra = if fcs && whole { 4 } else { 0 };
        out.extend(&le[at..at + 8]);
        out.extend(((caplen + extra) as u32).to_le_bytes());
        out.extend(((origlen + if fcs { 4 } else { 0 }) as u32).to_le_bytes());
        out.extend(frame);
        if extra > 0 {
            out.extend(crc32(frame).to_le_bytes());
        }
        at += 16 + caplen;
    }
    out
}

#[test]
fn fcs_length_in_the_link_type_field_reads_as_ethernet() {
    for sample in [
        "samples/plain-mx-swaks.pcap",
        "samples/loss-reordered-swaks.pcap",
    ] {
        let original = std::fs::read(common::root().join(sample)).unwrap();
        let want = report_of(&analyze_bytes("o", Cursor::new(original.clone())));
        // A 4-byte FCS on every frame, declared as libpcap declares it (2 × 16 bits).
        let with_fcs = with_link_field(&original, 0x2400_0001, true);
        let a = analyze_bytes("fcs", Cursor::new(with_fcs));
        assert_eq!(a.link_types, ["ETHERNET"], "{sample}");
        assert_eq!(report_of(&a), want, "{sample} with an FCS");
        // The bits the issue saw in the field: a length but no FCS Ethernet has; kept.
        let declared = with_link_field(&original, 0x1400_0001, false);
        let b = analyze_bytes("declared", Cursor::new(declared));
        assert_eq!(b.link_types, ["ETHERNET"], "{sample}");
        assert_eq!(report_of(&b), want, "{sample} with 0x14000001");
    }
}
