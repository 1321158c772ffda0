use super::scrub;
use crate::analysis::Analysis;

/// The analysis as one pretty-printed JSON document (see docs/json-format.md).
pub fn to_json(a: &Analysis) -> String {
    let out = serde_json::to_string_pretty(a)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"));
    scrub(out, &a.secrets)
}
