#!/usr/bin/env bash
# Refreshes the vendored xterm.js in web/static/vendor from npm, so that
# building Keiko never needs npm or a network. Run by `make vendor-xterm`.
set -euo pipefail
cd "$(dirname "$0")/.."

XTERM=6.0.0
FIT=0.11.0
LINKS=0.12.0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@xterm/xterm@$XTERM" "@xterm/addon-fit@$FIT" "@xterm/addon-web-links@$LINKS" >/dev/null)
out=web/static/vendor
rm -rf "$out"
mkdir -p "$out"
for tgz in "$tmp"/*.tgz; do
  mkdir -p "$tmp/x"
  tar -xzf "$tgz" -C "$tmp/x"
  name=$(basename "$tgz" .tgz)
  case "$name" in
    xterm-xterm-*)
      cp "$tmp/x/package/lib/xterm.js" "$out/xterm.js"
      cp "$tmp/x/package/css/xterm.css" "$out/xterm.css"
      cp "$tmp/x/package/LICENSE" "$out/LICENSE.xterm" ;;
    xterm-addon-fit-*)
      cp "$tmp/x/package/lib/addon-fit.js" "$out/addon-fit.js" ;;
    xterm-addon-web-links-*)
      cp "$tmp/x/package/lib/addon-web-links.js" "$out/addon-web-links.js" ;;
  esac
  rm -rf "$tmp/x"
done
printf 'xterm %s, addon-fit %s, addon-web-links %s, from npm by hack/vendor-xterm.sh\n' "$XTERM" "$FIT" "$LINKS" > "$out/VERSIONS"
ls -la "$out"
