//! docs/findings.md is the catalogue, rendered. `SMTPCAP_BLESS=1` rewrites it.

use smtpcap::diagnosis::{Diagnosis, CATALOGUE, SHARP_SMTP, SUPPORTED};

fn render() -> String {
    let mut out = String::from(
        "# Findings\n\nEvery diagnosis smtpcap reports, by its stable id (`smtpcap findings` lists them). \
Each reported finding also names its session and quotes its evidence: the frames to open in Wireshark \
and the lines they hold. Exit status: 0 when no finding is of error severity, 1 when one is, 2 when a \
capture could not be read (the worst over all captures wins).\n\n",
    );
    out.push_str(&format!(
        "Settings on a Sharp MX are changed in: {SHARP_SMTP}\n\nThe supported configuration for Microsoft 365: {SUPPORTED}\n\n"
    ));
    out.push_str("| id | severity | title |\n|---|---|---|\n");
    for k in CATALOGUE {
        out.push_str(&format!(
            "| [`{}`](#{}) | {} | {} |\n",
            k.id,
            k.id,
            k.severity.name(),
            k.title
        ));
    }
    for k in CATALOGUE {
        let place = if Diagnosis::device_side(k.id) {
            " (on the device: Network Settings → Services Settings → SMTP)"
        } else {
            ""
        };
        out.push_str(&format!(
            "\n## {}\n\n**{}** — {}\n\n{}\n\n**Fix{place}:** {}\n",
            k.id,
            k.severity.name(),
            k.title,
            k.explanation,
            k.remediation
        ));
        if let Some(t) = &k.elsewhere {
            out.push_str(&format!(
                "\nFor a server that is not Exchange Online — **{}**: {}\n\n**Fix{place}:** {}\n",
                t.title, t.explanation, t.remediation
            ));
        }
    }
    out
}

#[test]
fn findings_doc_is_the_catalogue() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/findings.md");
    let text = render();
    if std::env::var_os("SMTPCAP_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "docs/findings.md is out of date: run SMTPCAP_BLESS=1 cargo test --test findings_doc"
    );
}
