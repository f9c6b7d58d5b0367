#!/usr/bin/env python3
"""Fidelity check: scikit-learn's MLPRegressor vs the harness's Rust MLP (not run in CI).

Both are trained with identical hyper-parameters on the same NAS-Bench-201 samples (features:
30-dim one-hot of the `ops` column, feature index edge*5+op; target: c10v_val_mean,
standardised with the population mean/std of the whole space as WeakNAS does), for every
(n, seed) pair, and predict every remaining cell. The script prints, per n, the held-out
Kendall tau-b and top-k hit rates (share of the predicted top-k that is in the true top-k) of
both, paired tests of the per-seed differences (Wilcoxon signed-rank and paired t), the
epochs each ran (early stopping must agree too) and the fit-time ratio.

Usage (from anywhere):
    python3 tools/sklearn_fidelity/compare.py [--seeds 20] [--sizes 100 500]
        [--hidden 1000,1000,1000,1000] [--max-iter 100] [--threads N] [--workdir DIR]

scikit-learn, scipy and numpy are installed with pip into tools/sklearn_fidelity/.venv when
they are not importable (the script re-executes itself there). The Rust side is the example
`harness/examples/mlp_fidelity.rs`, built with `cargo build --release`.
"""

import argparse
import math
import os
import shutil
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
    toolenv.ensure_packages(__file__, ["scikit-learn", "scipy", "numpy"], ["numpy", "scipy", "sklearn"])


def load_nb201(path):
    feats, cols = toolenv.nb201_rows(path, ["c10v_val_mean"])
    return feats, cols["c10v_val_mean"]


def write_split(path, x, y):
    with open(path, "w") as f:
        f.write(",".join([f"f{i}" for i in range(len(x[0]))] + ["y"]) + "\n")
        for xi, yi in zip(x, y):
            f.write(",".join("1" if v == 1.0 else "0" for v in xi) + f",{float(yi)!r}\n")


def true_ranks(truth):
    import numpy as np

    # 1 + number of cells with a strictly higher truth (ties share the best rank)
    s = np.sort(truth)
    return len(truth) - np.searchsorted(s, truth, side="right") + 1


def hit_rate(pred, truth, k):
    import numpy as np

    order = np.lexsort((np.arange(len(pred)), -pred))  # descending, ties by lower index
    return float(np.mean(true_ranks(truth)[order[:k]] <= k))


def ci95(d):
    import numpy as np
    from scipy import stats

    d = np.asarray(d, dtype=float)
    if len(d) < 2:
        return (float("nan"), float("nan"))
    h = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return (d.mean() - h, d.mean() + h)


def paired(a, b):
    import numpy as np
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    d = a - b
    if np.all(d == 0):
        return 1.0, 1.0
    try:
        pw = stats.wilcoxon(a, b).pvalue
    except ValueError:
        pw = float("nan")
    pt = stats.ttest_rel(a, b).pvalue
    return float(pw), float(pt)


def compare_pair(rows, args, sa, sb, label):
    """Prints paired tests of side `sa` vs side `sb` (metrics tau, hit@k, epochs; fit time)."""
    import numpy as np

    print()
    print(f"== {label[sa]} vs {label[sb]} ==")
    # Holm adjustment of the Wilcoxon p-values over every (n, metric) row, epochs included.
    fam = []
    for n in args.sizes:
        sub = [r for r in rows if r["n"] == n]
        for metric in ["tau"] + [f"hit{k}" for k in args.ks] + ["epochs"]:
            a = [r[f"{sa}_{metric}"] for r in sub]
            b = [r[f"{sb}_{metric}"] for r in sub]
            fam.append(((n, metric), paired(a, b)[0]))
    order = sorted(range(len(fam)), key=lambda i: (math.isnan(fam[i][1]), fam[i][1]))
    holm, running = {}, 0.0
    for rank, i in enumerate(order):
        p = fam[i][1]
        adj = 1.0 if math.isnan(p) else min(1.0, (len(fam) - rank) * p)
        running = max(running, adj)
        holm[fam[i][0]] = running
    ha, hb = f"{label[sa]} mean±sd", f"{label[sb]} mean±sd"
    hdr = f"{'n':>5} {'metric':<10} {ha:>20} {hb:>20} {'diff 95% CI':>20} {'Wilcoxon p':>10} {'paired-t p':>10} {'Holm p':>7}"
    print(hdr)
    print("-" * len(hdr))
    for n in args.sizes:
        sub = [r for r in rows if r["n"] == n]
        for metric in ["tau"] + [f"hit{k}" for k in args.ks]:
            a = np.array([r[f"{sa}_{metric}"] for r in sub])
            b = np.array([r[f"{sb}_{metric}"] for r in sub])
            lo, hi = ci95(a - b)
            pw, pt = paired(a, b)
            print(f"{n:>5} {metric:<10} {a.mean():>12.4f}±{a.std(ddof=1):<7.4f} {b.mean():>12.4f}±{b.std(ddof=1):<7.4f} "
                  f"[{lo:+.4f}, {hi:+.4f}] {pw:>10.3f} {pt:>10.3f} {holm[(n, metric)]:>7.3f}")
        ea = np.array([r[f"{sa}_epochs"] for r in sub])
        eb = np.array([r[f"{sb}_epochs"] for r in sub])
        pw, pt = paired(ea, eb)
        print(f"{n:>5} {'epochs':<10} {ea.mean():>12.1f}±{ea.std(ddof=1):<7.1f} {eb.mean():>12.1f}±{eb.std(ddof=1):<7.1f} "
              f"{'':>20} {pw:>10.3f} {pt:>10.3f} {holm[(n, 'epochs')]:>7.3f}")
        fa = np.array([r[f"{sa}_fit"] for r in sub])
        fb = np.array([r[f"{sb}_fit"] for r in sub])
        pa, pb = np.median(fa / ea), np.median(fb / eb)  # seconds per epoch
        print(f"{n:>5} fit time (runs not interleaved; see the fixed-epoch timing): median {np.median(fa):.2f} s vs "
              f"{np.median(fb):.2f} s; per epoch {pa:.4f} s vs {pb:.4f} s ({pa / pb:.1f}x)")
    print()


