#!/usr/bin/env bash
# Benchmark: smtpcap against `cat` and tshark's SMTP dissection on generated captures.
#
#   bench/run.sh [SIZE_MB] [--big SIZE_MB] [--batch N]
#
# Generates bench/data/gen-SIZE.pcap (deterministic, examples/gencap.rs) if missing, warms
# the page cache, then reports for each tool the best wall time of 3 runs, MB/s, packets/s
# and peak resident memory (GNU time). With --big, the memory check is repeated on a larger
# capture (SKIP_TSHARK=1 leaves tshark out); with --batch N, N captures (links to the same file, read from the page cache) are
# analysed in one parallel run and one after another.
set -euo pipefail
cd "$(dirname "$0")/.."
size=1024 big= batch=8
while [ $# -gt 0 ]; do
    case $1 in
        --big) big=$2; shift 2 ;;
        --batch) batch=$2; shift 2 ;;
        *) size=$1; shift ;;
    esac
done
cargo build --release -q --example gencap
bin=target/release/smtpcap
gen=target/release/examples/gencap
mkdir -p bench/data
capture() {
    local f=bench/data/gen-$1.pcap
    [ -f "$f" ] || "$gen" "$f" "$1" >&2
    echo "$f"
}
# best_of N CMD...: the best wall time (s, to the microsecond: GNU time's own is to 10 ms,
# a tenth of cat's time here) and the peak RSS (KiB) of N runs.
best_of() {
    local n=$1 best= rss=0
    shift
    for _ in $(seq "$n"); do
        local t0 t1
        t0=$(date +%s%N)
        /usr/bin/time -f "%M" -o /tmp/smtpcap-bench.time "$@" >/dev/null 2>&1 || true
        t1=$(date +%s%N)
        t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')
        m=$(tail -n 1 /tmp/smtpcap-bench.time)
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
        [ "$m" -gt "$rss" ] && rss=$m
    done
    echo "$best $rss"
}
f=$(capture "$size")
bytes=$(stat -L -c %s "$f")
packets=$(capinfos -c -M "$f" 2>/dev/null | awk '/Number of packets/ {print $NF}' || echo 0)
cat "$f" >/dev/null
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "capture: $f, $bytes bytes, $packets packets"
echo
printf '| tool | wall time (s) | MB/s | packets/s | peak RSS (MiB) | vs cat |\n|---|---|---|---|---|---|\n'
read -r tc mc < <(best_of 5 cat "$f")
row() {
    awk -v n="$1" -v t="$2" -v m="$3" -v b="$bytes" -v p="$packets" -v c="$tc" \
        'BEGIN { printf "| %s | %.3f | %.0f | %.0f | %.1f | %.2f× |\n", n, t, b/1e6/t, p/t, m/1024, t/c }'
}
row cat "$tc" "$mc"
read -r ts ms < <(best_of 5 "$bin" analyze --jobs 1 --format jsonl "$f")
row "smtpcap (1 thread)" "$ts" "$ms"
if [ -z "${SKIP_TSHARK:-}" ] && command -v tshark >/dev/null 2>&1; then
    read -r tt mt < <(best_of 1 tshark -n -r "$f" -Y smtp -T fields -e frame.number -e smtp.req.command -e smtp.response.code)
    row "tshark SMTP dissection" "$tt" "$mt"
    awk -v a="$tt" -v b="$ts" 'BEGIN { printf "\nsmtpcap is %.0f× faster than tshark.\n", a/b }'
fi
if [ -n "$big" ]; then
    fb=$(capture "$big")
    cat "$fb" >/dev/null
    read -r tb mb < <(best_of 1 "$bin" analyze --jobs 1 --format jsonl "$fb")
    echo
    echo "$fb ($(stat -L -c %s "$fb") bytes): $tb s, peak RSS $((mb / 1024)) MiB"
fi
if [ "$batch" -gt 1 ]; then
    dir=bench/data/batch
    rm -rf "$dir"
    mkdir -p "$dir"
    for i in $(seq "$batch"); do ln -s "../$(basename "$f")" "$dir/copy-$i.pcap"; done
    read -r tp mp < <(best_of 1 "$bin" analyze --format jsonl "$dir")
    read -r t1 m1 < <(best_of 1 "$bin" analyze --jobs 1 --format jsonl "$dir")
    echo
    awk -v n="$batch" -v p="$tp" -v s="$t1" -v c="$(nproc)" \
        'BEGIN { printf "batch of %d: %.2f s on %d cores, %.2f s one after another: %.2f×\n", n, p, c, s, p/s }'
fi
