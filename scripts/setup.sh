#!/usr/bin/env bash
# Installs what building smtpcap needs beyond Rust: libpcap's development files, for live
# capture (`smtpcap watch -i`; the default `live` feature). Debian and Ubuntu; elsewhere,
# install libpcap's development package, or build with `--no-default-features`.
set -euo pipefail
for dir in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
    [ -e "$dir/libpcap.so" ] && exit 0
done
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: install libpcap's development files (e.g. libpcap-devel), or build with --no-default-features" >&2
    exit 1
fi
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
run apt-get update -qq
run apt-get install -y -qq libpcap-dev >/dev/null
