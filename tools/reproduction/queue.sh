#!/usr/bin/env bash
# The runs the reproduction report (docs/reproduction/) still lacks, as resumable batches on
# two lanes that run side by side, then the report itself. Every batch is one `weaknas run`
# that skips the runs already finished, so the script can be stopped at any time and started
# again (across sessions or machines: results are identical for any thread count).
#
#   lane A: the ablations (experiments/ablation-{predictor,topn}.toml) in batches of 5 seeds,
#           every arm of both specs per batch, so that a partial lane still leaves each
#           ablation with complete arms; then WeakNAS until the optimum
#           (experiments/paper-optimum.toml) on seeds 10-99, 5 seeds per dataset in turn;
#   lane B: WeakNAS-EI of experiments/paper-nb201.toml, 3 seeds per dataset in turn.
#
# Each lane is niced and runs `--jobs J` with J = half the cores (at least 1); each invocation
# is timed by /usr/bin/time into runs/reproduction-logs/lane-{A,B}.log, which
# tools/reproduction/cost_table.py turns into cost.md's table. Finished runs made by another
# build are kept (`--keep-stale`; the tables then say so). When both lanes are done the report
# is rendered with `weaknas claims`.
#
# Usage: tools/reproduction/queue.sh [WEAKNAS]   (default: the release build of this checkout)
set -uo pipefail
cd "$(dirname "$0")/../.."
W="${1:-${CARGO_TARGET_DIR:-target}/release/weaknas}"
[ -x "$W" ] || { echo "no weaknas binary at $W (cargo build --release first, or pass its path)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time is required (apt-get install time)" >&2; exit 2; }
LOGS=runs/reproduction-logs
mkdir -p "$LOGS"
J=$(( $(nproc) / 2 )); [ "$J" -ge 1 ] || J=1
DATASETS=("cifar10" "cifar100 (validation)" "ImageNet16-120 (validation)")

# One timed invocation: `step ARGS...` runs `weaknas run ARGS... --quiet --keep-stale --jobs J`.
step() {
  local cmd=(nice -n 19 "$W" run "$@" --quiet --keep-stale --jobs "$J")
  echo "=== $(date -u +%FT%TZ) start: $(printf '%q ' "${cmd[@]}")"
  /usr/bin/time -f "=== cpu user %U s sys %S s wall %e s" "${cmd[@]}"
  echo "=== $(date -u +%FT%TZ) rc=$?"
}

lane_a() {
  local s d a
  for s in 0 5 10 15 20 25; do
    for a in predictor topn; do
      step experiments/ablation-$a.toml --out runs/ablation-$a --seeds "$s..$((s + 5))"
    done
  done
  for s in $(seq 10 5 95); do
    for d in "${DATASETS[@]}"; do
      step experiments/paper-optimum.toml --out runs/paper-optimum --seeds "$s..$((s + 5))" \
        --methods WeakNAS --datasets "$d"
    done
  done
}

lane_b() {
  local s d
  for s in $(seq 0 3 27); do
    for d in "${DATASETS[@]}"; do
      step experiments/paper-nb201.toml --out runs/paper-nb201 --seeds "$s..$((s + 3))" \
        --methods WeakNAS-EI --datasets "$d"
    done
  done
}

lane_a >> "$LOGS/lane-A.log" 2>&1 &
lane_b >> "$LOGS/lane-B.log" 2>&1 &
wait
"$W" claims experiments/paper-nb201.toml experiments/paper-nb201-sensitivity.toml \
  experiments/paper-optimum.toml experiments/ablation-predictor.toml experiments/ablation-topn.toml \
  --runs-root runs --out docs/reproduction
echo "report rendered; the CPU-time table: python3 tools/reproduction/cost_table.py $LOGS/lane-*.log"
