"""Numbers the field reports: Pareto fronts, hypervolume, rank correlations, top-k precision, regret."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats


def pareto_front(values: Sequence[float], costs: Sequence[float]) -> list[int]:
    """Indices of points not dominated when maximising ``values`` and minimising ``costs``,
    sorted by cost. A point is dominated if another is at least as good in both and better in one."""
    order = sorted(range(len(values)), key=lambda i: (costs[i], -values[i]))
    front, best = [], -np.inf
    for i in order:
        if values[i] > best:
            front.append(i)
            best = values[i]
    return front


def hypervolume_2d(values: Sequence[float], costs: Sequence[float], ref_value: float, ref_cost: float) -> float:
    """Area dominated by the front and bounded by the reference point (``ref_value`` worst value,
    ``ref_cost`` worst cost), in units of value x cost. Points worse than the reference add nothing."""
    area, prev_cost = 0.0, ref_cost
    for i in reversed(pareto_front(values, costs)):  # from the most expensive to the cheapest
        if costs[i] >= ref_cost or values[i] <= ref_value:
            continue
        area += (prev_cost - costs[i]) * (values[i] - ref_value)
        prev_cost = costs[i]
    return float(area)


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b (ties handled); NaN for fewer than two points or a constant input."""
    if len(a) < 2:
        return float("nan")
    return float(stats.kendalltau(a, b).statistic)


def spearman_rho(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) < 2:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def top_k_precision(predicted: Sequence[float], truth: Sequence[float], k: int) -> float:
    """Fraction of the true top-k (by ``truth``) that are also in the predicted top-k."""
    k = min(k, len(truth))
    top_pred = set(np.argsort(-np.asarray(predicted), kind="stable")[:k])
    top_true = set(np.argsort(-np.asarray(truth), kind="stable")[:k])
    return len(top_pred & top_true) / k if k else float("nan")


def best_so_far(values: Sequence[float | None]) -> list[float]:
    """Running maximum (None entries keep the previous best; NaN before the first value)."""
    result, best = [], float("nan")
    for value in values:
        if value is not None and (best != best or value > best):
            best = value
        result.append(best)
    return result


def bootstrap_ci(metric, a: Sequence[float], b: Sequence[float], level: float = 0.9, resamples: int = 1000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(a, b)`` over items resampled with replacement.

    Why: a rank correlation over 20-60 architectures has a wide sampling spread; a claim such as "above
    FLOPs" holds only when the intervals say so. Resamples with fewer than two distinct items are skipped.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        idx = rng.integers(0, len(a), len(a))
        if len(np.unique(idx)) < 2:
            continue
        value = metric(a[idx], b[idx])
        if value == value:  # not NaN (a constant resample)
            values.append(value)
    if not values:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def t_interval(values: Sequence[float], level: float = 0.9) -> tuple[float, float]:
    """Two-sided Student-t interval of the mean of ``values`` (seeds of one benchmark arm, or paired
    differences); ``(nan, nan)`` with fewer than two values."""
    import statistics

    if len(values) < 2:
        return float("nan"), float("nan")
    mean, sem = statistics.fmean(values), statistics.stdev(values) / len(values) ** 0.5
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1)) * sem
    return mean - half, mean + half
