"""Rank correlations of proxies with ground truth, with bootstrap confidence intervals, and a held-out
choice of which proxies to aggregate.

Kendall τ-b and Spearman ρ over n archs; the 95% interval is the percentile interval of ``bootstrap``
resamples of the archs (with replacement, seeded). Choosing an aggregate's members on the same archs
it is scored on flatters it, so ``select_aggregate`` picks the subset on a seeded half of the archs and
reports τ on the other half only.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from archfit.errors import ArchfitError
from archfit.proxies.aggregate import aggregate


def _tau(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.kendalltau(x, y).statistic)


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.spearmanr(x, y).statistic)


def correlation(score: Sequence[float], truth: Sequence[float], bootstrap: int = 1000,
                seed: int = 0) -> dict[str, object]:
    """``{"kendall_tau", "spearman_rho", "kendall_tau_ci95", "spearman_rho_ci95", "n"}``."""
    x, y = np.asarray(score, dtype=float), np.asarray(truth, dtype=float)
    if len(x) != len(y) or len(x) < 3:
        raise ArchfitError(f"correlation needs equal-length series of >= 3 archs; got {len(x)} and {len(y)}")
    out: dict[str, object] = {"kendall_tau": _tau(x, y), "spearman_rho": _rho(x, y), "n": len(x)}
    if bootstrap > 0:
        rng = np.random.default_rng(seed)
        taus, rhos = [], []
        for _ in range(bootstrap):
            pick = rng.integers(len(x), size=len(x))
            taus.append(_tau(x[pick], y[pick]))
            rhos.append(_rho(x[pick], y[pick]))
        out["kendall_tau_ci95"] = [float(v) for v in np.nanpercentile(taus, [2.5, 97.5])]
        out["spearman_rho_ci95"] = [float(v) for v in np.nanpercentile(rhos, [2.5, 97.5])]
        out["bootstrap"] = bootstrap
    return out


def correlations(scores: Mapping[str, Sequence[float]], truth: Sequence[float], bootstrap: int = 1000,
                 seed: int = 0) -> dict[str, dict[str, object]]:
    return {name: correlation(values, truth, bootstrap, seed) for name, values in scores.items()}


def select_aggregate(scores: Mapping[str, Sequence[float]], truth: Sequence[float], max_size: int = 4,
                     rule: str = "log-rank", seed: int = 0, bootstrap: int = 1000) -> dict[str, object]:
    """The subset of proxies (2..``max_size`` members) whose aggregate has the highest τ on a seeded half
    of the archs (selection half), and its τ/ρ with CI on the other half (held out). Ranks for the
    aggregate are taken within each half, so the held-out half never sees the selection half."""
    names = sorted(scores)
    y = np.asarray(truth, dtype=float)
    if len(names) < 2 or len(y) < 8:
        raise ArchfitError(f"select_aggregate needs >= 2 proxies and >= 8 archs; got {len(names)} and {len(y)}")
    order = np.random.default_rng(seed).permutation(len(y))
    pick, held = np.sort(order[: len(y) // 2]), np.sort(order[len(y) // 2:])
    columns = {n: np.asarray(scores[n], dtype=float) for n in names}
    best: tuple[float, tuple[str, ...]] = (-2.0, ())
    for size in range(2, min(max_size, len(names)) + 1):
        for subset in itertools.combinations(names, size):
            tau = _tau(aggregate({n: columns[n][pick] for n in subset}, rule), y[pick])
            if tau > best[0]:
                best = (tau, subset)
    members = list(best[1])
    held_out = correlation(aggregate({n: columns[n][held] for n in members}, rule), y[held], bootstrap, seed)
    return {"members": members, "rule": rule, "selection_tau": best[0], "selection_n": len(pick),
            "held_out": held_out, "max_size": max_size, "split_seed": seed}
