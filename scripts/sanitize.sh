#!/usr/bin/env bash
# Builds the torch-free unit tests with clang-14 sanitizers and runs them. On demand, not in CI.
#
#   scripts/sanitize.sh            AddressSanitizer + UndefinedBehaviorSanitizer, every unit test
#                                  case (build dir build-fuzz/, shared with scripts/fuzz.sh)
#   scripts/sanitize.sh thread     ThreadSanitizer, the coordinator-side test cases: protocol,
#                                  secure aggregation, admin API, state database, resume, FedAvg
#                                  (build dir build-tsan/)
#
# The first report stops the ASan/UBSan run (halt_on_error) with its stack. The TSan run reports
# every race and fails at the end if there was one; scripts/tsan.supp silences reports whose
# frames are all inside uninstrumented third-party libraries (gRPC, protobuf), nothing of ours.
# Builds run under the shared build lock; torch targets are configured but never built.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-address}
LOCK=/tmp/fedxray-build.lock

PACKAGES=(clang-14 libfuzzer-14-dev)
./scripts/install_packages.sh sanitize "${PACKAGES[@]}"

case "$mode" in
  address|address,undefined)
    BUILD=build-fuzz
    FLAGS=(-DFEDXRAY_FUZZ=ON -DFEDXRAY_SANITIZE=address,undefined)
    ;;
  thread)
    BUILD=build-tsan
    FLAGS=(-DFEDXRAY_SANITIZE=thread)
    ;;
  *)
    echo "usage: scripts/sanitize.sh [address|thread]" >&2
    exit 2
    ;;
esac

if [ ! -f "$BUILD/build.ninja" ]; then
  flock "$LOCK" env CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${FLAGS[@]}"
fi
# One library at a time, so other builds waiting on the lock can interleave.
for t in fedxray_proto fedxray_common fedxray_privacy fedxray_site fedxray_coordinator \
         unit_tests; do
  flock "$LOCK" cmake --build "$BUILD" --target "$t"
done

log="$BUILD/sanitize-$mode.log"
status=0
if [ "$mode" = thread ]; then
  # Catch2 test spec: a comma is "or"; -# tags every case with its file ([#state_database_test]).
  # [large] is left out: its model does not fit in memory under TSan's shadow memory.
  spec='[protocol]~[large],[secagg],[secure-federation],[dp-federation],[admin],[fedavg],[fedavgm]'
  spec+=',[#state_database_test],[#resume_test]'
  # ignore_noninstrumented_modules: memcpy, free and the like called from the uninstrumented
  # Debian libraries (gRPC, abseil, protobuf, OpenSSL) are not checked; see scripts/tsan.supp.
  tsan="halt_on_error=0:second_deadlock_stack=1:history_size=4:exitcode=66:print_suppressions=1"
  tsan+=":ignore_noninstrumented_modules=1:suppressions=$PWD/scripts/tsan.supp"
  export TSAN_OPTIONS="$tsan:${TSAN_OPTIONS:-}"
  # TSan needs the fixed memory layout it was built for; without ASLR it always gets it.
  run=("$BUILD/tests/unit_tests" -# "$spec" --durations yes)
  if command -v setarch >/dev/null; then run=(setarch "$(uname -m)" -R "${run[@]}"); fi
  "${run[@]}" >"$log" 2>&1 || status=$?
  races=$(grep -c '^WARNING: ThreadSanitizer' "$log" || true)
  suppressed=$(sed -n 's/^ThreadSanitizer: Matched \([0-9]*\) suppressions.*/\1/p' "$log" | tail -1)
  echo "sanitize: ThreadSanitizer: $races report(s)," \
    "${suppressed:-0} suppression(s) matched (third-party frames only)"
else
  asan="halt_on_error=1:detect_leaks=1:print_stacktrace=1:strict_string_checks=1"
  export ASAN_OPTIONS="$asan:${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
  "$BUILD/tests/unit_tests" >"$log" 2>&1 || status=$?
  reports=$(grep -c 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$log" || true)
  echo "sanitize: AddressSanitizer + UndefinedBehaviorSanitizer: $reports report(s)"
fi
grep -E '^(All tests passed|test cases:)' "$log" | tail -1 || true
if [ "$status" -ne 0 ]; then
  first='ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:\|WARNING: ThreadSanitizer'
  grep -m3 -A12 "$first" "$log" || tail -30 "$log"
  echo "sanitize: FAILED (exit $status); full log: $log"
else
  echo "sanitize: passed; full log: $log"
fi
exit "$status"
