#!/usr/bin/env bash
# Fuzzes every parser that reads outside input (the targets in fuzz/) with libFuzzer, one target
# at a time, for [seconds] each (default 60). On demand, not in CI.
#
#   scripts/fuzz.sh [seconds] [target ...]     e.g. scripts/fuzz.sh 120 npz csv_manifest
#
# Builds the torch-free libraries and fuzz/ with clang-14, ASan and UBSan in build-fuzz/ (the
# same build dir scripts/sanitize.sh uses), under the shared build lock. Seeds come from
# fuzz/corpus/<target>/ and are copied to build-fuzz/fuzz-corpus/<target>/, where new inputs
# accumulate between runs (the repository's seeds stay small). A finding's reproducer is written
# to build-fuzz/fuzz-findings/<target>/; replay it with build-fuzz/fuzz/fuzz_<target> <file>.
# Prints per target: executions, seconds and whether it found anything; exits 1 if any did.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
BUILD=build-fuzz
LOCK=/tmp/fedxray-build.lock

PACKAGES=(clang-14 libfuzzer-14-dev)
./scripts/install_packages.sh fuzz "${PACKAGES[@]}"

if [ ! -f "$BUILD/build.ninja" ]; then
  flock "$LOCK" env CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFEDXRAY_FUZZ=ON -DFEDXRAY_SANITIZE=address,undefined
fi
flock "$LOCK" cmake --build "$BUILD" --target fuzz_targets

if (($#)); then
  targets=("$@")
else
  mapfile -t targets < <(sed -n 's/^fedxray_fuzz_target(\([a-z_]*\) .*/\1/p' fuzz/CMakeLists.txt)
fi

export ASAN_OPTIONS="detect_leaks=1:print_stacktrace=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
found=0
summary=()
for t in "${targets[@]}"; do
  binary="$BUILD/fuzz/fuzz_$t"
  corpus="$BUILD/fuzz-corpus/$t"
  findings="$BUILD/fuzz-findings/$t"
  log="$BUILD/fuzz-logs/$t.log"
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  if [ -d "fuzz/corpus/$t" ]; then cp -n "fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true; fi
  # Real DICOM files are seeds too, taken from the data folder beside the repo, never committed.
  samples="${FEDXRAY_SHARED_DATA:-../shared/data}/dicom-cr-samples/pydicom-dicomdir-cr"
  if [ "$t" = dicom_deidentifier ] && [ -d "$samples" ]; then
    ls -S -r "$samples"/*.dcm 2>/dev/null | head -n 2 | xargs -r -I{} cp -n {} "$corpus"/
  fi
  echo "fuzz: $t for ${seconds}s (log: $log)"
  start=$(date +%s)
  status=0
  # One process, one worker, at most 2 GiB and 20 s per input.
  "$binary" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 \
    -print_final_stats=1 -artifact_prefix="$findings/" >"$log" 2>&1 || status=$?
  elapsed=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$runs" ] || runs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
  if [ "$status" -eq 0 ]; then
    verdict="no findings"
  else
    found=1
    pattern='ERROR: [A-Za-z]*Sanitizer: [a-z-]*\|runtime error: .*'
    pattern+='\|ERROR: libFuzzer: [a-z -]*[a-z]\|terminate called.*'
    kind=$(grep -m1 -o "$pattern" "$log" || echo "exit $status")
    # The first frame in the project's own code (not libFuzzer's, libc's or the sanitizer's).
    where=$(sed -n '/ERROR: \|runtime error: /,$p' "$log" |
      grep -m1 -o " $PWD/[a-z-]*/[a-z_]*\.\(cc\|h\):[0-9]*" || true)
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    verdict="FOUND: $kind${where:+ at${where}}; reproducer ${artifact:-none written}"
  fi
  summary+=("$(printf '%-22s %10s executions %5ss  %s' "$t" "${runs:-?}" "$elapsed" "$verdict")")
done

echo
echo "fuzz: results (${seconds}s per target)"
printf '  %s\n' "${summary[@]}"
exit "$found"
