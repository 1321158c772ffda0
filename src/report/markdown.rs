use std::fmt::Write;
use std::io;
use std::path::Path;

use super::attempts::Chains;
use super::facts::provider_facts;
use super::group::{fix_without_path, Group, Groups};
use super::ladder::{cut_transcript, Budget, Ladder, MAX_LADDERS};
use super::mermaid::sequence_diagram;
use super::{display_filter, verdict_line, Scrubbed, Spool};
use crate::analysis::{Analysis, Session};
use crate::diagnosis::checklist::{self, Check};
use crate::diagnosis::{Diagnosis, Finding, SessionDiagnosis, Summary, SHARP_SMTP};

/// A self-contained escalation report, ready to paste into a ticket.
pub fn to_markdown(a: &Analysis, d: &Diagnosis) -> String {
    super::render_in_memory(super::Format::Markdown, a, d)
}

#[derive(Default)]
pub(super) struct MarkdownWriter {
    rows: Spool,
    /// Each session's ladder (Mermaid), facts for the mail provider and transcript.
    sessions: Spool,
    drawn: usize,
    not_drawn: usize,
    budget: Budget,
    rows_left_out: usize,
    findings_left_out: usize,
    /// The sessions' findings, grouped where several sessions have the same.
    groups: Groups,
    /// Findings beyond the groups' bound, by severity, without their number (known at
    /// the end).
    findings: [Spool; 3],
    filters: Spool,
    /// Each device's attempts to each server.
    chains: Chains,
}

