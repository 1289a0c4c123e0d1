#!/usr/bin/env bash
# Robust aggregation under attack: configs/bench/five-sites-attack.yaml (5 PneumoniaMNIST sites,
# site 5 sends a 10x sign-flipped update every round) run with FedAvg and each robust rule, with
# and without the attacker, RUNS seeds each. Prints the pooled ROC AUC on the union of held-out
# images (mean +- sd) per variant and, per rule, attacked - clean. Needs ../shared/data.
#   bench/robust_attack.sh [RUNS]        (default 3; about 10 s per run on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
base=configs/bench/five-sites-attack.yaml
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
declare -A rules=(
  [fedavg]=""
  [median]=$'  robust_aggregation:\n    rule: median'
  [trimmed_mean]=$'  robust_aggregation:\n    rule: trimmed_mean\n    trim_fraction: 0.2'
  [multi_krum]=$'  robust_aggregation:\n    rule: multi_krum\n    byzantine_sites: 1'
)
for rule in fedavg median trimmed_mean multi_krum; do
  for attack in clean attacked; do
    cfg="configs/bench/.robust-$rule-$attack.yaml"  # beside the base: its relative paths hold
    printf '%s\n' "${rules[$rule]}" > "$out/snippet"
    sed -e "/# (bench\/robust_attack.sh adds robust_aggregation here)/r $out/snippet" "$base" |
      { if [ "$attack" = clean ]; then sed '/^  attack:/,$d'; else cat; fi; } > "$cfg"
    build/fedxray simulate --config "$cfg" --runs "$runs" --json "$out/$rule-$attack.json" \
      > "$out/$rule-$attack.log" 2>&1 || { rm -f "$cfg"; cat "$out/$rule-$attack.log"; exit 1; }
    rm -f "$cfg"
  done
done
python3 - "$out" "$runs" <<'PY'
import json, sys
out, runs = sys.argv[1], int(sys.argv[2])
def verdict(name):
    j = json.load(open(f"{out}/{name}.json"))
    v = j["verdict"] if "verdict" in j else None
    if v:
        return v["pooled_auc_mean"], v["pooled_auc_sd"], j["seconds"] / runs
    auc = j["all_held_out"]["pooled"]["roc_auc"]
    return auc, 0.0, j["seconds"]
print(f"pooled ROC AUC on the union of held-out images, {runs} seeds (mean +- sd)")
print(f"{'rule':14} {'clean':>15} {'attacked':>15} {'attacked-clean':>15} {'s/run':>7}")
rows = {}
for rule in ["fedavg", "median", "trimmed_mean", "multi_krum"]:
    c, cs, t = verdict(f"{rule}-clean")
    a, as_, t2 = verdict(f"{rule}-attacked")
    rows[rule] = {"clean": c, "clean_sd": cs, "attacked": a, "attacked_sd": as_,
                  "seconds_per_run": (t + t2) / 2}
    print(f"{rule:14} {c:8.3f} +- {cs:.3f} {a:8.3f} +- {as_:.3f} {a - c:15.3f} {(t + t2) / 2:7.1f}")
print(json.dumps({"bench": "robust_attack", "runs": runs, "rules": rows}))
PY
