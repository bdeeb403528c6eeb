"""How well can ANY arch-only model predict a device's latency table? Its noise ceiling (issue 16).

A latency table is one measurement per arch; its run-to-run noise (and rounding: the phones are whole
ms) bounds the share of archs any model of the arch can predict within ±10%. Three estimates per device:

- ``oracle``: the best of two models fitted on a large seeded split (``train`` archs, default 12,000 of
  15,625) and scored on the rest: histogram gradient boosting on the one-hot (log target) and ``hlut``.
  A model that sees 77% of the space is as good as a model of this space gets; what it misses is noise.
- ``double_difference`` (needs no model; only a complete grid of every combination of choices): for two
  choices i, j changed from values a→a', b→b' with the rest fixed, y(a,b) - y(a',b) - y(a,b') + y(a',b')
  (ms) cancels every per-choice term; what is left is the i-j interaction plus four noises. Divided by the
  RMS of the four latencies, its robust spread (1.4826·MAD/2) bounds the relative noise σ from above.
  ``implied`` is the share a perfect model would reach under Gaussian log-noise of that σ. When it agrees with the oracle and is the same for every
  pair of choices, the residual is noise, not a missing feature.
- ``resolution``: the smallest step between distinct measured values (ms), and the share of archs whose
  ±half-step rounding fits inside ±10% (the cap that rounding alone would impose).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from archfit.predict import create_latency_model
from archfit.predict.latency_models import within
from archfit.space.base import Arch, Space


def noise_ceiling(archs: Sequence[Arch], y: np.ndarray, space: Space, tolerance: float = 0.10, train: int = 12000,
                  seed: int = 0) -> dict:
    """``{"within_10pct": best held-out share, "oracle": {...}, "double_difference": {...}, "resolution": {...}}``."""
    oracle = oracle_within(archs, y, space, tolerance, train, seed)
    return {"within_10pct": max(oracle.values()), "oracle": oracle, "train": min(train, len(archs) - 1),
            "double_difference": double_difference_noise(archs, y, space, tolerance),
            "resolution": resolution(y, tolerance)}


def oracle_within(archs: Sequence[Arch], y: np.ndarray, space: Space, tolerance: float = 0.10, train: int = 12000,
                  seed: int = 0) -> dict[str, float]:
    """Held-out share within ±``tolerance`` of boosting (``hgb``) and ``hlut`` fitted on ``train`` archs."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    order = np.random.default_rng(seed).permutation(len(archs))
    fit, test = order[: min(train, len(archs) - 1)], order[min(train, len(archs) - 1):]
    fit_archs, test_archs = [archs[i] for i in fit], [archs[i] for i in test]
    table = create_latency_model("hlut").fit(fit_archs, y[fit], space)
    x = table.onehot(list(archs))
    boosted = HistGradientBoostingRegressor(max_iter=300, random_state=seed).fit(x[fit], np.log(np.maximum(y[fit], 1e-6)))
    return {"hgb": within(np.exp(boosted.predict(x[test])), y[test], tolerance),
            "hlut": within(table.predict(test_archs), y[test], tolerance)}


def double_difference_noise(archs: Sequence[Arch], y: np.ndarray, space: Space, tolerance: float = 0.10) -> dict | None:
    """Relative noise σ from double differences over the complete grid; ``None`` if the grid is incomplete
    or a latency is not positive."""
    choices = list(space.choices.items())
    shape = tuple(len(values) for _, values in choices)
    if len(archs) != math.prod(shape) or (np.asarray(y) <= 0).any():
        return None
    grid = np.full(shape, np.nan)
    for arch, value in zip(archs, y):
        grid[tuple(values.index(arch[name]) for name, values in choices)] = value
    if np.isnan(grid).any():  # duplicates left a hole
        return None
    per_pair = {}
    for i, j in itertools.combinations(range(len(shape)), 2):
        block = np.moveaxis(grid, (i, j), (0, 1)).reshape(shape[i], shape[j], -1)
        a, a2 = np.triu_indices(shape[i], 1)
        b, b2 = np.triu_indices(shape[j], 1)
        step, power = block[a] - block[a2], block[a] ** 2 + block[a2] ** 2  # (pairs of a, values of b, rest)
        double = (step[:, b] - step[:, b2]) / np.sqrt((power[:, b] + power[:, b2]) / 4)
        per_pair[f"{choices[i][0]}x{choices[j][0]}"] = _sigma(double)
    sigma = float(np.median(list(per_pair.values())))
    return {"sigma": sigma, "sigma_min_pair": min(per_pair.values()),
            "sigma_max_pair": max(per_pair.values()), "implied_within_10pct": _gaussian_within(sigma, tolerance)}


def resolution(y: np.ndarray, tolerance: float = 0.10) -> dict:
    """Measurement step (ms), its size relative to the median latency, and the rounding-only cap."""
    distinct = np.unique(np.asarray(y, dtype=np.float64))
    step = float(np.min(np.diff(distinct))) if len(distinct) > 1 else 0.0
    return {"distinct_values": len(distinct), "step_ms": step, "step_over_median": step / float(np.median(y)),
            "rounding_cap": float(np.mean(step / 2 <= tolerance * np.abs(y)))}


def _sigma(double: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(double)) / 2)  # four noises: sd(double) = 2σ


def _gaussian_within(sigma: float, tolerance: float) -> float:
    """P(|e^-ε - 1| <= tolerance) for ε ~ N(0, σ²): a perfect model under that log-noise."""
    if sigma <= 0:
        return 1.0
    phi = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))
    return phi(-math.log(1 - tolerance) / sigma) - phi(-math.log(1 + tolerance) / sigma)