def main():
    ensure_packages()
    import numpy as np
    import sklearn
    from scipy import stats
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", default=os.path.join(REPO, "..", "shared", "data", "nasbench201", "nb201_200ep.csv"))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--seed-offset", type=int, default=0, help="first seed (for fresh replications)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 500])
    ap.add_argument("--hidden", default="1000,1000,1000,1000")
    ap.add_argument("--max-iter", type=int, default=100)
    ap.add_argument("--threads", type=int, default=0, help="Rust threads (0 = all cores)")
    ap.add_argument("--ks", type=int, nargs="+", default=[10, 50, 100])
    ap.add_argument("--workdir", default=None, help="keep the splits and predictions here")
    ap.add_argument("--timing-sizes", type=int, nargs="*", default=[100, 500, 1000],
                    help="n for the fixed-epoch timing (empty: skip)")
    ap.add_argument("--timing-epochs", type=int, default=20)
    ap.add_argument("--timing-reps", type=int, default=3)
    ap.add_argument("--precisions", nargs="+", default=["f32"],
                    help="Rust MLP precisions to compare (f32, bf16, bf16-amx, bf16-avx512)")
    ap.add_argument("--no-sklearn", action="store_true",
                    help="skip scikit-learn (compare the Rust precisions only)")
    args = ap.parse_args()

    hidden = tuple(int(h) for h in args.hidden.split(","))
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if not os.path.exists(args.csv):
        sys.exit(f"compare.py: {args.csv} not found (pass --csv)")
    feats, target = load_nb201(args.csv)
    X = np.asarray(feats, dtype=np.float64)
    y_raw = np.asarray(target, dtype=np.float64)
    y = (y_raw - y_raw.mean()) / y_raw.std()  # population std over the whole space
    N = len(y)

    work = args.workdir or tempfile.mkdtemp(prefix="sklearn_fidelity_")
    os.makedirs(work, exist_ok=True)
    for f in os.listdir(work):
        if f.endswith(".csv") or f == "config.toml":
            os.remove(os.path.join(work, f))
    # sklearn defaults (alpha 1e-4, adam, lr 1e-3, betas, eps, batch auto, tol 1e-4,
    # n_iter_no_change 10, shuffle) are also the Rust defaults; only these two differ.
    with open(os.path.join(work, "config.toml"), "w") as f:
        f.write(f"hidden = [{', '.join(map(str, hidden))}]\nmax_iter = {args.max_iter}\n")

    splits = []
    for n in args.sizes:
        for s in range(args.seed_offset, args.seed_offset + args.seeds):
            rng = np.random.default_rng(1000 * n + s)
            perm = rng.permutation(N)
            tr, te = np.sort(perm[:n]), np.sort(perm[n:])
            name = f"n{n:05d}_s{s:03d}"
            write_split(os.path.join(work, f"{name}_train.csv"), X[tr], y[tr])
            write_split(os.path.join(work, f"{name}_test.csv"), X[te], y[te])
            splits.append((name, n, s, tr, te))

    # The workspace's feature set (as `cargo test --release --workspace` builds it): `-p
    # weaknas-harness` alone would resolve features anew and compile shared dependencies again.
    print("building the Rust example (cargo build --release --workspace --examples) ...", file=sys.stderr)
    subprocess.check_call(["cargo", "build", "--release", "-q", "--workspace", "--examples"], cwd=REPO)
    target_dir = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    exe = os.path.join(target_dir, "release", "examples", "mlp_fidelity")
    if args.seeds > 0:
        # Sides: scikit-learn ("sk", unless --no-sklearn) and the Rust MLP at each precision.
        sides = ([] if args.no_sklearn else ["sk"]) + args.precisions
        label = {"sk": "sklearn"}
        rust_times = {}
        for prec in args.precisions:
            label[prec] = f"rust-{prec}"
            cmd = [exe, work, str(args.threads if args.threads > 0 else os.cpu_count()), prec]
            print(f"running {' '.join(cmd)}", file=sys.stderr)
            subprocess.check_call(cmd, cwd=REPO)
            with open(os.path.join(work, f"rust-{prec}_times.csv")) as f:
                for line in f:
                    name, fit_s, _pred_s, epochs = line.strip().split(",")
                    rust_times[(prec, name)] = (float(fit_s), int(epochs))

        rows = []
        for name, n, s, tr, te in splits:
            truth = y[te]
            r = dict(name=name, n=n, seed=s)
            preds = {}
            if "sk" in sides:
                m = MLPRegressor(hidden_layer_sizes=hidden, max_iter=args.max_iter, random_state=s)
                t0 = time.perf_counter()
                m.fit(X[tr], y[tr])
                r["sk_fit"], r["sk_epochs"] = time.perf_counter() - t0, m.n_iter_
                preds["sk"] = m.predict(X[te])
            for prec in args.precisions:
                preds[prec] = np.loadtxt(os.path.join(work, f"{name}_rust-{prec}_pred.csv"), dtype=np.float64)
                r[f"{prec}_fit"], r[f"{prec}_epochs"] = rust_times[(prec, name)]
            for side, p in preds.items():
                r[f"{side}_tau"] = stats.kendalltau(p, truth).statistic
                for k in args.ks:
                    r[f"{side}_hit{k}"] = hit_rate(p, truth, k)
            rows.append(r)
            print(f"  {name}: tau " + ", ".join(f"{label[x]} {r[x + '_tau']:.4f}" for x in sides)
                  + " | fit " + ", ".join(f"{r[x + '_fit']:.2f} s" for x in sides)
                  + " | epochs " + ", ".join(str(r[x + "_epochs"]) for x in sides), file=sys.stderr)

        print()
        print(f"{', '.join(label[x] for x in sides)}: scikit-learn {sklearn.__version__} (float64, numpy "
              f"{np.__version__}), Rust MLP (gemm f32 / bf16 kernels); hidden {hidden}, max_iter {args.max_iter}, "
              f"{args.seeds} seeds, held-out = all other cells")
        print(f"data: {os.path.abspath(args.csv)} ({N} cells), target c10v_val_mean standardised")
        pairs = [(a, b) for i, a in enumerate(sides) for b in sides[i + 1:]]
        for a_side, b_side in pairs:
            compare_pair(rows, args, a_side, b_side, label)
        print("Indistinguishable = no Holm-adjusted p-value below 0.05 (family: every row of that "
              "comparison); unadjusted p-values and the 95% CIs of the mean difference are shown too.")

    if args.timing_sizes:
        # Fit time at a fixed number of epochs (early stopping off on both sides), the two
        # sides interleaved, best of --timing-reps: less sensitive to other load than the
        # per-split times above.
        E = args.timing_epochs
        print()
        print(f"fit time at exactly {E} epochs (best of {args.timing_reps}, interleaved; "
              f"Rust threads: {args.threads or 'all'}; (Nx) = speed vs scikit-learn, or vs rust-f32 "
              f"without it):")
        for n in args.timing_sizes:
            tdir = os.path.join(work, f"timing_{n}")
            os.makedirs(tdir, exist_ok=True)
            rng = np.random.default_rng(99)
            tr = rng.choice(N, n, replace=False)
            write_split(os.path.join(tdir, "t_train.csv"), X[tr], y[tr])
            write_split(os.path.join(tdir, "t_test.csv"), X[:10], y[:10])
            with open(os.path.join(tdir, "config.toml"), "w") as f:
                f.write(f"hidden = [{', '.join(map(str, hidden))}]\nmax_iter = {E}\n"
                        f"tol = 0.0\nn_iter_no_change = {E + 1}\n")
            threads = str(args.threads if args.threads > 0 else os.cpu_count())
            best = {}
            for _ in range(args.timing_reps):
                if not args.no_sklearn:
                    m = MLPRegressor(hidden_layer_sizes=hidden, max_iter=E, tol=0.0, n_iter_no_change=E + 1,
                                     random_state=0)
                    t0 = time.perf_counter()
                    m.fit(X[tr], y[tr])
                    best["sklearn"] = min(best.get("sklearn", float("inf")), time.perf_counter() - t0)
                    assert m.n_iter_ == E, m.n_iter_
                for prec in args.precisions:
                    subprocess.check_call([exe, tdir, threads, prec], cwd=REPO, stderr=subprocess.DEVNULL)
                    with open(os.path.join(tdir, f"rust-{prec}_times.csv")) as f:
                        name, fit_s, _p, ep = f.readline().strip().split(",")
                    assert int(ep) == E, ep
                    best[f"rust-{prec}"] = min(best.get(f"rust-{prec}", float("inf")), float(fit_s))
            ref = best.get("sklearn", best.get("rust-f32"))
            print(f"  n={n:>5}: " + ", ".join(f"{k} {v:.2f} s ({ref / v:.1f}x)" for k, v in best.items()))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
