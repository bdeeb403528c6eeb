"""Derived columns of a tabular benchmark: the same space, a differently shaped objective.

A strategy's defaults should not be tuned to one column. When a table holds only one metric (the
shared NAS-Bench-201 file holds CIFAR-10 test accuracy only), these transforms make other landscapes
of the same space to run the same protocol on:

- ``noise:SIGMA[:SEED]`` — add seeded Gaussian noise (SIGMA in the table's units) to each class's value:
  the ordering near the top changes, as between two datasets' columns.
- ``rank`` — replace values by their rank scaled to [0, 100] (ties averaged): a monotone transform,
  the same ordering on a flat, evenly spread scale.
- ``target:T`` — the negated distance to a target, −|value − T|: the best archs are mid-table ones,
  not the most accurate, so the landscape is not accuracy-ordered (many near-ties around T).
- ``params:LAMBDA`` — value − LAMBDA × parameters in millions (counted on the network the space builds,
  on the meta device): a fit-to-budget trade-off whose optimum is smaller than the accuracy optimum.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from archfit.cost.flops import count_params
from archfit.errors import ArchfitError
from archfit.estimate.tabular import TabularEstimator
from archfit.space.base import Arch

KINDS = ("noise:SIGMA[:SEED]", "rank", "target:T", "params:LAMBDA")


def derived(estimator: TabularEstimator, spec: str) -> TabularEstimator:
    """A copy of ``estimator`` whose values are transformed by ``spec`` (one of ``KINDS``)."""
    keys = sorted(estimator.values_)
    values = np.array([estimator.values_[k] for k in keys])
    kind, _, rest = spec.partition(":")
    try:
        if kind == "noise":
            sigma, _, seed = rest.partition(":")
            values = values + np.random.default_rng(int(seed or 0)).normal(0.0, float(sigma), len(values))
        elif kind == "rank" and not rest:
            from scipy.stats import rankdata

            values = 100.0 * (rankdata(values) - 1) / (len(values) - 1)
        elif kind == "target":
            values = -np.abs(values - float(rest))
        elif kind == "params":
            values = values - float(rest) * params_millions(estimator, keys)
        else:
            raise ValueError
    except ValueError:
        raise ArchfitError(f"--perturb {spec!r}: expected one of {list(KINDS)} with numbers") from None
    result = copy.copy(estimator)
    result.values_ = dict(zip(keys, values.tolist()))
    result.metric = f"{estimator.metric} ({spec})"
    return result


def params_millions(estimator: TabularEstimator, keys: list[str]) -> np.ndarray:
    """Parameters (millions) of each class's built network, counted on the meta device (~25 ms per arch)."""
    space = estimator.space
    by_key = {arch.key: arch for arch in _classes(space)}
    with torch.device("meta"):
        return np.array([count_params(space.build(by_key[key])) / 1e6 for key in keys])


def _classes(space) -> list[Arch]:
    enumerate_all = getattr(space, "all_canonical", None)
    if enumerate_all is None:
        raise ArchfitError(f"space {space.name!r} cannot be enumerated; params:LAMBDA needs every arch")
    return enumerate_all()
