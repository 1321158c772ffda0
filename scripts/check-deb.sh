#!/usr/bin/env bash
# Builds the Debian package (`cargo deb`), installs it as a user would, checks what it
# installed, and purges it. CI runs it as root on Debian; REFERENCE is a smtpcap built
# from the same commit whose reports the installed one must match.
#   scripts/check-deb.sh [REFERENCE]
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${1:-target/release/smtpcap}
fail() { echo "check-deb: $*" >&2; exit 1; }

command -v cargo-deb >/dev/null 2>&1 || cargo install -q --locked cargo-deb --version 3.8.0
cargo deb -q
deb=$(ls -t target/debian/smtpcap_*.deb | head -n 1)
echo "check-deb: $deb ($(du -h "$deb" | cut -f1))"

# No maintainer script: nothing grants capture rights to smtpcap.
control=$(mktemp -d)
tmp=$(mktemp -d)
dpkg-deb -e "$deb" "$control"
for script in preinst postinst prerm postrm config; do
    [ ! -e "$control/$script" ] || fail "the package has a $script script"
done
dpkg-deb -f "$deb" Depends | grep -q 'libpcap0.8' || fail "Depends lacks libpcap0.8: $(dpkg-deb -f "$deb" Depends)"

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "./$deb" >/dev/null
trap 'apt-get purge -y -qq smtpcap >/dev/null 2>&1 || true; rm -rf "$control" "$tmp"' EXIT
[ -z "$(getcap /usr/bin/smtpcap 2>/dev/null)" ] || fail "/usr/bin/smtpcap has capabilities"

# The version names the commit it was built from.
version=$(/usr/bin/smtpcap --version)
head=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
case "$version" in
    *"(commit $head"*) ;;
    *) fail "--version says \"$version\", HEAD is $head" ;;
esac

# The installed binary reports as the one under test, and exits 1 on the samples (they
# include misconfigured devices).
set +e
/usr/bin/smtpcap analyze --format json samples >"$tmp/installed.json"
installed=$?
"$ref" analyze --format json samples >"$tmp/reference.json"
reference=$?
set -e
[ "$installed" = 1 ] && [ "$reference" = 1 ] || fail "exit status $installed (installed), $reference ($ref)"
cmp -s "$tmp/installed.json" "$tmp/reference.json" || fail "the installed smtpcap reports otherwise than $ref"

# The man pages where man looks, each command's too.
for page in smtpcap smtpcap-analyze smtpcap-watch smtpcap-findings smtpcap-completions smtpcap-man; do
    [ "$(man -w "$page")" = "/usr/share/man/man1/$page.1.gz" ] || fail "man -w $page: $(man -w "$page" 2>&1)"
done
MANWIDTH=100 man smtpcap-watch 2>/dev/null | grep -q -- '--capture-with' || fail "man smtpcap-watch lacks --capture-with"
MANWIDTH=100 man smtpcap 2>/dev/null | grep -q 'CAPTURING WITHOUT ROOT' || fail "man smtpcap lacks how to capture without root"

# The completions where the shells look for them.
bashdir=$(pkg-config --variable=completionsdir bash-completion 2>/dev/null || echo /usr/share/bash-completion/completions)
bash -c "source '$bashdir/smtpcap' && complete -p smtpcap" >/dev/null || fail "no bash completion in $bashdir"
[ -f /usr/share/zsh/vendor-completions/_smtpcap ] || fail "no zsh completion"
if command -v zsh >/dev/null 2>&1; then
    zsh -c 'print -l $fpath' | grep -qx /usr/share/zsh/vendor-completions || fail "zsh does not look in vendor-completions"
fi
[ -f /usr/share/fish/vendor_completions.d/smtpcap.fish ] || fail "no fish completion"
for doc in README.md findings.md capturing.md copyright LICENSE-APACHE; do
    [ -f "/usr/share/doc/smtpcap/$doc" ] || fail "no /usr/share/doc/smtpcap/$doc"
done

apt-get purge -y -qq smtpcap >/dev/null
[ ! -e /usr/bin/smtpcap ] && [ ! -e /usr/share/doc/smtpcap ] || fail "the purge left files behind"
echo "check-deb: installed, checked, purged: $version"
