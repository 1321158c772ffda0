//! The binary as people run it: formats, standard input, exit statuses, bad paths.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn smtpcap() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_smtpcap"));
    c.current_dir(common::root());
    c
}

#[test]
fn text_output_has_the_summary_and_the_transcript() {
    let out = smtpcap()
        .args(["analyze", "--transcript", "samples/plain-mx-swaks.pcap"])
        .output()
        .unwrap();
    // Sending to the tenant MX is an error finding (mx-endpoint): exit status 1.
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("handshake"), "{text}");
    assert!(text.contains("C  EHLO MX-4070N.domain.local"), "{text}");
    assert!(text.contains("S  250 2.1.5 Recipient OK"), "{text}");
}

#[test]
fn json_output_has_the_documented_fields() {
    let out = smtpcap()
        .args([
            "analyze",
            "--format",
            "json",
            "samples/pipelining-swaks.pcap",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["file", "format", "link_types", "packets", "sessions"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let s = &v["sessions"][0];
    assert_eq!(s["protocol"], "smtp");
    assert_eq!(s["server"]["port"], 25);
    assert!(s["client"]["ip"].is_string());
    let d = s["dialogue"].as_array().unwrap();
    assert!(d
        .iter()
        .all(|e| e["frame"].as_u64().is_some_and(|f| f >= 1) && e["time"].is_f64()));
    let rcpts = d.iter().filter(|e| e["command"] == "RCPT").count();
    assert_eq!(rcpts, 2);
    let reply = d
        .iter()
        .find(|e| e["code"] == 250 && e["enhanced"] == "2.1.5")
        .unwrap();
    assert_eq!(reply["from"], "server");
    assert!(reply["lines"].as_array().unwrap()[0]
        .as_str()
        .unwrap()
        .starts_with("250 2.1.5"));
}

#[test]
fn the_supported_configuration_exits_0() {
    let out = smtpcap()
        .args(["analyze", "samples/submission-starttls-curl.pcap"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn findings_lists_the_catalogue() {
    let out = smtpcap().arg("findings").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for id in [
        "mx-endpoint",
        "no-starttls",
        "not-authenticated",
        "capture-incomplete",
    ] {
        assert!(text.lines().any(|l| l.starts_with(id)), "{id} missing");
    }
    assert_eq!(
        text.lines().count(),
        smtpcap::internals::diagnosis::CATALOGUE.len()
    );
}

#[test]
fn reads_standard_input_compressed_or_not() {
    for file in [
        "samples/plain-mx-swaks.pcap",
        "samples/auth-login-cleartext-swaks.pcap.gz",
    ] {
        let bytes = std::fs::read(common::root().join(file)).unwrap();
        let mut child = smtpcap()
            .args(["analyze", "--format", "json", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        // mx-endpoint, and cleartext-credentials: error findings.
        assert_eq!(out.status.code(), Some(1), "{file}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["file"], "-");
        assert_eq!(v["sessions"].as_array().unwrap().len(), 1, "{file}");
    }
}

#[test]
fn unreadable_inputs_exit_2_name_the_file_and_the_others_go_on() {
    let dir = std::env::temp_dir().join(format!("smtpcap-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("not-a-capture.pcap");
    std::fs::write(&junk, b"hello, this is text").unwrap();
    let out = smtpcap()
        .args(["analyze", "--format", "json"])
        .arg(&junk)
        .arg("samples/does-not-exist.pcap")
        .arg(&dir)
        .arg("samples/plain-mx-swaks.pcap")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("not-a-capture.pcap: at byte 0: not a pcap or pcapng capture"),
        "{err}"
    );
    assert!(err.contains("does-not-exist.pcap"), "{err}");
    // In a directory, a file whose name says capture is read as one too: a day's folder
    // loses none. It is reported where it was named and where it was found.
    assert_eq!(err.matches("not-a-capture.pcap").count(), 2, "{err}");
    // The good capture after the bad ones is still analysed.
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("VE1EUR01FT034.mail.protection.outlook.com"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_truncated_capture_is_reported_and_what_was_read_is_analysed() {
    let bytes = std::fs::read(common::root().join("samples/plain-mx-swaks.pcap")).unwrap();
    let cut = &bytes[..bytes.len() - 30];
    let mut child = smtpcap()
        .args(["analyze", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(cut).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("cut off inside a record"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["error"]["offset"].as_u64().unwrap() > 24);
    assert!(!v["sessions"].as_array().unwrap().is_empty());
}

#[test]
fn a_directory_is_searched_recursively_and_ends_with_a_summary() {
    let out = smtpcap()
        .args(["analyze", "--jobs", "2", "samples/scenarios"])
        .output()
        .unwrap();
    // The worst status wins: these scenarios have error findings.
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let files: Vec<usize> = [
        "auth-on-mx.pcap",
        "connection-refused.pcap",
        "supported-587.pcap",
    ]
    .iter()
    .map(|f| {
        text.find(&format!("== samples/scenarios/{f}"))
            .unwrap_or(usize::MAX)
    })
    .collect();
    assert!(
        files.windows(2).all(|w| w[0] < w[1]),
        "captures out of order: {files:?}"
    );
    let summary = text
        .rfind("== Summary of 22 captures")
        .expect("summary table");
    assert!(text[summary..].contains("supported-587.pcap"));
    assert!(text[summary..].contains("delivered (inferred)"));
}

#[test]
fn jsonl_is_one_line_per_capture_and_markdown_has_the_report_sections() {
    let out = smtpcap()
        .args(["analyze", "--format", "jsonl", "samples/scenarios"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 22);
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["findings"].is_array());
    }
    let out = smtpcap()
        .args([
            "analyze",
            "--format",
            "markdown",
            "samples/scenarios/mx-port25-spamhaus.pcap",
        ])
        .output()
        .unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    for section in [
        "# smtpcap report",
        "| SHA-256 |",
        "## Verdict",
        "## Findings",
        "## Settings checklist",
        "| **change** | SMTP Server | contoso-com.mail.protection.outlook.com (192.0.2.25) |",
        "```text",
    ] {
        assert!(md.contains(section), "{section} missing");
    }
    assert!(
        md.contains(": 550 5.7.1 Service unavailable, Client host"),
        "{md}"
    );
}

#[test]
fn host_and_severity_focus() {
    let out = smtpcap()
        .args([
            "analyze",
            "--format",
            "json",
            "--host",
            "203.0.113.0/24",
            "samples/scenarios/pop-before-smtp.pcap",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sessions"].as_array().unwrap().len(), 0);
    let out = smtpcap()
        .args([
            "analyze",
            "--format",
            "json",
            "--min-severity",
            "error",
            "samples/scenarios/connection-test.pcap",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["findings"].as_array().unwrap().len(),
        0,
        "warnings and infos are filtered"
    );
    let bad = smtpcap()
        .args([
            "analyze",
            "--host",
            "nonsense",
            "samples/plain-mx-swaks.pcap",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let bash = smtpcap().args(["completions", "bash"]).output().unwrap();
    assert_eq!(bash.status.code(), Some(0));
    let script = String::from_utf8(bash.stdout).unwrap();
    assert!(
        script.contains("_smtpcap") && script.contains("--min-severity"),
        "{script}"
    );
    let man = smtpcap().arg("man").output().unwrap();
    assert_eq!(man.status.code(), Some(0));
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH smtpcap"),
        "{page}"
    );
    assert!(page.contains("analyze"));
}

#[test]
fn keylog_decrypts_and_a_file_that_is_no_key_log_is_refused_by_name_and_line() {
    let sample = "samples/inside-tls/auth-failed-tls13-swaks.pcap";
    let out = smtpcap()
        .args(["analyze", "--transcript", "--keylog"])
        .arg(format!("{sample}.keys"))
        .arg(sample)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("VERDICT: FAIL: rejected at AUTH: 535 5.7.3"),
        "{text}"
    );
    assert!(text.contains("decrypted with the key log"), "{text}");
    assert!(
        text.contains("C* [AUTH LOGIN, password withheld]"),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("not-keys.txt");
    std::fs::write(&bad, "hello\nCLIENT_RANDOM zz 00\n").unwrap();
    let out = smtpcap()
        .args(["analyze", "--keylog"])
        .arg(&bad)
        .arg(sample)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not-keys.txt: line 2: the client random is not 64 hex digits"),
        "{err}"
    );
    assert!(err.contains("not-keys.txt: no TLS secret in it"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn the_text_view_fits_columns_and_a_pipe_gets_100() {
    let run = |columns: Option<&str>| {
        let mut c = smtpcap();
        c.args([
            "analyze",
            "--transcript",
            "samples/reply-4xx-throttled-swaks.pcap",
        ]);
        match columns {
            Some(n) => c.env("COLUMNS", n),
            None => c.env_remove("COLUMNS"),
        };
        let out = c.output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    // A line may run over only for a long token that no line break can help.
    let widest = |t: &str| {
        t.lines()
            .filter(|l| {
                let last = l.trim_end().rsplit(' ').next().unwrap_or("");
                l.trim_start().contains(' ') && last.chars().count() < 30
            })
            .map(|l| l.chars().count())
            .max()
            .unwrap()
    };
    let narrow = run(Some("60"));
    assert!(widest(&narrow) <= 60, "{narrow}");
    // Not a terminal, no COLUMNS: 100.
    let piped = run(None);
    assert!(widest(&piped) <= 100 && widest(&piped) > 80, "{piped}");
}

/// The batch of a day of visits: a summary worst first that fits the terminal, one JSON
/// array, one CSV table, one HTML page, or a directory of reports with an index.
#[test]
fn a_batch_is_summarised_worst_first_and_each_format_stays_one_document() {
    let run = |args: &[&str]| {
        let out = smtpcap()
            .env("COLUMNS", "100")
            .arg("analyze")
            .args(args)
            .output()
            .unwrap();
        (out.status.code(), out.stdout)
    };
    let (code, summary) = run(&["--summary-only", "samples"]);
    assert_eq!(code, Some(1));
    let summary = String::from_utf8(summary).unwrap();
    let lines: Vec<&str> = summary.lines().collect();
    assert!(lines[0].starts_with("== Summary of "), "{summary}");
    // Names relative to the folder given, failures first, all-well last.
    assert!(
        lines[1].starts_with("  FAIL   ") && !lines[1].contains("samples/"),
        "{}",
        lines[1]
    );
    let ok = summary.find("\n  OK ").unwrap();
    assert!(
        summary[ok..].find("\n  FAIL ").is_none(),
        "a failure after an OK"
    );
    assert!(summary.contains("Captures per cause:"));
    for l in &lines {
        let last = l.trim_end().rsplit(' ').next().unwrap_or("");
        assert!(
            l.chars().count() <= 100 || last.chars().count() >= 30,
            "{l}"
        );
    }

    let (_, json) = run(&["--format", "json", "samples/inside-tls"]);
    let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(doc.as_array().unwrap().len(), 28);

    let (_, csv_out) = run(&["--format", "csv", "samples/inside-tls", "samples/keylog"]);
    let mut rows = csv::Reader::from_reader(csv_out.as_slice());
    let header = rows.headers().unwrap().clone();
    assert_eq!(header.len(), smtpcap::CSV_COLUMNS.len());
    let records: Vec<csv::StringRecord> = rows.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 37);
    if common::which("python3") {
        let mut py = Command::new("python3")
            .args([
                "-c",
                "import csv,io,sys; r=list(csv.reader(io.TextIOWrapper(sys.stdin.buffer, newline=''))); assert len({len(x) for x in r}) == 1, r; print(len(r))",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        py.stdin.take().unwrap().write_all(&csv_out).unwrap();
        let out = py.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "38");
    }

    let (_, page) = run(&["--format", "html", "samples/scenarios"]);
    let page = String::from_utf8(page).unwrap();
    assert_eq!(page.matches("<!DOCTYPE html>").count(), 1);
    assert_eq!(page.matches("<article class=\"capture\">").count(), 22);
    assert!(scraper::Html::parse_document(&page).errors.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let (code, summary) = run(&[
        "--format",
        "html",
        "--output-dir",
        &dir.path().display().to_string(),
        "samples/scenarios",
    ]);
    assert_eq!(code, Some(1));
    assert!(String::from_utf8(summary)
        .unwrap()
        .starts_with("== Summary of 22 captures"));
    let index = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(
        index.contains("href=\"lab-auth-failed.pcap.html\""),
        "{index}"
    );
    assert!(dir.path().join("lab-auth-failed.pcap.html").is_file());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 23);
}

/// A day's folder as technicians leave it: every file whose name or first bytes say
/// capture is analysed or reported unreadable, with its reason, in every format; the
/// other files are counted as skipped (and listed with `-v`); exit 2.
#[test]
fn a_folder_of_captures_drops_none_silently() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("visit2")).unwrap();
    let sample = std::fs::read(common::root().join("samples/loss-clean-swaks.pcap")).unwrap();
    std::fs::copy(
        common::root().join("samples/plain-mx-swaks.pcap"),
        d.join("good.pcap"),
    )
    .unwrap();
    std::fs::write(d.join("visit2/damaged.pcap"), &sample[..1500]).unwrap();
    std::fs::write(d.join("visit2/trace.erf"), [0x5au8; 300]).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&[0xf5u8; 200]).unwrap();
    std::fs::write(d.join("garbage.pcap.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(d.join("notes.txt"), "visit notes\n").unwrap();
    std::fs::write(d.join("README.md"), "# day\n").unwrap();
    let captures = ["good.pcap", "damaged.pcap", "trace.erf", "garbage.pcap.gz"];

    let out = smtpcap()
        .env("COLUMNS", "300")
        .args(["analyze", "--summary-only", "-v"])
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Summary of 4 captures"), "{text}");
    assert!(
        text.contains("2 analysed (1 read only in part), 2 could not be read"),
        "{text}"
    );
    assert!(
        text.contains("2 other files skipped: not captures"),
        "{text}"
    );
    assert!(
        text.contains("README.md") && text.contains("notes.txt"),
        "{text}"
    );
    assert!(text.contains("an ERF capture (Endace)"), "{text}");
    assert!(text.contains("once gzip-decompressed"), "{text}");
    assert!(text.contains("read only in part: at byte"), "{text}");
    // Read in part is not unread: its sessions were analysed.
    assert!(text.contains("  PART   visit2/damaged.pcap"), "{text}");
    assert_eq!(text.matches("  UNREAD ").count(), 2, "{text}");

    for format in ["json", "jsonl", "csv", "markdown", "html", "text"] {
        let out = smtpcap()
            .args(["analyze", "--format", format])
            .arg(d)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{format}");
        let report = String::from_utf8(out.stdout).unwrap();
        for c in captures {
            assert!(report.contains(c), "{format} misses {c}");
        }
        assert!(!report.contains("notes.txt"), "{format}");
    }

    let reports = tempfile::tempdir().unwrap();
    let out = smtpcap()
        .args(["analyze", "--format", "html", "--output-dir"])
        .arg(reports.path())
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let erf = std::fs::read_to_string(reports.path().join("visit2__trace.erf.html")).unwrap();
    assert!(erf.contains("convert it with"), "{erf}");
    let index = std::fs::read_to_string(reports.path().join("index.html")).unwrap();
    assert!(index.contains("2 other files skipped"), "{index}");
    assert!(scraper::Html::parse_document(&index).errors.is_empty());
}
