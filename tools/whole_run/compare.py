#!/usr/bin/env python3
"""Whole-run timing: the official WeakNAS logic (scikit-learn, float64) vs `weaknas run`.

One paper-default NAS-Bench-201 CIFAR-10 WeakNAS run (I 10, M 10, top-N 100 constant, keep
every queried cell, MLP 4 x 1000 with max_iter 100, targets standardised with the whole
space's mean and population std of the search metric, a final fit at the budget for the
predicted top-1 the official code reports) is timed, seed by seed and alternating, as:

- `sklearn`: a transcription of the loop of the official `WeakNAS.py` with scikit-learn's
  MLPRegressor in float64 (what the official code runs), in this process;
- `weaknas-<precision>`: `weaknas run` of a one-method spec with the same budget and seed, as
  a subprocess (process start and store load included; with its per-iteration diagnostics,
  as a user runs it), for each precision asked (f32 and bf16 by default).

Search metric: the 2020-API mean validation accuracy of cifar10-valid (`c10v_val_mean_v1` in
the CSV; the store's `cifar10-valid/x-valid-api2020@200`), what the official code searched.
The two sides draw different random numbers, so the runs differ; the script checks that
both reach a plausible incumbent and reports the time ratio per seed and its geometric mean.

Each side is timed in wall-clock seconds and in CPU seconds (the process's user + system
time: `time.process_time` for scikit-learn, the child's rusage for `weaknas run`); the CPU
ratio is the one that survives other load on the machine. To compare one core against one
core, run the script under `taskset -c N` with `OMP_NUM_THREADS=1`: the weaknas child
inherits the affinity and sizes its thread pool from it. The header names the CPU model and
the CPUs this process may use. With `--out FILE` every finished seed is appended to a CSV at
once (budget, seed, side, wall_s, cpu_s, incumbent), so an interrupted session keeps its
finished seeds; `--first-seed` continues from where it stopped.

Usage (not run in CI; measured on one core of the project's Xeon: 200 queries take about
4 minutes per seed for all three sides, 1000 queries about 35 minutes, 21-24 of them
scikit-learn's):
    python3 tools/whole_run/compare.py [--seeds 3] [--first-seed 0] [--budgets 200 1000]
        [--precisions f32 bf16] [--weaknas PATH] [--csv PATH] [--hidden 1000,1000,1000,1000]
        [--out results.csv]

Needs the NB201 store with the CSV import (`weaknas data import nb201-csv
../shared/data/nasbench201`) under $WEAKNAS_HOME. scikit-learn and numpy are installed with
pip into tools/whole_run/.venv when they are not importable (the script re-executes itself).
"""

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))
import toolenv  # noqa: E402


def ensure_packages():
    toolenv.ensure_packages(__file__, ["scikit-learn", "numpy"], ["numpy", "sklearn"])


def load_nb201(path):
    """30-dim one-hot features, search metric (2020-API validation mean), report metric."""
    import numpy as np

    feats, cols = toolenv.nb201_rows(path, ["c10v_val_mean_v1", "c10_test_mean_v1"])
    return np.asarray(feats), np.asarray(cols["c10v_val_mean_v1"]), np.asarray(cols["c10_test_mean_v1"])


def official_weaknas(x, y_search, y_report, budget, seed, hidden, max_iter):
    """The official loop (uniform sampling in the predicted top-N); returns the report
    metric of the incumbent (best search metric queried) at the budget."""
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    init, per_iter, top_n = 10, 10, 100
    rng = np.random.RandomState(seed)
    z = (y_search - y_search.mean()) / y_search.std()
    n = len(y_search)
    queried = list(rng.choice(n, init, replace=False))
    in_s = np.zeros(n, dtype=bool)
    in_s[queried] = True

    def fit_predict(k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = MLPRegressor(hidden_layer_sizes=hidden, max_iter=max_iter, random_state=seed * 1000 + k)
            model.fit(x[queried], z[queried])
        return model.predict(x)

    k = 0
    while len(queried) < budget:
        pred = fit_predict(k)
        k += 1
        rank = np.argsort(-pred, kind="stable")
        pool = [c for c in rank[:top_n] if not in_s[c]]
        m = min(per_iter, budget - len(queried))
        if len(pool) >= m:
            new = list(rng.choice(pool, m, replace=False))
        else:
            rest = [c for c in rank[top_n:] if not in_s[c]][: m - len(pool)]
            new = pool + rest
        queried.extend(new)
        in_s[new] = True
    fit_predict(k)  # the final fit at the budget (the code's reported top-1)
    best = max(queried, key=lambda c: y_search[c])
    return float(y_report[best])


SPEC = """name = "whole-run-{precision}"
seeds = "{seed}..{seed_end}"
budget = {budget}

[[benchmark]]
benchmark = "nb201"
dataset = "cifar10"
search = "cifar10-valid/x-valid-api2020@200"
report = "cifar10/ori-test@200"
noise = "mean"

[[method]]
name = "WeakNAS"
method = "weaknas"
params = {{ predictor = {{ type = "mlp", hidden = [{hidden}], max_iter = {max_iter}, precision = "{precision}" }} }}
"""


def weaknas_run(binary, workdir, precision, budget, seed, hidden, max_iter):
    spec = os.path.join(workdir, f"spec-{precision}-{budget}-{seed}.toml")
    with open(spec, "w") as f:
        f.write(
            SPEC.format(
                precision=precision,
                seed=seed,
                seed_end=seed + 1,
                budget=budget,
                hidden=", ".join(str(h) for h in hidden),
                max_iter=max_iter,
            )
        )
    out = os.path.join(workdir, f"out-{precision}-{budget}-{seed}")
    cpu0 = children_cpu()
    t = time.perf_counter()
    p = subprocess.run(
        [binary, "run", spec, "--out", out, "--jobs", "1", "--quiet"],
        capture_output=True,
        text=True,
    )
    secs = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"weaknas run failed ({precision}, budget {budget}, seed {seed}):\n{p.stdout}{p.stderr}")
    return secs, children_cpu() - cpu0


