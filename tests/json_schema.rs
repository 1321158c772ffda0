//! Every sample's JSON report (and every public capture's) is valid against
//! docs/json-schema.json, the schema people build on.

mod common;

use std::path::Path;

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(common::root().join("docs/json-schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// The problems `validator` finds in the JSON report of `path`, one line each.
fn problems(validator: &jsonschema::Validator, path: &Path) -> Vec<String> {
    problems_of(validator, path, &common::analyze(path))
}

fn problems_of(
    validator: &jsonschema::Validator,
    path: &Path,
    a: &smtpcap::internals::analysis::Analysis,
) -> Vec<String> {
    let (_, json) = common::render(a);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    validator
        .iter_errors(&doc)
        .map(|e| format!("{}: {} at {}", path.display(), e, e.instance_path()))
        .collect()
}

/// Every capture's report valid, or the problems listed.
fn all_valid(captures: &[std::path::PathBuf]) {
    let validator = validator();
    let wrong: Vec<String> = captures
        .iter()
        .flat_map(|s| problems(&validator, s))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_sample_report_matches_the_schema() {
    let samples = common::samples();
    assert!(samples.len() >= 80, "{}", samples.len());
    all_valid(&samples);
}

#[test]
fn every_decrypted_sample_report_matches_the_schema() {
    let validator = validator();
    let keyed = common::keyed_samples();
    assert!(keyed.len() >= 54, "{}", keyed.len());
    let wrong: Vec<String> = keyed
        .iter()
        .flat_map(|p| {
            let a = common::analyze_with(p, common::keylog_of(p).unwrap());
            problems_of(&validator, p, &a)
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_public_capture_report_matches_the_schema() {
    if common::public_dir().is_some() {
        all_valid(&common::public_captures());
    }
}

#[test]
fn the_schema_refuses_what_the_format_does_not_have() {
    let validator = validator();
    let a = common::analyze(&common::root().join("samples/plain-mx-swaks.pcap"));
    let (_, json) = common::render(&a);
    let good: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(validator.is_valid(&good));
    let spoil = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut doc = good.clone();
        f(&mut doc);
        validator.is_valid(&doc)
    };
    assert!(!spoil(&|d| d["schema"] = 2.into()));
    assert!(!spoil(&|d| d["sessions"][0]["outcome"] = "sent".into()));
    assert!(!spoil(
        &|d| d["sessions"][0]["dialogue"][0]["extra"] = 1.into()
    ));
    assert!(!spoil(&|d| {
        d["sessions"][0]["tcp"]
            .as_object_mut()
            .unwrap()
            .remove("handshake");
    }));
    assert!(!spoil(&|d| d["findings"][0]["severity"] = "fatal".into()));
}
