#!/usr/bin/env bash
# Label audit (confident learning, `fedxray audit-labels`) measured on real data with known
# label noise: a copy of a manifest (in a temp folder; the data is never copied) has RATE of its
# labels flipped at random to another class; a federation (simulate, 3 sites) trains on the noisy
# labels; audit-labels then lists suspects over all images, and the flagged rows are compared
# with the flipped ones. Prints precision and recall per rate. Needs ../shared/data.
#   bench/label_audit.sh [RATE...]        (default 0.05 0.10; the mednist body-part set)
# About 2 minutes per rate on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
rates=("${@:-0.05}")
[ $# -eq 0 ] && rates=(0.05 0.10)
data="$(cd ../shared/data/mednist && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
names="AbdomenCT BreastMRI CXR ChestCT Hand HeadCT"
for rate in "${rates[@]}"; do
  # Line 1 is the header; flipped.txt lists the manifest lines whose label was changed.
  awk -F, -v OFS=, -v rate="$rate" -v dir="$data" -v names="$names" -v flips="$out/flipped.txt" '
    BEGIN { srand(17); n = split(names, cls, " ") }
    NR == 1 { print; next }
    { $1 = dir "/" $1
      if (rand() < rate) {
        k = int(rand() * (n - 1)) + 1; other = 0
        for (j = 1; j <= n; j++) if (cls[j] != $2 && ++other == k) { $2 = cls[j]; break }
        print NR > flips
      }
      print }' "$data/labels.csv" > "$out/noisy.csv"
  cat > "$out/data.yaml" <<YAML
data:
  source: image_folder
  manifest: $out/noisy.csv
  image_column: file
  label_column: label
  class_names: [AbdomenCT, BreastMRI, CXR, ChestCT, Hand, HeadCT]
  allow_paths_outside_manifest_folder: true
YAML
  build/fedxray simulate --config configs/bench/mednist-bodypart.yaml --data "$out/data.yaml" \
    --workdir "$out/sim" --keep > "$out/simulate.log" 2>&1
  build/fedxray audit-labels --model "$out/sim/state/mednist-bodypart/pooled.fxm" \
    --data "$out/data.yaml" --out "$out/suspects.csv" > "$out/audit.log"
  # suspects.csv origin column: "<manifest>:<line>: <file>"
  awk -F, 'NR > 1 { split($2, a, ":"); print a[2] }' "$out/suspects.csv" | sort > "$out/flagged.txt"
  sort "$out/flipped.txt" > "$out/flipped.sorted"
  flipped=$(wc -l < "$out/flipped.sorted")
  flagged=$(wc -l < "$out/flagged.txt")
  hits=$(comm -12 "$out/flipped.sorted" "$out/flagged.txt" | wc -l)
  awk -v r="$rate" -v f="$flipped" -v g="$flagged" -v h="$hits" 'BEGIN {
    printf "noise %.2f: %d labels flipped, %d flagged, %d of them flipped: precision %.3f recall %.3f\n",
           r, f, g, h, (g ? h / g : 0), (f ? h / f : 0) }'
done
