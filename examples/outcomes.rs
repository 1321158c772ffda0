//! Prints each session's outcome, using only smtpcap's public API.
//!
//!     cargo run --example outcomes -- samples/reply-5xx-spamhaus-swaks.pcap

use smtpcap::{Capture, Diagnoser};

fn main() -> Result<(), smtpcap::CaptureError> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "-".into());
    let mut capture = Capture::open(&path)?;
    let mut diagnoser = Diagnoser::default();
    for session in capture.by_ref() {
        let (diagnosis, findings) = diagnoser.session(&session);
        println!(
            "session {} {} → {}: {}",
            session.id,
            session.client,
            session.server,
            diagnosis.outcome_label()
        );
        for f in &findings {
            println!("    {:<7} {} ({})", f.severity.name(), f.title, f.id);
        }
    }
    let summary = capture.finish();
    if let Some(e) = &summary.error {
        eprintln!("{path}: at byte {}: {}", e.offset, e.message);
    }
    Ok(())
}
