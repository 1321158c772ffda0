#![no_main]
//! The whole pipeline on arbitrary bytes: analysis, diagnosis and every report.
use libfuzzer_sys::fuzz_target;
use smtpcap::internals::analysis::analyze_bytes;
use smtpcap::internals::diagnosis::diagnose;
use smtpcap::internals::report::{to_json, to_json_line, to_markdown, to_text, TextOptions};

fuzz_target!(|data: &[u8]| {
    let a = analyze_bytes("fuzz", std::io::Cursor::new(data.to_vec()));
    let d = diagnose(&a);
    let _ = to_text(
        &a,
        &d,
        &TextOptions {
            transcript: true,
            color: false,
            width: usize::from(data.first().copied().unwrap_or(0)),
        },
    );
    let _ = to_json(&a, &d);
    let _ = to_json_line(&a, &d);
    let _ = to_markdown(&a, &d);
});