impl MarkdownWriter {
    pub(super) fn session(&mut self, s: &Session, sd: &SessionDiagnosis, findings: &[&Finding]) {
        self.chains.add(s.id, sd);
        let row = format!(
            "| {} | {} | {} | {} | {} | {} | {}–{} |\n",
            s.id,
            s.client,
            s.server,
            md(sd.server_name.as_deref().unwrap_or("-")),
            sd.server_role.name(),
            sd.outcome_label(),
            s.tcp.first_frame,
            s.tcp.last_frame
        );
        if !self.budget.keep(&mut self.rows, &row) {
            self.rows_left_out += 1;
        }
        for f in findings {
            if let Some(f) = self.groups.add(f) {
                let text = finding(f);
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
        self.filters
            .push(format!("- session {}: `{}`\n", s.id, display_filter(s)).as_bytes());
        if self.drawn >= MAX_LADDERS {
            self.not_drawn += 1;
            return;
        }
        let part = conversation(s, sd, findings);
        if self.budget.keep(&mut self.sessions, &part) {
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
        let head = head(a, summary, &self.chains);
        out.put(&head)?;
        out.spool(self.rows, &mut |_| String::new())?;
        if self.rows_left_out > 0 {
            out.put(&format!(
                "\n{} more sessions are not listed, to keep this report under 5 MB: the JSON or CSV report lists them all.\n",
                self.rows_left_out
            ))?;
        }

        out.put("\n## Findings\n\n")?;
        if summary.counts.iter().sum::<usize>() == 0 {
            out.put("None.\n")?;
        }
        if summary.device_side() {
            out.put(&format!(
                "Settings are changed on the copier: {}\n\n",
                md(SHARP_SMTP)
            ))?;
        }
        let mut number = 0;
        for (severity, spool) in self.findings.into_iter().enumerate() {
            for f in capture_findings
                .iter()
                .filter(|f| f.severity.index() == severity)
            {
                number += 1;
                out.put(&format!("### {number}. {}", finding(f)))?;
            }
            for g in self.groups.of_severity(severity) {
                number += 1;
                out.put(&format!("### {number}. {}", group_md(g)))?;
            }
            out.spool(spool, &mut |_| {
                number += 1;
                format!("### {number}. ")
            })?;
        }
        if self.findings_left_out > 0 {
            out.put(&format!(
                "{} more findings are not listed, to keep this report under 5 MB: the JSON report lists them all.\n\n",
                self.findings_left_out
            ))?;
        }

        let mut tail = String::new();
        if summary.sessions > 0 || summary.counts.iter().sum::<usize>() > 0 {
            let _ = writeln!(
                tail,
                "## Settings checklist\n\n{}\n\n| | field | the capture shows | set |\n|---|---|---|---|",
                md(SHARP_SMTP)
            );
            for item in summary.checklist() {
                let mark = match item.check {
                    Check::Ok => "✓",
                    Check::Change => "**change**",
                    Check::Unknown => "?",
                };
                let _ = writeln!(
                    tail,
                    "| {mark} | {} | {} | {} |",
                    item.field,
                    md(&item.seen),
                    md(&item.set)
                );
            }
            let _ = writeln!(tail, "\n{}", md(checklist::THEN));
        }
        let _ = writeln!(tail, "\n## Wireshark display filters\n");
        out.put(&tail)?;
        out.spool(self.filters, &mut |_| String::new())?;
        if self.drawn > 0 {
            out.put("\n## Conversations\n")?;
            out.spool(self.sessions, &mut |_| String::new())?;
        }
        if self.not_drawn > 0 {
            out.put(&format!(
                "\n{} more conversations are not drawn (at most {MAX_LADDERS} per report, and under 5 MB in all).\n",
                self.not_drawn
            ))?;
        }
        out.put(&format!(
            "\n---\nGenerated by smtpcap {}. Passwords seen in the capture are withheld from this report.\n",
            env!("CARGO_PKG_VERSION")
        ))
    }
}

/// The report's head: the capture's facts, the verdict and the sessions table's header.
fn head(a: &Analysis, summary: &Summary, chains: &Chains) -> String {
    let mut head = String::new();
    let name = Path::new(&a.file)
        .file_name()
        .map_or(a.file.clone(), |n| n.to_string_lossy().into_owned());
    let _ = writeln!(head, "# smtpcap report: {}\n", md(&name));
    let (size, sha) = super::size_and_sha(a);
    let sha = if a.digest.is_some() {
        format!("`{sha}`")
    } else {
        sha
    };
    let _ = writeln!(head, "| | |\n|---|---|");
    let _ = writeln!(head, "| Capture | `{}` |", md(&a.file));
    let _ = writeln!(head, "| Size | {size} |");
    let _ = writeln!(head, "| SHA-256 | {sha} |");
    if let Some(f) = a.format {
        let gz = a.compression.map(|c| format!(" ({c})")).unwrap_or_default();
        let _ = writeln!(
            head,
            "| Format | {f}{gz}, {} packets, {} |",
            a.packets,
            a.link_types.join(", ")
        );
    }
    if let Some(span) = a.time_span() {
        let _ = writeln!(head, "| Time span | {span} |");
    }
    for note in a.bounds_reached() {
        let _ = writeln!(head, "| Bound reached | {} |", md(&note));
    }
    let _ = writeln!(head, "| smtpcap | {} |", env!("CARGO_PKG_VERSION"));
    if let Some(e) = &a.error {
        let _ = writeln!(
            head,
            "| Damaged | at byte {}: {} |",
            e.offset,
            md(&e.message)
        );
    }
    let _ = writeln!(
        head,
        "\n## Verdict\n\n**{}**",
        md(&verdict_line(&summary.verdict()))
    );
    if chains.told() {
        let _ = writeln!(
            head,
            "\n## Attempts\n\nEach device's attempts to each server, in the order they began."
        );
        for (chain, lines) in chains.prose() {
            let _ = writeln!(head, "\n**{}**\n", md(&chain));
            for (i, l) in lines.iter().enumerate() {
                let _ = writeln!(head, "{}. {}", i + 1, md(l));
            }
        }
    }
    let _ = writeln!(head, "\n## Devices and servers\n");
    let _ = writeln!(
        head,
        "| session | device (client) | server | server name | role | outcome | frames |"
    );
    let _ = writeln!(head, "|---|---|---|---|---|---|---|");
    head
}

/// A session's ladder as a Mermaid diagram, the facts the mail provider asks for, and its
/// transcript (passwords withheld).
fn conversation(s: &Session, sd: &SessionDiagnosis, findings: &[&Finding]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n### Session {}: {} → {} ({})\n",
        s.id,
        s.client,
        s.server,
        md(&sd.outcome_label())
    );
    let ladder = Ladder::of(s, sd, findings);
    let _ = writeln!(out, "```mermaid\n{}```\n", sequence_diagram(&ladder));
    let _ = writeln!(out, "Facts for the mail provider:\n\n| | |\n|---|---|");
    for (what, value) in provider_facts(s, sd) {
        let _ = writeln!(out, "| {what} | {} |", md(&value));
    }
    let mut transcript = String::new();
    super::text::transcript(&mut transcript, s, sd);
    let _ = writeln!(
        out,
        "\nTranscript (frame numbers as Wireshark shows them):\n\n```text\n{}```",
        cut_transcript(&transcript).replace("```", "'''")
    );
    out
}

/// A finding's section, without the `### N. ` that numbers it.
fn finding(f: &Finding) -> String {
    group_md(&Group {
        finding: f.clone(),
        evidence: vec![(f.session, f.evidence.clone())],
        sessions: f.session.into_iter().collect(),
        count: 1,
    })
}

/// A finding of one or more sessions: the evidence of the first few, each under its
/// session when there are several.
fn group_md(g: &Group) -> String {
    let f = &g.finding;
    let mut out = String::new();
    let sessions = g
        .sessions_label()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} `{}`: {}{sessions}\n",
        f.severity.name().to_uppercase(),
        f.id,
        md(f.title)
    );
    let _ = writeln!(out, "{}\n", md(f.explanation));
    let _ = writeln!(
        out,
        "Evidence (frame numbers as Wireshark shows them):\n\n```text"
    );
    for (prefix, e) in g.evidence_lines() {
        let _ = writeln!(
            out,
            "{prefix}frame {:>6}: {}",
            e.frame,
            e.text.replace("```", "'''")
        );
    }
    if g.not_shown() > 0 {
        let _ = writeln!(out, "(and {} more sessions like these)", g.not_shown());
    }
    let _ = writeln!(
        out,
        "```\n\n**Fix:** {}\n",
        md(fix_without_path(&f.remediation))
    );
    out
}

/// Text safe inside Markdown prose and tables.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '|' | '*' | '_' | '`' | '<' | '>' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
