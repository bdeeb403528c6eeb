"""Zero-cost estimator: score an untrained network with one of the proxies of ``archfit.proxies``.

The proxies themselves live in ``archfit/proxies/`` (one file each); ``synflow`` and ``PROXIES`` are
re-exported here for code written before that package existed.
"""

from __future__ import annotations

import time

import torch

from archfit.estimate.base import Estimate, Estimator
from archfit.proxies import Batch, create_proxy, list_proxies, random_batch, score
from archfit.proxies.synflow import synflow
from archfit.space.base import Arch, Space


class _Names:
    """Read-only view of the registered proxy names (``name in PROXIES``, ``sorted(PROXIES)``)."""

    def __contains__(self, name: object) -> bool:
        return name in list_proxies()

    def __iter__(self):
        return iter(list_proxies())


PROXIES = _Names()


class ZeroCostEstimator(Estimator):
    """``estimate(arch)`` → ``{proxy: score}`` on a freshly initialised network (seeded); no training.

    Proxies that need data get ``batch`` if given, else a seeded batch of Gaussian noise with random
    labels (``random_batch``); data-free proxies (synflow, zen, flops, params) only use its shape."""

    def __init__(self, space: Space, proxy: str = "synflow", seed: int = 0, batch: Batch | None = None,
                 num_classes: int = 10) -> None:
        self.proxy = create_proxy(proxy)
        self.space = space
        self.metric = self.proxy.name
        self.seed = seed
        self.batch = batch or random_batch(space.input_shape, num_classes, 32, seed)

    def estimate(self, arch: Arch) -> Estimate:
        start = time.perf_counter()
        torch.manual_seed(self.seed)
        value = score(self.proxy, self.space.build(arch), self.batch, self.seed)
        data = "none (input shape only)" if self.proxy.needs == "shape" else self.batch.source
        return Estimate({self.metric: value}, {"proxy": self.metric, "data": data}, time.perf_counter() - start)

    def describe(self) -> str:
        return f"zero-cost proxy {self.metric} at initialisation (no training; needs {self.proxy.needs})"


__all__ = ["PROXIES", "ZeroCostEstimator", "synflow"]
