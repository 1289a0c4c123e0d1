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
)

./scripts/install_packages.sh setup "${PACKAGES[@]}"

if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build
echo "setup: build/fedxray is ready"
