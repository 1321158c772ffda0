#!/bin/sh
# Screenshots of the index that `--output-dir` writes for samples/, in headless
# Chromium at 1,024 and 1,400 pixels and on a phone (390: headless Chromium lays out no
# narrower than 500, so the page is shown in a 390-pixel frame). Writes docs/index-*.png.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/target/release/smtpcap" analyze --format html --summary-only --output-dir "$work" "$here/samples" >/dev/null || true
shot() { # width height page output
    "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size="$1,$2" --virtual-time-budget=2000 --screenshot="$4" "$3" 2>/dev/null
}
shot 1024 1400 "$work/index.html" "$here/docs/index-1024.png"
shot 1400 1100 "$work/index.html" "$here/docs/index-1400.png"
printf '<html><body style="margin:0"><iframe src="index.html" style="border:0;width:390px;height:2400px"></iframe></body></html>' >"$work/phone.html"
shot 390 1600 "$work/phone.html" "$here/docs/index-390.png"
echo "docs/index-1024.png docs/index-1400.png docs/index-390.png"
