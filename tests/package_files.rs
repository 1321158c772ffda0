//! What the Debian package installs besides the binary (docs/package/: the man pages and
//! the shell completions) is what the binary prints, and every page smtpcap(1) names is
//! there. `SMTPCAP_BLESS=1` rewrites them.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

/// The files of docs/package/, each with the command that prints it.
fn expected() -> BTreeMap<String, Vec<String>> {
    let strings = |a: &[&str]| a.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    let mut files = BTreeMap::new();
    files.insert("smtpcap.1".to_string(), strings(&["man"]));
    for (file, shell) in [
        ("smtpcap.bash", "bash"),
        ("_smtpcap", "zsh"),
        ("smtpcap.fish", "fish"),
    ] {
        files.insert(file.to_string(), strings(&["completions", shell]));
    }
    // Every command's own page, as smtpcap(1) names them (`smtpcap\-watch(1)`).
    let main = print(&["man"]);
    for line in main.lines() {
        if let Some(name) = line
            .strip_prefix("smtpcap\\-")
            .and_then(|l| l.strip_suffix("(1)"))
        {
            files.insert(format!("smtpcap-{name}.1"), strings(&["man", name]));
        }
    }
    files
}

fn print(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_smtpcap"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_packaged_man_pages_and_completions_are_what_smtpcap_prints() {
    let dir = common::root().join("docs/package");
    let bless = std::env::var_os("SMTPCAP_BLESS").is_some();
    let files = expected();
    assert!(
        files.contains_key("smtpcap-watch.1") && files.contains_key("smtpcap-analyze.1"),
        "smtpcap(1) names no command pages: {files:?}"
    );
    for (file, args) in &files {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let printed = print(&args);
        let path = dir.join(file);
        if bless {
            std::fs::write(&path, &printed).unwrap();
            continue;
        }
        let kept = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            kept == printed,
            "docs/package/{file} is not what `smtpcap {}` prints: run \
             SMTPCAP_BLESS=1 cargo test --test package_files",
            args.join(" ")
        );
    }
    // Nothing else: the package takes the folder's pages by pattern.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if bless && !files.contains_key(&name) {
            std::fs::remove_file(dir.join(&name)).unwrap();
            continue;
        }
        assert!(
            files.contains_key(&name),
            "docs/package/{name} is made by nothing"
        );
    }
}

/// `--version` names the release and the commit built from (`git rev-parse HEAD`), or
/// says it is unknown.
#[test]
fn the_version_names_the_commit() {
    let version = print(&["--version"]);
    assert!(
        version.starts_with(concat!("smtpcap ", env!("CARGO_PKG_VERSION"), " (commit ")),
        "{version}"
    );
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(common::root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match head {
        Some(head) if std::env::var_os("SMTPCAP_COMMIT").is_none() => {
            assert!(
                version.contains(&format!("(commit {head}")),
                "{version} ≠ {head}"
            );
        }
        _ => {
            common::skipped("not a git checkout, or SMTPCAP_COMMIT set: the commit is not checked");
        }
    }
}
