#!/usr/bin/env bash
# Installs the Debian packages named after the label that are not installed yet (as root, or
# through sudo). Usage: scripts/install_packages.sh LABEL PACKAGE...
# Shared by setup.sh, fuzz.sh and sanitize.sh so that each lists only what it needs.
set -euo pipefail
label=$1
shift
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "$label: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi
