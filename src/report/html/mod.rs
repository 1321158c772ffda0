//! One self-contained HTML page per capture, for an escalation ticket: what the Markdown
//! report holds, each conversation drawn as a ladder (inline SVG), the transcript, and the
//! facts the mail provider asks for. No script, no font or image to fetch: it works from a
//! mail attachment and a file share, prints on A4/Letter, reads on a phone.

mod svg;

use std::io;
use std::path::Path;

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::attempts::Chains;
use super::facts::provider_facts;
use super::group::{fix_without_path, Group, Groups};
use super::ladder::{cut_transcript, Budget, Ladder, MAX_LADDERS};
use super::{display_filter, verdict_line, Scrubbed, Spool};
use crate::analysis::{Analysis, Session};
use crate::diagnosis::checklist::{self, Check};
use crate::diagnosis::{Diagnosis, Finding, SessionDiagnosis, Summary, SHARP_SMTP};

/// The HTML report of an analysis held in memory.
pub fn to_html(a: &Analysis, d: &Diagnosis) -> String {
    super::render_in_memory(super::Format::Html, a, d)
}

#[derive(Default)]
pub(super) struct HtmlWriter {
    /// A page of its own (else a `<section>` for a page of several captures).
    page: bool,
    rows: Spool,
    groups: Groups,
    findings: [Spool; 3],
    /// Each session's section: its ladder, facts, filter and transcript.
    sessions: Spool,
    drawn: usize,
    not_drawn: usize,
    budget: Budget,
    /// Table rows and findings past the budget.
    rows_left_out: usize,
    findings_left_out: usize,
    /// Each device's attempts to each server.
    chains: Chains,
}

/// The start of a page (its head and styles); `title` names it.
pub fn html_page_start(title: &str) -> String {
    let head = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) (svg::STYLE) }
            }
        }
    };
    // The page is written in parts (the spools in between): what maud would close here is
    // closed by [`html_page_end`].
    let head = head.into_string();
    let head = head.trim_end_matches("</html>").trim_end_matches("</head>");
    format!("{head}</head><body><main>")
}

/// The end of a page [`html_page_start`] began.
pub fn html_page_end() -> &'static str {
    "</main></body></html>\n"
}

impl HtmlWriter {
    pub(super) fn new(page: bool) -> Self {
        HtmlWriter {
            page,
            ..HtmlWriter::default()
        }
    }

    pub(super) fn session(&mut self, s: &Session, sd: &SessionDiagnosis, findings: &[&Finding]) {
        self.chains.add(s.id, sd);
        let row = html! {
            tr {
                td { a href=(format!("#session-{}", s.id)) { (s.id) } }
                td { (s.client.to_string()) }
                td { (s.server.to_string()) }
                td { (sd.server_name.as_deref().unwrap_or("-")) }
                td { (sd.server_role.name()) }
                td class=(outcome_class(sd)) { (sd.outcome_label()) }
                td { (s.tcp.first_frame) "–" (s.tcp.last_frame) }
            }
        };
        let row = row.into_string();
        if !self.budget.keep(&mut self.rows, &row) {
            self.rows_left_out += 1;
        }
        for f in findings {
            if let Some(f) = self.groups.add(f) {
                let text = finding(f).into_string();
                let budget = &mut self.budget;
                let kept = self
                    .findings
                    .get_mut(f.severity.index())
                    .is_some_and(|spool| budget.keep(spool, &text));
                if !kept {
                    self.findings_left_out += 1;
                }
            }
        }
        if self.drawn >= MAX_LADDERS {
            self.not_drawn += 1;
            return;
        }
        let ladder = Ladder::of(s, sd, findings);
        let mut transcript = String::new();
        super::text::transcript(&mut transcript, s, sd);
        let transcript = cut_transcript(&transcript);
        let section = html! {
            section.session id=(format!("session-{}", s.id)) {
                h3 { "Session " (s.id) ": " (s.client.to_string()) " → " (s.server.to_string())
                    " — " span class=(outcome_class(sd)) { (sd.outcome_label()) } }
                (svg::ladder_svg(&ladder))
                h4 { "Facts for the mail provider" }
                table.facts {
                    @for (what, value) in provider_facts(s, sd) {
                        tr { th { (what) } td { (value) } }
                    }
                }
                p.filter { "Wireshark display filter: " code { (display_filter(s)) } }
                details {
                    summary { "Transcript (frame numbers as Wireshark shows them)" }
                    pre { (transcript) }
                }
            }
        };
        let section = section.into_string();
        if self.budget.keep(&mut self.sessions, &section) {
            self.drawn += 1;
        } else {
            self.not_drawn += 1;
        }
    }

