#![no_main]
//! The whole pipeline on arbitrary bytes: analysis, diagnosis and both reports.
use libfuzzer_sys::fuzz_target;
use smtpcap::analysis::analyze_bytes;
use smtpcap::diagnosis::diagnose;
use smtpcap::report::{to_json, to_text};

fuzz_target!(|data: &[u8]| {
    let a = analyze_bytes("fuzz".into(), Box::new(std::io::Cursor::new(data.to_vec())), false);
    let d = diagnose(&a);
    let _ = to_text(&a, &d);
    let _ = to_json(&a, &d);
});
