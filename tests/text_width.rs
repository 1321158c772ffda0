//! The text view fits the terminal: with 80 or 120 columns no line of any sample's report
//! (with transcripts) is longer, except a line that is one unbreakable token (a display
//! filter, a path); the first screen of a report holds the verdict and the settings
//! checklist.

mod common;

use smtpcap::internals::diagnosis::diagnose;
use smtpcap::internals::report::{to_text, TextOptions};

fn text(path: &std::path::Path, width: usize) -> String {
    let a = common::analyze(path);
    let opts = TextOptions {
        transcript: true,
        color: false,
        width,
    };
    to_text(&a, &diagnose(&a), &opts)
}

#[test]
fn no_line_is_wider_than_80_or_120_columns_but_a_single_token() {
    let mut lines = 0;
    for path in common::samples() {
        for width in [80, 120] {
            for line in text(&path, width).lines() {
                lines += 1;
                let cols = line.chars().count();
                let token = !line.trim_start().contains(' ');
                assert!(
                    cols <= width || token,
                    "{} at {width}: {cols} columns: {line}",
                    path.display()
                );
            }
        }
    }
    assert!(lines > 10_000, "{lines}");
}

#[test]
fn the_first_screen_holds_the_verdict_and_the_checklist() {
    for path in common::samples() {
        let t = text(&path, 80);
        let first: Vec<&str> = t.lines().take(24).collect();
        if !t.contains("VERDICT") {
            continue; // no conversation (a DNS-only capture)
        }
        assert!(
            first.iter().any(|l| l.starts_with("VERDICT")),
            "{}: no verdict on the first screen",
            path.display()
        );
        if t.contains("Settings (") {
            assert!(
                first.iter().any(|l| l.contains("POP before SMTP")),
                "{}: the checklist does not fit the first screen:\n{}",
                path.display(),
                first.join("\n")
            );
        }
    }
}
