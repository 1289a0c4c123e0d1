#!/usr/bin/env bash
# Installs every Debian package fedxray needs (as root, on Debian 12) and builds into build/.
# Idempotent: packages already installed are skipped, and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libssl-dev openssl
  libyaml-cpp-dev catch2 libspdlog-dev libcli11-dev nlohmann-json3-dev
  libpng-dev libjpeg-dev zlib1g-dev libzip-dev libdcmtk-dev libopenjp2-7-dev
  libsqlite3-dev libcpp-httplib-dev
  python3-torch
  # for the tests and benchmarks: gdcmconv makes JPEG 2000 / JPEG-LS files; a real Orthanc
  # PACS on loopback; dcmodify and curl fill it (bench/pacs_ingest.sh)
  libgdcm-tools orthanc orthanc-dicomweb dcmtk curl
  # a real HTTP proxy on loopback for the hospital-proxy tests
  tinyproxy
  # the web console's browser test: Debian's chromium (headless), NSS tools for its certificate
  # store; puppeteer-core comes from npm (tests/console/package-lock.json)
  chromium libnss3-tools
)
# Node.js and npm from Debian unless a node is installed already (it brings its own npm).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then PACKAGES+=(nodejs npm); fi

./scripts/install_packages.sh setup "${PACKAGES[@]}"
# The tests start their own tinyproxy on a free loopback port; the package's system service (a
# proxy on port 8888) is not needed, so it is stopped where systemd runs it.
if command -v systemctl >/dev/null && systemctl is-enabled --quiet tinyproxy 2>/dev/null; then
  echo "setup: stopping and disabling the tinyproxy system service (the tests run their own)"
  systemctl disable --now tinyproxy >/dev/null 2>&1 || true
fi

# Chromium picks the client certificate itself for the console tests' consortium (whose CA is
# "fedxray-console-test fedxray CA") on loopback only; no other site or certificate is affected.
POLICY_DIR=/etc/chromium/policies/managed
POLICY='{"AutoSelectCertificateForUrls": ["{\"pattern\":\"https://127.0.0.1:*\",\"filter\":{\"ISSUER\":{\"CN\":\"fedxray-console-test fedxray CA\"}}}"]}'
if [ "$(cat "$POLICY_DIR/fedxray-console-tests.json" 2>/dev/null)" != "$POLICY" ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO mkdir -p "$POLICY_DIR"
  echo "$POLICY" | $SUDO tee "$POLICY_DIR/fedxray-console-tests.json" >/dev/null
fi
# puppeteer-core, pinned by the lockfile (the one download besides Debian packages).
if [ ! -d tests/console/node_modules/puppeteer-core ] ||
   [ tests/console/package-lock.json -nt tests/console/node_modules/.package-lock.json ]; then
  (cd tests/console && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build
echo "setup: build/fedxray is ready"
