#!/usr/bin/env bash
# Every strategy on both real-data benches: FedAvg, FedAvgM, FedProx, FedAdam, FedYogi, SCAFFOLD,
# FedBN (on cnn-small-bn, beside FedAvg on the same network), Ditto and fine-tuning, each over
# RUNS seeds (simulate --runs). Prints, per bench and strategy, the pooled
# ROC AUC on the union of held-out images and pooled/centralised (mean +- sd), how often the
# federation's model (pooled, or personalised where the strategy makes one) beat each site's
# local-only model, the round time and the bytes each round moves. Needs ../shared/data.
#   bench/strategy_table.sh [RUNS] [BENCH...]   (default 5; benches: two-institutions nih-pneumonia)
#   STRATEGIES="scaffold fedbn" bench/strategy_table.sh   (a subset)
# About 1 minute per run on 2 cores: 11 strategies x 2 benches x 5 runs is nearly two hours.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
shift || true
benches=("${@:-two-institutions}")
[ $# -eq 0 ] && benches=(two-institutions nih-pneumonia)
out="$(mktemp -d)"
trap 'rm -rf "$out" configs/bench/.strategy-*.yaml' EXIT
declare -A extra=(
  [fedavg]=""
  [fedavgm]=$'  server_momentum: 0.5'
  [fedprox]=$'  proximal_mu: 0.1'
  [fedadam]=$'  server_optimizer:\n    kind: adam'
  [fedyogi]=$'  server_optimizer:\n    kind: yogi'
  [ditto]=$'  personalization:\n    method: ditto\n    epochs: 1\n    lambda: 0.1'
  [ditto-0.01]=$'  personalization:\n    method: ditto\n    epochs: 1\n    lambda: 0.01'
  [finetune]=$'  personalization:\n    method: finetune\n    epochs: 1'
  [scaffold]=$'  scaffold: true'
  [fedavg-bn]=""
  [fedbn]=$'  fedbn:\n    pooled_statistics: site-average'
)
declare -A model=([fedavg-bn]=cnn-small-bn [fedbn]=cnn-small-bn)
read -r -a strategies <<< "${STRATEGIES:-fedavg fedavgm fedprox fedadam fedyogi scaffold fedavg-bn fedbn ditto ditto-0.01 finetune}"
for bench in "${benches[@]}"; do
  for s in "${strategies[@]}"; do
    cfg="configs/bench/.strategy-$bench-$s.yaml"  # beside the base: its relative paths hold
    printf '%s\n' "${extra[$s]}" | sed '/^$/d' > "$out/snippet"
    # The bench's own server_momentum goes (FedAvgM adds it back); the strategy's keys follow
    # the job's first `seed:` line.
    sed -e '/^  server_momentum:/d' -e "s/^  model: cnn-small$/  model: ${model[$s]:-cnn-small}/" \
      -e "0,/^  seed:/{/^  seed:/r $out/snippet
}" "configs/bench/$bench.yaml" > "$cfg"
    echo "== $bench $s" >&2
    build/fedxray simulate --config "$cfg" --runs "$runs" --json "$out/$bench-$s.json" \
      > "$out/$bench-$s.log" 2>&1 || { cat "$out/$bench-$s.log"; exit 1; }
  done
done
python3 - "$out" "$runs" "${strategies[*]}" "${benches[@]}" <<'PY'
import json, statistics, sys
out, runs, strategies, benches = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4:]
def ms(v):
    return (statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0)
table = {}
for bench in benches:
    print(f"\n{bench}: {runs} seeds, ROC AUC on the union of held-out images (mean +- sd)")
    print(f"{'strategy':10} {'pooled AUC':>15} {'pooled/central':>15} {'fed >= local':>13} "
          f"{'worst site fed-local':>21} {'s/round':>8} {'MB/round':>9}")
    for s in strategies:
        j = json.load(open(f"{out}/{bench}-{s}.json"))
        rs = j["runs"] if "runs" in j else [j]
        pooled = [r["all_held_out"]["pooled"]["roc_auc"] for r in rs]
        ratio = [r["all_held_out"]["pooled"]["roc_auc"] / r["all_held_out"]["centralised"]["roc_auc"] for r in rs]
        wins = sum(1 for r in rs for site in r["sites"] if site["federation_beats_local"])
        pairs = sum(len(r["sites"]) for r in rs)
        worst = []
        for r in rs:
            gaps = []
            for site in r["sites"]:
                best = site["pooled"]["roc_auc"]
                if "personalised" in site and site["personalised"]["roc_auc"] is not None:
                    best = max(best, site["personalised"]["roc_auc"])
                if site["local_only"]["roc_auc"] is not None and best is not None:
                    gaps.append(best - site["local_only"]["roc_auc"])
            worst.append(min(gaps))
        rsec = ms([r["round_seconds"] for r in rs])
        mb = rs[0]["bytes_per_round"] / 1e6
        p, q, w = ms(pooled), ms(ratio), ms(worst)
        table.setdefault(bench, {})[s] = {"pooled_auc": p, "pooled_over_centralised": q,
                                          "federation_ge_local": [wins, pairs],
                                          "worst_site_gap": w, "round_seconds": rsec[0],
                                          "mb_per_round": mb}
        print(f"{s:10} {p[0]:7.3f} +- {p[1]:.3f} {q[0]:7.3f} +- {q[1]:.3f} {wins:>6} of {pairs:<4}"
              f" {w[0]:+12.3f} +- {w[1]:.3f} {rsec[0]:8.2f} {mb:9.2f}")
print(json.dumps({"bench": "strategy_table", "runs": runs, "table": table}))
PY
