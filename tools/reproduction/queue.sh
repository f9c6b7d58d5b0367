#!/usr/bin/env bash
# The runs the reproduction report (docs/reproduction/) still lacks, as resumable batches on
# two lanes that run side by side, then the report itself. Every batch is one `weaknas run`
# that skips the runs already finished, so the script can be stopped at any time and started
# again (across sessions or machines: results are identical for any thread count).
#
# Seeds go up to N (default 30, the report's bar for every method; the issue asks for 100
# where cheap, and the cheap rows come first past 30):
#   lane A: the ablations (experiments/ablation-{predictor,topn}.toml, seeds 0-29) in batches
#           of 5 seeds, every arm of both specs per batch, so that a partial lane still leaves
#           each ablation with complete arms; past 30 seeds, WeakNAS of the sensitivity spec
#           (experiments/paper-nb201-sensitivity.toml, about 50 CPU-s a run) on seeds 30..N;
#           then WeakNAS until the optimum (experiments/paper-optimum.toml) on seeds 10..N in
#           batches of 5, one dataset after the other, CIFAR-10 last (a run costs about the
#           square of its queries, and some CIFAR-10 runs need thousands);
#           then WeakNAS-EI of experiments/paper-nb201.toml on ImageNet16-120, 3 seeds at a
#           time, in runs/paper-nb201-lane-a (a copy: one result directory takes one writer);
#   lane B: WeakNAS-EI of experiments/paper-nb201.toml on CIFAR-10 and CIFAR-100 to 30 seeds,
#           3 seeds per dataset in turn; past 30 seeds, first the cheap rows of the table,
#           WeakNAS and the per-q strong predictor (about 50 CPU-s a run each) on seeds 30..N
#           in batches of 10 per dataset, then WeakNAS-EI on seeds 30..N.
# The two lanes carry about the same CPU time at N = 30 (some 4-5 CPU-hours each). When both
# are done, lane A's copy is merged back into runs/paper-nb201, the report is rendered with
# `weaknas claims` and the CPU-time table of docs/reproduction/cost.md is updated.
#
# Each lane is niced and runs `--jobs J` with J = half the cores (at least 1), so each run's
# predictor may use cores / J threads: the two lanes together run twice as many threads as
# cores. A controlled test found no gain from `--threads` keeping one per core (the
# WeakNAS-EI logs hint at ~10% less CPU per run with it: not settled, see cost.md), and with it
# a lane that finishes first would leave its cores idle
# (docs/measurements/2026-12-01-threads-side-by-side.txt); each invocation
# is timed by /usr/bin/time into runs/reproduction-logs/<start time>-lane-{A,B}.log (one pair
# per start of this script), which tools/reproduction/cost_table.py turns into cost.md's table
# (copied to docs/reproduction/cost-logs/ when the lanes are done; a run cut short copies them
# with the same two commands as the end of this script). Finished runs made by another
# build are kept (`--keep-stale`; the tables then say so). A failing invocation ends its lane
# and the report is then not rendered.
#
# Usage: tools/reproduction/queue.sh [WEAKNAS [N]]
#   WEAKNAS: the binary (default: the release build of this checkout); N: seeds per method.
set -uo pipefail
# The whole script is one compound command, read to its end before it runs: editing this file
# while a queue runs (for hours) cannot change what that queue does.
{
cd "$(dirname "$0")/../.."
W="${1:-${CARGO_TARGET_DIR:-target}/release/weaknas}"
N="${2:-30}"
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 30 ] || { echo "N must be a number >= 30, got '$N'" >&2; exit 2; }
[ -x "$W" ] || { echo "no weaknas binary at $W (cargo build --release first, or pass its path)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time is required (apt-get install time)" >&2; exit 2; }
LOGS=runs/reproduction-logs
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p "$LOGS"
J=$(( $(nproc) / 2 )); [ "$J" -ge 1 ] || J=1
C10="cifar10" C100="cifar100 (validation)" IN16="ImageNet16-120 (validation)"
LANE_A_COPY=runs/paper-nb201-lane-a

for opt in --datasets; do
  "$W" run --help | grep -q -- "$opt" ||
    { echo "$W predates 'run $opt' (build this checkout, or pass a newer binary)" >&2; exit 2; }
done
FAILED="$LOGS/$STAMP-failed-steps"

