#!/usr/bin/env bash
# Runs setup (install + build, idempotent), then the whole CTest suite. Exits non-zero on any
# failure, and when the CTest entries do not match the Catch2 test cases one to one. Ends with
# the count of entries run and skipped, and why each skipped one could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

# One CTest entry per test case: a name Catch2 could not be asked for by name would otherwise
# go missing (or run nothing) without anyone noticing.
cases=0
for t in unit_tests torch_tests process_tests; do
  # Catch2 v2 exits with the number of test cases it listed: not a failure here.
  n=$({ build/tests/$t --list-test-names-only || true; } | grep -c .)
  cases=$((cases + n))
done
entries=$(ctest --test-dir build -N | sed -n 's/^Total Tests: //p')
if [ "$cases" != "$entries" ]; then
  echo "test.sh: $entries CTest entries for $cases Catch2 test cases; re-run cmake (a test name may contain ';')" >&2
  exit 1
fi

status=0
ctest --test-dir build --output-on-failure --timeout 600 -j 2 || status=$?

log=build/Testing/Temporary/LastTest.log
skipped=$(grep -c 'FEDXRAY-SKIPPED: ' "$log" || true)
echo "test.sh: $entries CTest entries for $cases test cases, $skipped skipped"
if [ "$skipped" -gt 0 ]; then
  # LastTest.log names each entry ("N/M Test: name") before its output; Catch wraps the reason
  # over lines until a blank one.
  awk '/^[0-9]+\/[0-9]+ Test: /{sub(/^[0-9]+\/[0-9]+ Test: /, ""); name=$0}
       reason != "" && /^ *$/{print "  skipped: " name ": " reason; reason=""}
       reason != "" {sub(/^ +/, ""); reason=reason " " $0}
       /FEDXRAY-SKIPPED: /{sub(/.*FEDXRAY-SKIPPED: */, ""); reason=$0}' "$log"
fi
exit "$status"
