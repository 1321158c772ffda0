//! A ladder drawn as inline SVG: scales with the page (a phone, A4), no script, no font
//! to fetch.

use std::fmt::Write;

use maud::{html, Markup, PreEscaped};

use crate::base::Side;
use crate::report::ladder::{Arrow, ArrowKind, Ladder};

const WIDTH: u32 = 760;
const CLIENT_X: u32 = 170;
const SERVER_X: u32 = 610;
const TOP: u32 = 74;
const ROW: u32 = 30;

/// The ladder as an `<svg>` element.
pub(super) fn ladder_svg(l: &Ladder) -> Markup {
    let rows = l.arrows.len() as u32 + u32::from(l.not_drawn > 0);
    let height = TOP + rows * ROW + 16;
    let server_title = l.server_name.as_deref().unwrap_or(l.role);
    // The rows inside TLS, shaded: from the first arrow read inside TLS to the last.
    let inside: Vec<usize> = (0..l.arrows.len())
        .filter(|i| l.arrows[*i].inside_tls)
        .collect();
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="ladder" role="img"
            viewBox=(format!("0 0 {WIDTH} {height}"))
            aria-label=(format!("Ladder diagram of session {}", l.id)) {
            title { "Session " (l.id) ": " (l.client) " → " (l.server) }
            defs {
                marker id=(format!("head{}", l.id)) viewBox="0 0 10 10" refX="10" refY="5"
                    markerWidth="7" markerHeight="7" orient="auto-start-reverse" {
                    path d="M0,0 L10,5 L0,10 z" fill="context-stroke" {}
                }
            }
            @if let (Some(first), Some(last)) = (inside.first(), inside.last()) {
                rect class="tls" x=(CLIENT_X) y=(TOP + *first as u32 * ROW - ROW + 6)
                    width=(SERVER_X - CLIENT_X) height=((*last - *first) as u32 * ROW + ROW) {}
            }
            (column(CLIENT_X, "client (device)", &l.client))
            (column(SERVER_X, server_title, &format!("{} · {}", l.server, l.role)))
            line class="life" x1=(CLIENT_X) y1="52" x2=(CLIENT_X) y2=(height - 8) {}
            line class="life" x1=(SERVER_X) y1="52" x2=(SERVER_X) y2=(height - 8) {}
            @for (i, a) in l.arrows.iter().enumerate() {
                (arrow(l, a, TOP + i as u32 * ROW))
            }
            @if l.not_drawn > 0 {
                text class="more" x=(WIDTH / 2) y=(TOP + l.arrows.len() as u32 * ROW) text-anchor="middle" {
                    "… " (l.not_drawn) " more not drawn: open the conversation in Wireshark (its display filter is below)"
                }
            }
        }
    }
}

fn column(x: u32, title: &str, detail: &str) -> Markup {
    html! {
        g class="col" {
            rect x=(x - 150) y="6" width="300" height="42" rx="4" {}
            text x=(x) y="23" text-anchor="middle" class="name" { (clip(title, 44)) }
            text x=(x) y="40" text-anchor="middle" class="detail" { (clip(detail, 48)) }
        }
    }
}

fn arrow(l: &Ladder, a: &Arrow, y: u32) -> Markup {
    let (x1, x2) = match a.from {
        Side::Client => (CLIENT_X, SERVER_X),
        Side::Server => (SERVER_X, CLIENT_X),
    };
    let class = class(a);
    let mut label = a.label.clone();
    if a.count > 1 {
        let _ = write!(label, "  ×{}", a.count);
    }
    let tag = a.finding.map(|f| format!("[{f}]"));
    let time = a.time.since(l.start);
    html! {
        g class=(class) {
            title { "frame " (a.frame) ": " (a.label) }
            text class="frame" x="6" y=(y - 4) { "#" (a.frame) }
            text class="time" x="6" y=(y + 8) { (format!("+{time:.3}s")) }
            @if a.kind == ArrowKind::TlsStart {
                line x1=(CLIENT_X - 20) y1=(y) x2=(SERVER_X + 20) y2=(y) class="band" {}
                text x=(WIDTH / 2) y=(y - 6) text-anchor="middle" { (label) }
            } @else {
                line x1=(x1) y1=(y) x2=(x2) y2=(y) marker-end=(format!("url(#head{})", l.id)) {}
                text x=(u32::midpoint(CLIENT_X, SERVER_X)) y=(y - 6) text-anchor="middle" { (label) }
            }
            @if let Some(tag) = tag {
                text class="tag" x=(SERVER_X + 8) y=(y + 4) { (tag) }
            }
        }
    }
}

/// The CSS class of an arrow: what it is, and whether it decided the outcome.
fn class(a: &Arrow) -> String {
    let kind = match a.kind {
        ArrowKind::Command => "cmd",
        ArrowKind::Reply(c) if c >= 500 => "r5",
        ArrowKind::Reply(c) if c >= 400 => "r4",
        ArrowKind::Reply(_) => "r2",
        ArrowKind::Auth => "auth",
        ArrowKind::Body => "body",
        ArrowKind::TlsStart => "tlsstart",
        ArrowKind::Missing => "missing",
        ArrowKind::NotParsed => "unparsed",
        ArrowKind::Inferred => "inferred",
    };
    if a.deciding {
        format!("{kind} deciding")
    } else {
        kind.to_string()
    }
}

fn clip(s: &str, n: usize) -> String {
    crate::dialogue::clip(s, n)
}

/// The styles the ladders use, for the page's `<style>`.
pub(super) const STYLE: PreEscaped<&str> = PreEscaped(
    "svg.ladder{width:100%;max-width:760px;height:auto;font:11px ui-monospace,Menlo,Consolas,monospace}\
svg.ladder .col rect{fill:#f4f4f6;stroke:#888}\
svg.ladder .col .name{font-weight:bold}\
svg.ladder .life{stroke:#999;stroke-dasharray:2 3}\
svg.ladder line{stroke:#333;stroke-width:1.2}\
svg.ladder text{fill:#222}\
svg.ladder .frame,svg.ladder .time{fill:#777;font-size:9px}\
svg.ladder .tls{fill:#e8f0fb}\
svg.ladder .band{stroke:#2a6fdb;stroke-width:2;stroke-dasharray:6 3}\
svg.ladder .tlsstart text{fill:#2a6fdb;font-weight:bold}\
svg.ladder .r2 line{stroke:#1b7f3b}\
svg.ladder .r4 line{stroke:#b06d00}svg.ladder .r4 text{fill:#8a5500}\
svg.ladder .r5 line{stroke:#c62828}svg.ladder .r5 text{fill:#b71c1c}\
svg.ladder .auth line{stroke:#6a3fb5}\
svg.ladder .body line{stroke:#555;stroke-width:3}\
svg.ladder .missing line,svg.ladder .unparsed line{stroke:#e07b00;stroke-dasharray:4 3}\
svg.ladder .inferred line{stroke-dasharray:1 3}svg.ladder .inferred text{font-style:italic}\
svg.ladder .deciding line{stroke-width:3}svg.ladder .deciding text{font-weight:bold}\
svg.ladder .tag{fill:#b71c1c;font-weight:bold}\
svg.ladder .more{fill:#777;font-style:italic}",
);