def children_cpu():
    """User + system CPU seconds of the finished children of this process."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (or the platform's processor string)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


def usable_cpus():
    """The CPUs this process may run on (its affinity), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def geomean(v):
    return math.exp(sum(math.log(a) for a in v) / len(v)) if v else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3, help="how many seeds")
    ap.add_argument("--first-seed", type=int, default=0, help="the first seed")
    ap.add_argument("--out", default=None, help="append every finished seed to this CSV")
    ap.add_argument("--budgets", type=int, nargs="+", default=[200])
    ap.add_argument("--precisions", nargs="+", default=["f32", "bf16"])
    ap.add_argument("--weaknas", default=None, help="the weaknas binary (default: build it with cargo)")
    ap.add_argument("--csv", default=os.path.join(REPO, "..", "shared", "data", "nasbench201", "nb201_200ep.csv"))
    ap.add_argument("--hidden", default="1000,1000,1000,1000")
    ap.add_argument("--max-iter", type=int, default=100)
    args = ap.parse_args()
    ensure_packages()
    import numpy as np
    import sklearn

    hidden = tuple(int(h) for h in args.hidden.split(","))
    binary = args.weaknas
    if binary is None:
        subprocess.check_call(["cargo", "build", "--release", "--workspace", "--quiet"], cwd=REPO)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
        binary = os.path.join(target, "release", "weaknas")
    x, ys, yr = load_nb201(args.csv)
    print(
        f"# whole-run timing: NB201 CIFAR-10, WeakNAS paper defaults, MLP {args.hidden} x "
        f"max_iter {args.max_iter}; scikit-learn {sklearn.__version__} (float64, numpy "
        f"{np.__version__}) vs {binary}; {cpu_model()}, {usable_cpus()} usable CPUs "
        f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})",
        flush=True,
    )
    sides_all = ["sklearn"] + [f"weaknas-{p}" for p in args.precisions]
    with tempfile.TemporaryDirectory() as work:
        for budget in args.budgets:
            rows = []
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                sides = list(sides_all)
                if seed % 2 == 1:
                    sides.reverse()  # alternate the order: drift in machine load hits both
                row = {"seed": seed}
                for side in sides:
                    if side == "sklearn":
                        c, t = time.process_time(), time.perf_counter()
                        row["incumbent"] = official_weaknas(x, ys, yr, budget, seed, hidden, args.max_iter)
                        row[side] = (time.perf_counter() - t, time.process_time() - c)
                    else:
                        prec = side.split("-", 1)[1]
                        row[side] = weaknas_run(binary, work, prec, budget, seed, args.hidden.split(","), args.max_iter)
                rows.append(row)
                if args.out:
                    append_csv(args.out, budget, row, sides_all)
                cells = "  ".join(f"{s} {row[s][0]:.1f} s (cpu {row[s][1]:.1f} s)" for s in sides_all)
                ratios = "  ".join(ratio_text(row, p) for p in args.precisions)
                print(f"budget {budget} seed {seed}: {cells}  ratio {ratios}  (sklearn incumbent {row['incumbent']:.2f})", flush=True)
            for p in args.precisions:
                for i, what in [(0, "wall"), (1, "cpu")]:
                    r = [row["sklearn"][i] / row[f"weaknas-{p}"][i] for row in rows]
                    print(
                        f"budget {budget}: sklearn / weaknas-{p} ({what}) = x{geomean(r):.2f} (geometric "
                        f"mean over {len(r)} seeds; min x{min(r):.2f}, max x{max(r):.2f})",
                        flush=True,
                    )


def ratio_text(row, precision):
    """`x<wall ratio> (<precision>; cpu x<cpu ratio>)` of one seed."""
    s, w = row["sklearn"], row[f"weaknas-{precision}"]
    return f"x{s[0] / w[0]:.2f} ({precision}; cpu x{s[1] / w[1]:.2f})"


def append_csv(path, budget, row, sides):
    """Appends one finished seed (a line per side) to the results CSV, with a header when
    the file is new."""
    import csv

    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["budget", "seed", "side", "wall_s", "cpu_s", "incumbent"])
        for side in sides:
            inc = f"{row['incumbent']:.4f}" if side == "sklearn" else ""
            w.writerow([budget, row["seed"], side, f"{row[side][0]:.2f}", f"{row[side][1]:.2f}", inc])


if __name__ == "__main__":
    main()
