#!/usr/bin/env bash
# Runs setup (install + build, idempotent), then the whole CTest suite. Exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
ctest --test-dir build --output-on-failure --timeout 600 -j 2
