#!/usr/bin/env bash
# Remakes docs/annotated-example.txt: tshark's and capinfos' view of a sample's annotated
# copy, each command shown as a user would type it.  Needs tshark and capinfos.
#   scripts/annotated-example.sh [SMTPCAP]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/smtpcap}")
sample=$(realpath samples/postfix/relay-rejected-554.pcap)
out=$(realpath docs)/annotated-example.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
copy=relay-rejected-554.annotated.pcapng
# run SHOWN: the command as typed, then what it printed (tshark's root warning left out).
run() {
    echo "\$ $1"
    eval "$1" 2>/dev/null
    echo
}
{
    echo "\$ smtpcap analyze --annotate $copy samples/postfix/relay-rejected-554.pcap"
    "$bin" analyze --annotate "$copy" "$sample" >/dev/null || true
    run "capinfos -k $copy"
    run "tshark -r $copy -Y 'frame.comment contains \"smtpcap\"' -T fields -e frame.number -e frame.comment"
    run "tshark -q -z expert -r $copy"
} | sed -e '$ { /^$/d }' >"$out"
echo "wrote $out"
