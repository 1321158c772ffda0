//! A ladder as a Mermaid `sequenceDiagram` (GitHub, GitLab, Azure DevOps and many wikis
//! draw it from a ```` ```mermaid ```` block).

use std::fmt::Write;

use super::ladder::{Arrow, ArrowKind, Ladder};
use crate::base::Side;

/// The diagram's text, without the fence.
pub(super) fn sequence_diagram(l: &Ladder) -> String {
    let mut out = String::from("sequenceDiagram\n");
    let server = match &l.server_name {
        Some(n) => format!("{n} ({})", l.server),
        None => l.server.clone(),
    };
    let _ = writeln!(out, "    participant C as {} (device)", escape(&l.client));
    let _ = writeln!(
        out,
        "    participant S as {} · {}",
        escape(&server),
        escape(l.role)
    );
    let mut in_tls = false;
    for a in &l.arrows {
        if a.inside_tls && !in_tls {
            out.push_str("    rect rgb(232, 240, 251)\n");
            in_tls = true;
        } else if !a.inside_tls && in_tls {
            out.push_str("    end\n");
            in_tls = false;
        }
        out.push_str("    ");
        out.push_str(&line(a));
        out.push('\n');
    }
    if in_tls {
        out.push_str("    end\n");
    }
    if l.not_drawn > 0 {
        let _ = writeln!(
            out,
            "    Note over C,S: {} more not drawn (see the display filter)",
            l.not_drawn
        );
    }
    out
}

/// One statement: an arrow with its message, or a note across both columns.
fn line(a: &Arrow) -> String {
    let mut text = format!("{} {}", a.frame, a.label);
    if a.count > 1 {
        let _ = write!(text, " x{}", a.count);
    }
    if a.deciding {
        text.push_str(" ◀ deciding");
    }
    if let Some(f) = a.finding {
        let _ = write!(text, " [{f}]");
    }
    let text = escape(&text);
    let (from, to) = match a.from {
        Side::Client => ("C", "S"),
        Side::Server => ("S", "C"),
    };
    let arrow = match a.kind {
        ArrowKind::TlsStart | ArrowKind::Missing | ArrowKind::NotParsed => {
            return format!("Note over C,S: {text}");
        }
        ArrowKind::Reply(code) if code >= 400 => "--x",
        ArrowKind::Reply(_) => "-->>",
        ArrowKind::Inferred => "--)",
        ArrowKind::Command | ArrowKind::Auth | ArrowKind::Body => "->>",
    };
    format!("{from}{arrow}{to}: {text}")
}

/// Mermaid's entity codes for what would end a statement (`;`), start an entity or a
/// comment (`#`, `%%`), or be read as markup (quotes, angle brackets); no line breaks.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ';' => out.push_str("#59;"),
            '#' => out.push_str("#35;"),
            '%' => out.push_str("#37;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_breakers_become_entities() {
        assert_eq!(
            escape("554 5.2.252 SendAsDenied; <a@b> #1 100%% \"x\""),
            "554 5.2.252 SendAsDenied#59; #lt;a@b#gt; #35;1 100#37;#37; #quot;x#quot;"
        );
    }
}
