#!/usr/bin/env bash
# Runs setup (install + build, idempotent), then the quickstart: a whole federation of three
# sites and a coordinator on 127.0.0.1 with mutual TLS, on synthetic radiographs.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec ./build/fedxray simulate --config configs/quickstart.yaml "$@"
