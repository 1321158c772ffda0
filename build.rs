//! Names the commit the binary is built from, for `smtpcap --version` and the files smtpcap
//! writes: `SMTPCAP_BUILD` is "commit 0123456789ab, 2026-12-06" (with "with local changes"
//! when the work tree differs from it), or what the environment variable `SMTPCAP_COMMIT`
//! says (a build from a source archive), or "commit unknown".

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SMTPCAP_COMMIT");
    let build = std::env::var("SMTPCAP_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .map(|c| format!("commit {}", c.trim()))
        .or_else(from_git)
        .unwrap_or_else(|| "commit unknown".to_string());
    println!("cargo:rustc-env=SMTPCAP_BUILD={build}");
}

/// The checkout's commit, when this crate is the top of a git work tree (not when it is
/// unpacked inside another one, as `cargo package` does).
fn from_git() -> Option<String> {
    let here = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let top = git(&["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != Path::new(&here).canonicalize().ok()? {
        return None;
    }
    // Run again when HEAD moves, on a commit or an add, and when a source changes (the
    // "local changes" mark).
    let dir = git(&["rev-parse", "--absolute-git-dir"])?;
    for f in ["HEAD", "index", "packed-refs"] {
        println!("cargo:rerun-if-changed={dir}/{f}");
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        println!("cargo:rerun-if-changed={dir}/{branch}");
    }
    for f in ["src", "Cargo.toml", "build.rs"] {
        println!("cargo:rerun-if-changed={f}");
    }
    let hash = git(&["rev-parse", "--short=12", "HEAD"])?;
    let date = git(&["show", "-s", "--format=%cs", "HEAD"])?;
    // Without optional locks, `status` does not rewrite the index (which would run this
    // script again).
    let changed = git(&[
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--untracked-files=no",
    ])
    .is_some_and(|s| !s.is_empty());
    let changed = if changed { " with local changes" } else { "" };
    Some(format!("commit {hash}{changed}, {date}"))
}

/// What `git ARGS` prints, trimmed; `None` when git is missing or fails.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
}
