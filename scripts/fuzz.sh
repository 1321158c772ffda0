#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600), seeded with the samples, one after the
# other; writes each run's log to fuzz/logs/TARGET.log and prints a summary line per target.
# Exits 1 when a target crashed or hung (its input is in fuzz/artifacts/TARGET/).
# Needs cargo-fuzz (cargo install cargo-fuzz); the stable toolchain runs it with
# RUSTC_BOOTSTRAP=1.  Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(capture_reader packet_decoder tcp_reassembler smtp_session tls_observer dns analyze inside_tls tls_decrypt block_framer)
export RUSTC_BOOTSTRAP=1
mkdir -p fuzz/logs
if ! cargo fuzz build -O >fuzz/build.log 2>&1; then
    cat fuzz/build.log >&2
    exit 1
fi
failed=0
for t in "${targets[@]}"; do
    corpus=fuzz/corpus/$t
    mkdir -p "$corpus"
    # Seeds: every sample capture (decompressed), and for the stream parsers their payloads.
    for f in samples/*.pcap* samples/scenarios/*.pcap samples/inside-tls/*.pcap; do
        case $f in *.gz) gzip -dc "$f" >"$corpus/seed-$(basename "$f" .gz)" ;; *) cp "$f" "$corpus/seed-$(basename "$f")" ;; esac
    done
    start=$(date +%s)
    extra=()
    [ -n "${FUZZ_MAX_LEN:-}" ] && extra+=(-max_len="$FUZZ_MAX_LEN")
    cargo fuzz run -O "$t" "$corpus" -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "${extra[@]}" \
        >"fuzz/logs/$t.log" 2>&1 || { echo "$t: FAILED (see fuzz/logs/$t.log)"; failed=1; }
    end=$(date +%s)
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "fuzz/logs/$t.log" | grep -o '[0-9]*$' || echo 0)
    cov=$(grep -o 'cov: [0-9]*' "fuzz/logs/$t.log" | tail -1 | grep -o '[0-9]*' || echo 0)
    ft=$(grep -o 'ft: [0-9]*' "fuzz/logs/$t.log" | tail -1 | grep -o '[0-9]*' || echo 0)
    # The execution at which the edge count last grew (a plateau shows as an early one).
    last_new=$(grep -oE '^#[0-9]+[[:space:]]+[A-Z]+[[:space:]]+cov: [0-9]+' "fuzz/logs/$t.log" |
        tr -d '#' | awk '$4 > c { c = $4; e = $1 } END { print e + 0 }')
    crashes=$(ls fuzz/artifacts/"$t" 2>/dev/null | wc -l)
    echo "$t: $((end - start)) s, $runs executions, coverage $cov edges / $ft features, edges last grew at execution $last_new, $crashes crash artifacts"
done
# A crash or a hang fails the run (for CI).
exit "$failed"
