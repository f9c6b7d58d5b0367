"""Shared helpers of the comparison tools under tools/ (standard library only).

- `ensure_packages`: re-executes the calling script inside a venv next to it, with the
  packages installed by pip, when they are not importable here.
- `nb201_rows`: the NAS-Bench-201 CSV of ../shared/data as 30-dim one-hot features (feature
  index edge * 5 + op, the harness's encoding) and the requested columns.
"""

import csv
import importlib
import os
import subprocess
import sys


def ensure_packages(script, packages, modules=None):
    """Makes `modules` (default: `packages`) importable: if one is missing, creates
    `<script dir>/.venv`, installs `packages` there with pip and re-executes `script` with
    its arguments inside it (never returns then)."""
    modules = modules or packages
    try:
        for m in modules:
            importlib.import_module(m)
        return
    except ImportError:
        pass
    flag = "WEAKNAS_TOOL_VENV"
    venv = os.path.join(os.path.dirname(os.path.abspath(script)), ".venv")
    if os.environ.get(flag) == venv:
        sys.exit(f"{script}: {', '.join(modules)} still missing inside {venv}")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        print(f"installing {', '.join(packages)} into {venv} ...", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([py, "-m", "pip", "install", "-q"] + list(packages))
    env = dict(os.environ, **{flag: venv})
    os.execve(py, [py, os.path.abspath(script)] + sys.argv[1:], env)


def nb201_rows(path, columns):
    """(features, {column: [float]}) of every cell of the CSV, in index order."""
    feats = []
    cols = {c: [] for c in columns}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            ops = row["ops"].strip()
            if len(ops) != 6 or any(c not in "01234" for c in ops):
                sys.exit(f"{path}: bad ops value {ops!r} at index {row.get('index')}")
            v = [0.0] * 30
            for e, c in enumerate(ops):
                v[e * 5 + int(c)] = 1.0
            feats.append(v)
            for c in columns:
                cols[c].append(float(row[c]))
    return feats, cols