# One timed invocation: `step ARGS...` runs `weaknas run ARGS... --quiet --keep-stale --jobs J`.
# A failing invocation is recorded in $FAILED and ends its lane (the next ones would fail alike).
step() {
  local cmd=(nice -n 19 "$W" run "$@" --quiet --keep-stale --jobs "$J") rc
  echo "=== $(date -u +%FT%TZ) start: $(printf '%q ' "${cmd[@]}")"
  /usr/bin/time -f "=== cpu user %U s sys %S s wall %e s" "${cmd[@]}"
  rc=$?
  echo "=== $(date -u +%FT%TZ) rc=$rc"
  [ "$rc" -eq 0 ] || { printf '%q ' "${cmd[@]}"; echo; } >> "$FAILED"
  return "$rc"
}

lane_a() {
  local s d a
  for s in 0 5 10 15 20 25; do
    for a in predictor topn; do
      step experiments/ablation-$a.toml --out runs/ablation-$a --seeds "$s..$((s + 5))" || return
    done
  done
  for ((s = 30; s < N; s += 10)); do
    step experiments/paper-nb201-sensitivity.toml --out runs/paper-nb201-sensitivity \
      --seeds "$s..$((s + 10 < N ? s + 10 : N))" --methods WeakNAS || return
  done
  for d in "$C100" "$IN16" "$C10"; do
    for ((s = 10; s < N; s += 5)); do
      step experiments/paper-optimum.toml --out runs/paper-optimum --seeds "$s..$((s + 5 < N ? s + 5 : N))" \
        --methods WeakNAS --datasets "$d" || return
    done
  done
  # Start the copy from every run already made, so that none is made twice.
  "$W" merge --into "$LANE_A_COPY" runs/paper-nb201 || { echo "merge into $LANE_A_COPY" >> "$FAILED"; return 1; }
  for ((s = 0; s < N; s += 3)); do
    step experiments/paper-nb201.toml --out "$LANE_A_COPY" --seeds "$s..$((s + 3 < N ? s + 3 : N))" \
      --methods WeakNAS-EI --datasets "$IN16" || return
  done
}

lane_b() {
  local s d
  ei() { # WeakNAS-EI on CIFAR-10 and CIFAR-100, seeds $1..$2, 3 per dataset in turn
    for ((s = $1; s < $2; s += 3)); do
      for d in "$C10" "$C100"; do
        step experiments/paper-nb201.toml --out runs/paper-nb201 --seeds "$s..$((s + 3 < $2 ? s + 3 : $2))" \
          --methods WeakNAS-EI --datasets "$d" || return
      done
    done
  }
  ei 0 30 || return
  for d in "$C10" "$C100" "$IN16"; do
    for ((s = 30; s < N; s += 10)); do
      step experiments/paper-nb201.toml --out runs/paper-nb201 --seeds "$s..$((s + 10 < N ? s + 10 : N))" \
        --methods "WeakNAS,Strong predictor (per q)" --datasets "$d" || return
    done
  done
  ei 30 "$N"
}

lane_a > "$LOGS/$STAMP-lane-A.log" 2>&1 &
lane_b > "$LOGS/$STAMP-lane-B.log" 2>&1 &
wait
if [ -s "$FAILED" ]; then
  echo "not rendering the report: these invocations failed (see $LOGS/$STAMP-lane-*.log):" >&2
  cat "$FAILED" >&2
  exit 1
fi
if [ -d "$LANE_A_COPY" ]; then
  "$W" merge --into runs/paper-nb201 "$LANE_A_COPY" || { echo "merging $LANE_A_COPY back failed" >&2; exit 1; }
fi
"$W" claims experiments/paper-nb201.toml experiments/paper-nb201-sensitivity.toml \
  experiments/paper-optimum.toml experiments/ablation-predictor.toml experiments/ablation-topn.toml \
  --runs-root runs --out docs/reproduction
# The timing logs of this start, colour codes removed, beside the earlier ones; cost.md's table.
for lane in A B; do
  sed 's/\x1b\[[0-9;]*m//g' "$LOGS/$STAMP-lane-$lane.log" > "docs/reproduction/cost-logs/$STAMP-lane-$lane.log"
done
python3 tools/reproduction/cost_table.py --update docs/reproduction/cost.md docs/reproduction/cost-logs/*.log
echo "report rendered, docs/reproduction/cost.md updated; commit docs/reproduction"
exit
}
