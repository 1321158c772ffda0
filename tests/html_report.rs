//! The HTML report: well-formed for every sample (an HTML5 parser reads it), one ladder per
//! session with one arrow per dialogue entry up to the bound, nothing fetched from the
//! network, no password; golden files for three samples; and, where Chromium is installed,
//! a page that is not blank when drawn.

mod common;

use std::path::Path;

use scraper::{Html, Selector};
use smtpcap::internals::analysis::Analysis;
use smtpcap::internals::diagnosis::{diagnose, Diagnosis};
use smtpcap::internals::dialogue::{Entry, EntryKind, Provenance};
use smtpcap::Side;

const PASSWORD: &str = "Scan2Mail!2026";
/// As `report/ladder.rs` bounds them.
const MAX_ARROWS: usize = 200;
const MAX_LADDERS: usize = 200;

fn html_of(a: &Analysis) -> String {
    smtpcap::internals::report::to_html(a, &diagnose(a))
}

/// The arrows a session's ladder must have: each entry, the two TLS starts drawn as one
/// band, and the steps read inside TLS from the record lengths.
fn expected_arrows(a: &Analysis, d: &Diagnosis, i: usize) -> usize {
    let s = &a.sessions[i];
    let tls = s
        .dialogue
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Tls { .. }))
        .count();
    let inferred = d.sessions[i]
        .inside_tls
        .as_ref()
        .map_or(0, |t| t.entries.len());
    (s.dialogue.len() - tls.saturating_sub(1) + inferred).min(MAX_ARROWS)
}

fn check(path: &Path, a: &Analysis) {
    let d = diagnose(a);
    let html = smtpcap::internals::report::to_html(a, &d);
    let doc = Html::parse_document(&html);
    assert!(
        doc.errors.is_empty(),
        "{}: {:?}",
        path.display(),
        doc.errors
    );
    let svg = Selector::parse("svg.ladder").unwrap();
    let arrow = Selector::parse("g[class]").unwrap();
    let ladders: Vec<_> = doc.select(&svg).collect();
    assert_eq!(
        ladders.len(),
        a.sessions.len().min(MAX_LADDERS),
        "{}: ladders",
        path.display()
    );
    for (i, l) in ladders.iter().enumerate() {
        let arrows = l
            .select(&arrow)
            .filter(|g| g.value().attr("class") != Some("col"))
            .count();
        assert_eq!(
            arrows,
            expected_arrows(a, &d, i),
            "{}: session {}",
            path.display(),
            i + 1
        );
    }
    // Self-contained: nothing loaded from elsewhere (an address quoted in a reply or a fix
    // is text; the SVG namespace is a name, not a load).
    let any = Selector::parse("*").unwrap();
    for el in doc.select(&any) {
        let name = el.value().name();
        assert!(
            !matches!(
                name,
                "script" | "link" | "iframe" | "img" | "object" | "embed" | "image"
            ),
            "{}: <{name}>",
            path.display()
        );
        for (attr, value) in el.value().attrs() {
            let loads = matches!(
                attr,
                "src" | "href" | "xlink:href" | "action" | "data" | "poster"
            );
            assert!(
                !loads || value.starts_with('#'),
                "{}: {attr}={value}",
                path.display()
            );
        }
    }
    let style = Selector::parse("style").unwrap();
    for s in doc.select(&style) {
        let css: String = s.text().collect();
        assert!(!css.contains("@import"), "{}: @import", path.display());
        assert!(
            css.matches("url(").count() == css.matches("url(#").count(),
            "{}: url() outside the page",
            path.display()
        );
    }
    assert!(!html.contains(PASSWORD), "{}: password", path.display());
    for secret in a.secrets.iter().filter(|s| s.len() >= 4) {
        assert!(
            !html.contains(secret.as_str()),
            "{}: a secret",
            path.display()
        );
    }
}

#[test]
fn every_sample_gives_a_well_formed_self_contained_page_with_a_ladder_per_session() {
    let samples = common::samples();
    assert!(samples.len() >= 100, "{}", samples.len());
    for path in &samples {
        check(path, &common::analyze(path));
    }
    for path in common::keyed_samples() {
        let a = common::analyze_with(&path, common::keylog_of(&path).unwrap());
        check(&path, &a);
    }
}

#[test]
fn every_public_capture_gives_a_well_formed_page() {
    for path in common::public_captures() {
        check(&path, &common::analyze(&path));
    }
}

