//! The Markdown report's Mermaid ladders: one block per session (up to the bound), every
//! statement in the `sequenceDiagram` grammar with its text escaped, and, where Node.js
//! and Mermaid are installed (`npm ci --prefix tests/mermaid`), accepted by Mermaid's own
//! parser.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use smtpcap::internals::diagnosis::diagnose;

/// The Mermaid blocks of a Markdown report.
fn diagrams(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in md.lines() {
        match (&mut current, line) {
            (None, "```mermaid") => current = Some(String::new()),
            (Some(d), "```") => {
                out.push(std::mem::take(d));
                current = None;
            }
            (Some(d), l) => {
                d.push_str(l);
                d.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "a mermaid block is not closed");
    out
}

/// Message text: no statement end, comment, quote or markup; `#` only in an entity.
fn text_ok(t: &str) -> bool {
    let without_entities = {
        let mut s = String::new();
        let mut rest = t;
        while let Some(i) = rest.find('#') {
            s.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            match after.find(';') {
                Some(j) if j > 0 && after[..j].chars().all(|c| c.is_ascii_alphanumeric()) => {
                    rest = &after[j + 1..];
                }
                _ => return false,
            }
        }
        s.push_str(rest);
        s
    };
    !without_entities.contains([';', '"', '<', '>', '\n'])
        && !without_entities.contains("%%")
        && !t.trim().is_empty()
}

/// A statement of the diagrams smtpcap writes.
fn statement_ok(line: &str) -> bool {
    let Some(l) = line.strip_prefix("    ") else {
        return line == "sequenceDiagram";
    };
    if l == "end" || l.starts_with("rect rgb(") {
        return true;
    }
    if let Some(rest) = l
        .strip_prefix("participant C as ")
        .or_else(|| l.strip_prefix("participant S as "))
    {
        return text_ok(rest);
    }
    if let Some(rest) = l.strip_prefix("Note over C,S: ") {
        return text_ok(rest);
    }
    for arrow in ["->>", "-->>", "--x", "--)"] {
        for (from, to) in [("C", "S"), ("S", "C")] {
            if let Some(rest) = l.strip_prefix(&format!("{from}{arrow}{to}: ")) {
                return text_ok(rest);
            }
        }
    }
    false
}

#[test]
fn every_session_has_a_mermaid_ladder_whose_statements_follow_the_grammar() {
    let mut all = Vec::new();
    for path in common::samples() {
        let a = common::analyze(&path);
        let md = smtpcap::internals::report::to_markdown(&a, &diagnose(&a));
        let ds = diagrams(&md);
        assert_eq!(ds.len(), a.sessions.len().min(200), "{}", path.display());
        for d in &ds {
            for line in d.lines() {
                assert!(statement_ok(line), "{}: {line:?}", path.display());
            }
        }
        all.extend(ds);
    }
    assert!(all.len() > 100, "{} diagrams", all.len());
    let parser = common::root().join("tests/mermaid");
    if !parser.join("node_modules/mermaid").is_dir() || !common::which("node") {
        common::skipped("Mermaid not installed (npm ci --prefix tests/mermaid): grammar checked by the rules above only");
        return;
    }
    let mut child = Command::new("node")
        .arg(parser.join("parse.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(all.join("\0").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "Mermaid: {said}");
    assert_eq!(said.trim(), format!("ok {}", all.len()));
}

#[test]
fn the_grammar_check_refuses_what_would_break_a_diagram() {
    assert!(statement_ok("    C->>S: 6 EHLO x"));
    assert!(statement_ok("    S--xC: 22 554 SendAsDenied#59; x"));
    assert!(!statement_ok("    S--xC: 22 554 SendAsDenied; x"));
    assert!(!statement_ok("    C->>S: 100%% done"));
    assert!(!statement_ok("    C->>S: #1 first"));
    assert!(!statement_ok("    C->>S 6 EHLO"));
}
