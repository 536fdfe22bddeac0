#!/usr/bin/env bash
# Installs the Debian packages Keiko's build and tests need, when missing.
# Runs as root on CI and fresh machines; elsewhere it says what to install.
# With "test", also the browser the end-to-end test drives, and the fonts
# its screenshots need to show Japanese.
set -euo pipefail

# command -> Debian package that provides it
declare -A need=(
  [git]=git
  [make]=make
  [gcc]=gcc
  [bwrap]=bubblewrap   # the jail for learners' local shells
  [prlimit]=util-linux # per-shell process, memory and CPU limits
)

if [ "${1:-}" = test ]; then
  need[chromium]=chromium
fi

missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
if [ "${1:-}" = test ] && ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
  missing+=(fonts-noto-cjk)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if ! command -v go >/dev/null 2>&1; then
  echo "Go is not installed: Keiko needs Go 1.26 (https://go.dev/doc/install)" >&2
  exit 1
fi
have=$(go env GOVERSION)
case "$have" in
  go1.2[6-9]*|go1.[3-9]*) ;;
  *) echo "Keiko needs Go 1.26 or newer; found $have" >&2; exit 1 ;;
esac
