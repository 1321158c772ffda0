//! The index of a day's reports shows every column without horizontal scrolling from
//! 1,024 pixels up, measured in headless Chromium: the table stays inside the page, the
//! page does not scroll sideways, and every column's header is inside the viewport.

mod common;

use std::process::Command;

/// The browser, where one is installed (`chromium` on Debian).
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// Measures the index in a window `width` pixels wide: (table's right edge, the page
/// content's right edge, the viewport's width, the document's scroll width, each
/// header's left and right).
fn measure(browser: &str, page: &std::path::Path, width: u32) -> serde_json::Value {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            &format!("--window-size={width},900"),
            "--virtual-time-budget=2000",
            "--dump-dom",
        ])
        .arg(page)
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    let at = dom
        .find("data-measure=\"")
        .expect("the measuring script ran")
        + 14;
    let end = dom[at..].find('"').unwrap() + at;
    serde_json::from_str(&dom[at..end].replace("&quot;", "\"")).unwrap()
}

const MEASURE: &str = r"<script>
const t = document.querySelector('.index table');
const main = document.querySelector('main').getBoundingClientRect();
const heads = [...t.querySelectorAll('tr.head th')].map(h => {
  const b = h.getBoundingClientRect(); return [b.left, b.right];
});
document.body.setAttribute('data-measure', JSON.stringify({
  table: t.getBoundingClientRect().right, page: main.right,
  viewport: document.documentElement.clientWidth,
  scroll: document.documentElement.scrollWidth, heads: heads }));
</script>";

#[test]
fn every_column_of_the_index_shows_from_1024_pixels() {
    let Some(browser) = chromium() else {
        common::skipped("chromium not installed (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_smtpcap"))
        .current_dir(common::root())
        .args([
            "analyze",
            "--format",
            "html",
            "--summary-only",
            "--output-dir",
        ])
        .arg(dir.path())
        .arg("samples")
        .status()
        .unwrap();
    assert!(status.code().is_some_and(|c| c <= 2));
    let mut page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    page.push_str(MEASURE);
    let file = dir.path().join("measured.html");
    std::fs::write(&file, page).unwrap();
    for width in [1024, 1400] {
        let m = measure(browser, &file, width);
        let f = |k: &str| m[k].as_f64().unwrap();
        assert!(f("table") <= f("page") + 0.5, "{width}: {m}");
        assert!(f("scroll") <= f("viewport"), "{width}: {m}");
        let heads = m["heads"].as_array().unwrap();
        assert_eq!(heads.len(), 6, "{m}");
        for h in heads {
            let (l, r) = (h[0].as_f64().unwrap(), h[1].as_f64().unwrap());
            assert!(l >= 0.0 && r <= f("viewport") && r > l, "{width}: {m}");
        }
    }
}
