#!/usr/bin/env bash
# Regenerates docs/examples.md from the scenario captures with the built smtpcap.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=target/release/smtpcap
{
echo '# Worked examples'
echo
echo 'Real outputs of `smtpcap` on the bundled scenario captures (recorded by `scripts/record-samples.sh`; this page by `scripts/make-examples.sh`).'
echo
echo '## Text: a device sending to the tenant MX (`samples/scenarios/mx-port25-spamhaus.pcap`)'
echo; echo '```text'; $bin analyze --color never samples/scenarios/mx-port25-spamhaus.pcap || true; echo '```'; echo
echo '## Text with the transcript (`--transcript`): the supported configuration (`samples/scenarios/supported-587.pcap`)'
echo; echo '```text'; $bin analyze --color never --transcript samples/scenarios/supported-587.pcap || true; echo '```'; echo
echo '## A retry story: refused on port 25, delivered on 587 after the settings changed (`samples/retries/starttls-required-then-587-tls.pcap`)'
echo; echo '```text'; $bin analyze --color never samples/retries/starttls-required-then-587-tls.pcap || true; echo '```'; echo
echo '## A batch: `smtpcap analyze samples/scenarios` ends with a summary'
echo; echo '```text'; ($bin analyze --color never samples/scenarios || true) | sed -n '/== Summary/,$p'; echo '```'; echo
echo '## JSON Lines, condensed: `smtpcap analyze --format jsonl samples/scenarios | jq -c "{file, outcomes: [.sessions[].outcome], findings: [.findings[] | select(.severity != \"info\") | .id]}"`'
echo; echo '```text'
($bin analyze --format jsonl samples/scenarios || true) | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print(json.dumps({"file": d["file"], "outcomes": [s["outcome"] for s in d["sessions"]],
                      "findings": [f["id"] for f in d["findings"] if f["severity"] != "info"]}))'
echo '```'; echo
echo '## Markdown for an escalation ticket: `smtpcap analyze --format markdown samples/scenarios/ssl-disabled-auth-on.pcap`'
echo; echo 'As it appears once pasted (headings shifted down two levels to fit this page):'; echo
($bin analyze --format markdown samples/scenarios/ssl-disabled-auth-on.pcap || true) | sed 's/^### /##### /; s/^## /#### /; s/^# /### /'
} > docs/examples.md
{
echo
echo '## Every capture'"'"'s verdict, and why'
echo
echo 'Each bundled sample and each public capture beside the checkout (`../shared/captures/public/`), with its verdict as `tests/pinned_verdicts.rs` pins it and the reason, read from the capture'"'"'s own evidence.'
echo
echo '| capture | why | verdict |'
echo '|---|---|---|'
grep -v '^#' tests/verdicts.tsv | while IFS=$'\t' read -r name reason verdict; do
    printf '| `%s` | %s | %s |\n' "$name" "$reason" "$(printf '%s' "$verdict" | sed 's/|/\\|/g')"
done
} >> docs/examples.md