    pub(super) fn finish(
        self,
        a: &Analysis,
        summary: &Summary,
        capture_findings: &[&Finding],
        out: &mut Scrubbed,
    ) -> io::Result<()> {
        let name = Path::new(&a.file)
            .file_name()
            .map_or(a.file.clone(), |n| n.to_string_lossy().into_owned());
        let verdict = summary.verdict();
        if self.page {
            out.put(&html_page_start(&format!("smtpcap report: {name}")))?;
        }
        out.put("<article class=\"capture\">")?;
        let (size, sha) = super::size_and_sha(a);
        let facts = html! {
            h1 { "smtpcap report: " (name) }
            table.capture {
                tr { th { "Capture" } td { code { (a.file) } } }
                tr { th { "Size" } td { (size) } }
                tr { th { "SHA-256" } td { code { (sha) } } }
                @if let Some(f) = a.format {
                    tr { th { "Format" } td { (f) @if let Some(c) = a.compression { " (" (c) ")" }
                        ", " (a.packets) " packets, " (a.link_types.join(", ")) } }
                }
                @if let Some(span) = a.time_span() { tr { th { "Time span" } td { (span) } } }
                @for note in a.bounds_reached() { tr { th { "Bound reached" } td { (note) } } }
                @if let Some(e) = &a.error {
                    tr.damaged { th { "Damaged" } td { "at byte " (e.offset) ": " (e.message) } }
                }
                tr { th { "smtpcap" } td { (env!("CARGO_PKG_VERSION")) } }
            }
            h2 { "Verdict" }
            p class=(if verdict.is_failure() { "verdict fail" } else { "verdict" }) {
                (verdict_line(&verdict))
            }
            @if self.chains.told() {
                h2 { "Attempts" }
                p { "Each device's attempts to each server, in the order they began." }
                @for (chain, lines) in self.chains.prose() {
                    h3 { (chain) }
                    ol.attempts { @for l in lines { li { (l) } } }
                }
            }
            @if summary.sessions > 0 || summary.counts.iter().sum::<usize>() > 0 {
                h2 { "Settings checklist" }
                p { (SHARP_SMTP) }
                table.checklist {
                    tr { th {} th { "field" } th { "the capture shows" } th { "set" } }
                    @for item in summary.checklist() {
                        tr class=(match item.check { Check::Ok => "ok", Check::Change => "change", Check::Unknown => "unknown" }) {
                            td { (match item.check { Check::Ok => "✓", Check::Change => "change", Check::Unknown => "?" }) }
                            td { (item.field) } td { (item.seen) } td { (item.set) }
                        }
                    }
                }
                p { (checklist::THEN) }
            }
            h2 { "Devices and servers" }
        };
        out.put(&facts.into_string())?;
        out.put("<table class=\"sessions\"><tr><th>session</th><th>device (client)</th><th>server</th><th>server name</th><th>role</th><th>outcome</th><th>frames</th></tr>")?;
        out.spool(self.rows, &mut |_| String::new())?;
        out.put("</table>")?;
        if self.rows_left_out > 0 {
            out.put(&html! { p { (self.rows_left_out) " more sessions are not listed, to keep this report under 5 MB: the JSON or CSV report lists them all." } }.into_string())?;
        }
        out.put("<h2>Findings</h2>")?;
        if summary.counts.iter().sum::<usize>() == 0 {
            out.put("<p>None.</p>")?;
        }
        if summary.device_side() {
            out.put(
                &html! { p { "Settings are changed on the copier: " (SHARP_SMTP) } }.into_string(),
            )?;
        }
        for (severity, spool) in self.findings.into_iter().enumerate() {
            for f in capture_findings
                .iter()
                .filter(|f| f.severity.index() == severity)
            {
                out.put(&finding(f).into_string())?;
            }
            for g in self.groups.of_severity(severity) {
                out.put(&group(g).into_string())?;
            }
            out.spool(spool, &mut |_| String::new())?;
        }
        if self.findings_left_out > 0 {
            out.put(&html! { p { (self.findings_left_out) " more findings are not listed, to keep this report under 5 MB: the JSON report lists them all." } }.into_string())?;
        }
        out.put("<h2>Conversations</h2>")?;
        out.spool(self.sessions, &mut |_| String::new())?;
        if self.not_drawn > 0 {
            out.put(&html! { p { (self.not_drawn) " more conversations are not drawn (at most " (MAX_LADDERS) " per report, and under 5 MB in all); the JSON report holds them all." } }.into_string())?;
        }
        out.put(&html! {
            footer { "Generated by smtpcap " (env!("CARGO_PKG_VERSION")) ". Passwords seen in the capture are withheld from this report." }
        }.into_string())?;
        out.put("</article>")?;
        if self.page {
            out.put(html_page_end())?;
        }
        Ok(())
    }
}

