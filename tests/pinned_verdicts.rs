//! Every sample's and every public capture's verdict, pinned, each with a reason written
//! from the capture's own evidence (`tests/verdicts.tsv`; docs/examples.md shows them).
//! `SMTPCAP_BLESS=1` rewrites the verdict column after a reviewed change.

mod common;

use std::path::PathBuf;

fn path_of(name: &str) -> PathBuf {
    if name.starts_with("samples/") {
        common::root().join(name)
    } else {
        common::root().join("../shared/captures/public").join(name)
    }
}

#[test]
fn every_capture_keeps_its_reviewed_verdict() {
    let file = common::root().join("tests/verdicts.tsv");
    let text = std::fs::read_to_string(&file).unwrap();
    let bless = std::env::var_os("SMTPCAP_BLESS").is_some();
    let public = common::public_dir().is_some();
    let mut out = Vec::new();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for line in text.lines() {
        if line.starts_with('#') {
            out.push(line.to_string());
            continue;
        }
        let mut cols = line.splitn(3, '\t');
        let (name, reason, pinned) = (
            cols.next().unwrap_or_default(),
            cols.next().unwrap_or_default(),
            cols.next().unwrap_or_default(),
        );
        assert!(!reason.trim().is_empty(), "{name}: no reason");
        let path = path_of(name);
        if !name.starts_with("samples/") && !public {
            out.push(line.to_string());
            continue;
        }
        let a = common::analyze(&path);
        let d = smtpcap::internals::diagnosis::diagnose(&a);
        let verdict = format!("VERDICT: {}", smtpcap::verdict_line(&d.verdict()));
        let verdict = verdict.trim_start_matches("VERDICT: ");
        checked += 1;
        if verdict != pinned {
            wrong.push(format!("{name}:\n  pinned {pinned}\n  now    {verdict}"));
        }
        out.push(format!("{name}\t{reason}\t{verdict}"));
    }
    if bless {
        std::fs::write(&file, out.join("\n") + "\n").unwrap();
        return;
    }
    assert!(checked >= 50, "only {checked} captures checked");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Every capture held is pinned: samples by their path, public ones below
    // captures/public/.
    let mut all: Vec<PathBuf> = common::samples();
    all.extend(common::public_captures());
    for p in all {
        let shown = p.to_string_lossy();
        let name = shown
            .split_once("captures/public/")
            .map_or(shown.as_ref(), |(_, rest)| rest);
        let pinned = text.lines().any(|l| l.split('\t').next() == Some(name));
        assert!(pinned, "{} has no pinned verdict", p.display());
    }
}
