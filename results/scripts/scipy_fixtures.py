"""Generates results/src/stats/fixtures.rs: scipy reference values for the rank tests.

Run: python3 results/scripts/scipy_fixtures.py > results/src/stats/fixtures.rs
(numpy + scipy; the values in the committed file came from scipy 1.17.1, numpy 2.x).
"""
import numpy as np
import scipy
from scipy import stats

rng = np.random.RandomState(20240607)

ALT = {"two-sided": "Alternative::TwoSided", "greater": "Alternative::Greater", "less": "Alternative::Less"}


def arr(v):
    return "&[" + ", ".join(repr(float(x)) for x in v) + "]"


def wil_method(d):
    d = np.asarray(d)
    nz = np.abs(d[d != 0])
    ties = len(np.unique(nz)) < len(nz)
    zeros = np.any(d == 0)
    if len(d) > 50:
        return "PMethod::Asymptotic"
    if not (ties or zeros):
        return "PMethod::Exact"
    if len(d) <= 13:
        return "PMethod::SignFlip"
    return "PMethod::Asymptotic"


def mwu_method(x, y):
    if len(x) > 8 and len(y) > 8:
        return "PMethod::Asymptotic"
    allv = np.concatenate([x, y])
    if len(np.unique(allv)) < len(allv):
        return "PMethod::Asymptotic"
    return "PMethod::Exact"


wil_cases = [
    [1.5, -0.3, 2.2, 0.7, -1.1, 3.4, 0.9, 2.8],             # exact
    list(np.round(rng.normal(0.3, 1.0, 20), 6)),            # exact, n = 20
    [1.0, -1.0, 2.0, 2.0, 3.0, -0.5, 4.0, 0.0],             # ties + zero, n <= 13: sign flips
    [0.5, 0.5, -0.5, 1.0, 2.0, -2.0, 3.0],                  # ties, n <= 13
    list(np.round(rng.normal(0.2, 1.0, 20), 1)),            # ties, n = 20: asymptotic
    list(np.round(rng.normal(0.1, 1.0, 60), 6)),            # n = 60: asymptotic
    list(np.round(rng.normal(0.0, 1.0, 30), 1)),            # ties and zeros, n = 30
    [-0.1, -0.2, -0.3, -0.4, -0.5, -0.6],                   # all negative
]
out = []
out.append("//! scipy reference values for the rank tests (generated; do not edit).")
out.append(f"//! Generator: results/scripts/scipy_fixtures.py with scipy {scipy.__version__}, numpy {np.__version__}.")
out.append("#![allow(clippy::type_complexity, clippy::excessive_precision)]")
out.append("")
out.append("use super::{Alternative, PMethod};")
out.append("")
out.append("/// (differences, alternative, statistic, p-value, method): `scipy.stats.wilcoxon(d, alternative=alt)`.")
out.append("pub const WILCOXON: &[(&[f64], Alternative, f64, f64, PMethod)] = &[")
for d in wil_cases:
    for alt in ["two-sided", "greater", "less"]:
        r = stats.wilcoxon(d, alternative=alt)
        out.append(f"    ({arr(d)}, {ALT[alt]}, {float(r.statistic)!r}, {float(r.pvalue)!r}, {wil_method(d)}),")
out.append("];")
out.append("")

mw_cases = [
    ([1.1, 2.3, 0.4, 5.6, 3.3], [2.2, 4.4, 6.1, 7.9, 0.9, 8.8]),       # exact
    (list(np.round(rng.normal(0, 1, 3), 6)), list(np.round(rng.normal(0.5, 1, 20), 6))),  # exact, 3 x 20
    ([1.0, 2.0, 2.0, 3.0], [2.0, 4.0, 5.0]),                          # ties: asymptotic
    (list(np.round(rng.normal(0, 1, 15), 6)), list(np.round(rng.normal(0.8, 1, 12), 6))),  # large
    (list(np.round(rng.normal(0, 1, 25), 1)), list(np.round(rng.normal(0.3, 1, 30), 1))),  # large, ties
    ([5.0, 6.0, 7.0], [1.0, 2.0, 3.0]),                               # complete separation
]
out.append("/// (x, y, alternative, U of x, p-value, method): `scipy.stats.mannwhitneyu(x, y, alternative=alt)`.")
out.append("pub const MANN_WHITNEY: &[(&[f64], &[f64], Alternative, f64, f64, PMethod)] = &[")
for x, y in mw_cases:
    for alt in ["two-sided", "greater", "less"]:
        r = stats.mannwhitneyu(x, y, alternative=alt)
        out.append(f"    ({arr(x)}, {arr(y)}, {ALT[alt]}, {float(r.statistic)!r}, {float(r.pvalue)!r}, {mwu_method(np.asarray(x), np.asarray(y))}),")
out.append("];")
out.append("")

fr_cases = [
    np.round(rng.normal(0, 1, (10, 4)) + np.array([0, 0.5, 1.0, 0.2]), 1),
    np.array([[1, 2, 3], [1, 3, 2], [2, 1, 3], [1, 2, 3], [1, 2, 2], [3, 2, 1]], dtype=float),
]
out.append("/// (blocks x methods, statistic, p-value, average ascending ranks):")
out.append("/// `scipy.stats.friedmanchisquare(*data.T)`, `scipy.stats.rankdata(data, axis=1).mean(0)`.")
out.append("pub const FRIEDMAN: &[(&[&[f64]], f64, f64, &[f64])] = &[")
for data in fr_cases:
    r = stats.friedmanchisquare(*data.T)
    ranks = stats.rankdata(data, axis=1).mean(0)
    rows = "&[" + ", ".join(arr(row) for row in data) + "]"
    out.append(f"    ({rows}, {float(r.statistic)!r}, {float(r.pvalue)!r}, {arr(ranks)}),")
out.append("];")
print("\n".join(out))