fn outcome_class(sd: &SessionDiagnosis) -> &'static str {
    use crate::diagnosis::Outcome;
    match sd.outcome {
        Outcome::Delivered => "good",
        Outcome::Rejected | Outcome::TlsFailed | Outcome::NoConnection | Outcome::LoginRefused => {
            "bad"
        }
        _ => "neutral",
    }
}

fn finding(f: &Finding) -> Markup {
    group(&Group {
        finding: f.clone(),
        evidence: vec![(f.session, f.evidence.clone())],
        sessions: f.session.into_iter().collect(),
        count: 1,
    })
}

fn group(g: &Group) -> Markup {
    let f = &g.finding;
    html! {
        section class=(format!("finding {}", f.severity.name())) {
            h3 {
                span.severity { (f.severity.name().to_uppercase()) } " "
                code { (f.id.as_str()) } ": " (f.title)
                @if let Some(l) = g.sessions_label() { " (" (l) ")" }
            }
            p { (f.explanation) }
            pre.evidence {
                @for (prefix, e) in g.evidence_lines() {
                    (prefix) "frame " (format!("{:>6}", e.frame)) ": " (e.text) "\n"
                }
                @if g.not_shown() > 0 { "(and " (g.not_shown()) " more sessions like these)\n" }
            }
            p.fix { strong { "Fix: " } (fix_without_path(&f.remediation)) }
        }
    }
}

const STYLE: &str = "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;background:#fff}\
main{max-width:900px;margin:0 auto;padding:12px 16px}\
h1{font-size:1.5em;word-break:break-all}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:.5em 0;width:100%}\
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:break-word}.index td{overflow-wrap:normal}main:has(>.index){max-width:1280px}.index td.server{overflow-wrap:break-word}.index h1{word-break:normal}.index td.status{white-space:nowrap;font-weight:bold}\
.index td.capture{overflow-wrap:anywhere;min-width:9em}.index .device{color:#555;font-size:.9em}\
.index td.cause code{font-size:.8em;color:#555}.index .skipped{color:#555}\
th{background:#f6f6f8}.sessions th,.checklist td:first-child{white-space:nowrap}\
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}\
pre{background:#f6f6f8;padding:8px;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere}\
.verdict{font-size:1.15em;font-weight:bold;padding:8px 10px;border-left:6px solid #1b7f3b;background:#f1f8f3}\
.verdict.fail{border-color:#c62828;background:#fdf1f1}\
.checklist .change td{background:#fff4e5;font-weight:bold}.checklist .ok td:first-child{color:#1b7f3b}\
.good{color:#1b7f3b}.bad{color:#c62828;font-weight:bold}\
.finding{border-left:4px solid #999;padding-left:10px;margin:1em 0}\
.finding.error{border-color:#c62828}.finding.warning{border-color:#b06d00}\
.finding h3{font-size:1.05em}.severity{font-size:.8em;letter-spacing:.05em}\
.session{margin-top:1.5em;page-break-inside:avoid;break-inside:avoid}\
.facts th{width:14em}\
footer{margin-top:2em;color:#777;font-size:.85em}\
@media print{body{font-size:11pt}main{max-width:none}details{display:block}details>pre{display:block}a{color:inherit;text-decoration:none}}\
@media (max-width:600px){body{font-size:14px}main{padding:8px}.facts th{width:auto}td,th,.verdict,code{overflow-wrap:anywhere}.sessions th{white-space:normal}\
.index table,.index tbody,.index tr,.index td{display:block;width:auto}.index tr.head{display:none}\
.index tr{border:1px solid #ddd;border-radius:6px;margin:.6em 0;padding:6px 8px}.index td{border:0;padding:1px 0}\
.index td[data-label]:not(:empty)::before{content:attr(data-label) ': ';color:#777}}.verdict{overflow-wrap:break-word}";
