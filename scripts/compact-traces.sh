#!/usr/bin/env bash
# Turns whole encrypted recordings into the compact traces the accuracy test reads: each
# SRC/NAME.pcap becomes DST/NAME.pcap.gz with its ciphertext zeroed (scripts/compact-trace.py:
# packets, times, TCP, the clear dialogue, the clear handshake and every record header stay
# as captured), and DST/truth.tsv keeps each one's truth, from tshark's decryption with the
# recording's key log where there is one, else the case it was recorded as. Each trace
# must give smtpcap's analysis of the whole recording, byte for byte (but the file's name,
# format and compression); the key logs are not copied.
#
# Usage: scripts/compact-traces.sh SRC DST
#   e.g. scripts/record-samples.sh --clients /tmp/rec
#        scripts/compact-traces.sh /tmp/rec/clients tests/recordings/clients
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
src=$(cd "$1" && pwd)
mkdir -p "$2"
dst=$(cd "$2" && pwd)
cd "$root"
cargo build --release -q
smtpcap="$root/target/release/smtpcap"
norm() {
    "$smtpcap" analyze --format json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in ("file", "format", "compression"):
    d.pop(k, None)
print(json.dumps(d, sort_keys=True))'
}
n=0
for f in "$src"/*.pcap; do
    out="$dst/$(basename "$f").gz"
    python3 "$here/compact-trace.py" "$f" "$out"
    if [ "$(norm "$f")" != "$(norm "$out")" ]; then
        echo "compact-traces: $out does not analyse as $f does" >&2
        exit 1
    fi
    n=$((n + 1))
done
SMTPCAP_TRACES_FROM="$src" SMTPCAP_TRACES_TO="$dst" \
    cargo test --release -q --test inside_tls -- --ignored --exact write_traces_truth >/dev/null
echo "compact-traces: $n traces in $dst ($(du -sh "$dst" | cut -f1)), truth in $dst/truth.tsv"