/// Three reports reviewed by eye, kept as examples: a refusal Exchange Online explains, a
/// refused login read from the decrypted dialogue, and mirror-port loss. `SMTPCAP_BLESS=1`
/// rewrites them.
#[test]
fn golden_reports_are_unchanged() {
    let bless = std::env::var_os("SMTPCAP_BLESS").is_some();
    for (sample, keyed, golden) in [
        (
            "samples/scenarios/lab-send-as-denied.pcap",
            false,
            "docs/examples/send-as-denied.html",
        ),
        (
            "samples/inside-tls/auth-failed-tls13-swaks.pcap",
            true,
            "docs/examples/auth-failed-decrypted.html",
        ),
        (
            "samples/postfix/relay-rejected-554.pcap",
            false,
            "docs/examples/postfix-relay-rejected.html",
        ),
    ] {
        let path = Path::new(sample);
        let a = if keyed {
            common::analyze_with(path, common::keylog_of(path).unwrap())
        } else {
            common::analyze(path)
        };
        let html = html_of(&a);
        let file = common::root().join(golden);
        if bless {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &html).unwrap();
            continue;
        }
        let kept = std::fs::read_to_string(&file)
            .unwrap_or_else(|_| panic!("{golden} missing: run with SMTPCAP_BLESS=1"));
        assert!(
            kept == html,
            "{golden} differs: review, then SMTPCAP_BLESS=1"
        );
    }
}

/// Chromium draws two reports; the pages are not blank (the screenshots in docs/ come from
/// this test with `SMTPCAP_BLESS=1`).
#[test]
fn chromium_draws_the_reports() {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| common::which(c));
    let Some(chromium) = chromium else {
        common::skipped("Chromium not installed: the HTML reports were not drawn");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (sample, keyed, shot) in [
        (
            "samples/inside-tls/auth-failed-tls13-swaks.pcap",
            true,
            "docs/report-auth-failed.png",
        ),
        (
            "samples/scenarios/lab-send-as-denied.pcap",
            false,
            "docs/report-send-as-denied.png",
        ),
    ] {
        let path = Path::new(sample);
        let a = if keyed {
            common::analyze_with(path, common::keylog_of(path).unwrap())
        } else {
            common::analyze(path)
        };
        let page = dir.path().join("report.html");
        std::fs::write(&page, html_of(&a)).unwrap();
        let png = dir.path().join("report.png");
        let status = std::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .args([
                "--window-size=1000,2600",
                "--default-background-color=ffffffff",
            ])
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("chromium runs");
        assert!(png.is_file(), "{sample}: no screenshot: {status:?}");
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let bytes = &buf[..info.buffer_size()];
        let channels = info.color_type.samples();
        let dark = bytes
            .chunks(channels)
            .filter(|p| p.iter().take(3).all(|c| *c < 128))
            .count();
        let red = bytes
            .chunks(channels)
            .filter(|p| p.len() >= 3 && p[0] > 150 && p[1] < 90 && p[2] < 90)
            .count();
        let pixels = bytes.len() / channels;
        // Text in dark pixels, and the refusal drawn in red.
        assert!(
            dark * 200 > pixels,
            "{sample}: {dark} dark pixels of {pixels}: blank?"
        );
        assert!(
            red > 100,
            "{sample}: {red} red pixels: no verdict or deciding reply drawn?"
        );
        if std::env::var_os("SMTPCAP_BLESS").is_some() {
            std::fs::copy(&png, common::root().join(shot)).unwrap();
        }
    }
}

/// 1,500 sessions of 800 distinct commands and replies each: the HTML and Markdown
/// reports stay under 5 MB, say what they left out, and the HTML is still well-formed.
#[test]
fn any_capture_gives_reports_under_5_mb() {
    let path = Path::new("samples/scenarios/lab-send-as-denied.pcap");
    let mut a = common::analyze(path);
    let (frame, time) = (
        a.sessions[0].dialogue[0].frame,
        a.sessions[0].dialogue[0].time,
    );
    let entry = |from, kind| Entry {
        frame,
        time,
        from,
        kind,
        provenance: Provenance::Clear,
    };
    let mut sessions = Vec::new();
    for id in 1..=1500 {
        let mut s = common::analyze(path).sessions.remove(0);
        s.id = id;
        for i in 0..400 {
            s.dialogue.push(entry(
                Side::Client,
                EntryKind::Command {
                    command: "NOOP".into(),
                    argument: format!("argument-{i}-{}", "x".repeat(60)),
                    truncated: false,
                    end_frame: None,
                    repeated: 0,
                },
            ));
            s.dialogue.push(entry(
                Side::Server,
                EntryKind::Reply {
                    code: 250,
                    enhanced: None,
                    lines: vec![format!("250 fine {i} {}", "y".repeat(60))],
                    end_frame: None,
                    answers: None,
                },
            ));
        }
        sessions.push(s);
    }
    a.sessions = sessions;
    let d = diagnose(&a);
    let html = smtpcap::internals::report::to_html(&a, &d);
    assert!(html.len() < 5 << 20, "HTML: {} bytes", html.len());
    assert!(html.contains("more sessions are not listed"));
    assert!(html.contains("more conversations are not drawn"));
    assert!(Html::parse_document(&html).errors.is_empty());
    let md = smtpcap::internals::report::to_markdown(&a, &d);
    assert!(md.len() < 5 << 20, "Markdown: {} bytes", md.len());
    assert!(md.contains("more conversations are not drawn"));
}
