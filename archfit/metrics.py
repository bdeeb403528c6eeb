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
