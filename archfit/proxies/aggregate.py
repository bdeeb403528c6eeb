"""Rank aggregation of several proxies over a population of architectures.

A score of one architecture means little on its own; what combines across proxies with incomparable
units is the rank. For each proxy the population is ranked ascending (1 = lowest score; ties share
their average rank), divided by the population size n, and the per-architecture values are summed:

- ``"log-rank"`` (default; AZ-NAS, Lee & Ham, CVPR 2024): Σ_m log(rank_m / n). A low rank on any
  one proxy pulls an architecture down strongly, so it must look good on all of them.
- ``"rank"`` (NASLib-style ensemble of ranks / Borda count): Σ_m rank_m / n.

Higher = better, as for every proxy. Only the ranks matter, so the aggregate is invariant to any
increasing transform of any proxy (±inf scores rank first or last; NaN is refused).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import rankdata

from archfit.errors import ArchfitError

RULES = ("log-rank", "rank")


def aggregate(scores: Mapping[str, Sequence[float]], rule: str = "log-rank") -> np.ndarray:
    """``{proxy: [score per arch]}`` (same archs, same order) → the aggregate score per arch."""
    if rule not in RULES:
        raise ArchfitError(f"aggregate rule {rule!r} is not one of {list(RULES)}")
    if not scores:
        raise ArchfitError("aggregate needs at least one proxy's scores")
    columns = {name: np.asarray(values, dtype=np.float64) for name, values in scores.items()}
    sizes = {len(v) for v in columns.values()}
    if len(sizes) != 1 or 0 in sizes:
        raise ArchfitError(f"aggregate: proxies score different numbers of archs {sorted(sizes)}; expected one")
    n = sizes.pop()
    total = np.zeros(n)
    for name, values in columns.items():
        if np.any(np.isnan(values)):  # ±inf rank (a singular NASWOT kernel is -inf in NASLib's file); NaN cannot
            raise ArchfitError(f"aggregate: proxy {name!r} has NaN scores")
        ranks = rankdata(values) / n
        total += np.log(ranks) if rule == "log-rank" else ranks
    return total
