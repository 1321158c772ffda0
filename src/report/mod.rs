//! Stage 7: what people read: text for the technician, Markdown for a ticket, JSON and
//! JSON Lines for tools.

mod json;
mod markdown;
mod text;

pub use json::{to_json, to_json_line};
pub use markdown::to_markdown;
pub use text::{display_filter, to_text, verdict, TextOptions};

/// Shortest secret scrubbed from rendered text; shorter ones would match ordinary words.
/// The structured output never holds a secret; this is the second line of defence.
const MIN_SCRUB_LEN: usize = 4;

/// Replaces every occurrence of a known secret in rendered output.
pub fn scrub(mut out: String, secrets: &[String]) -> String {
    let mut secrets: Vec<&String> = secrets
        .iter()
        .filter(|s| s.len() >= MIN_SCRUB_LEN)
        .collect();
    // Longest first, so a secret that contains another is removed whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "[withheld]");
        }
        // JSON escapes some characters; scrub the escaped form as well.
        if let Ok(escaped) = serde_json::to_string(s) {
            let inner = &escaped[1..escaped.len() - 1];
            if inner != s.as_str() && out.contains(inner) {
                out = out.replace(inner, "[withheld]");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_plain_and_json_escaped_forms() {
        let secrets = vec!["pa\"ss1".to_string(), "abc".to_string()];
        assert_eq!(scrub("x pa\"ss1 y".into(), &secrets), "x [withheld] y");
        assert_eq!(
            scrub(r#"{"a":"pa\"ss1"}"#.into(), &secrets),
            r#"{"a":"[withheld]"}"#
        );
        assert_eq!(scrub("abc".into(), &secrets), "abc");
    }
}
