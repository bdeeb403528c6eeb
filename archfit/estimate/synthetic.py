"""A synthetic, tabular-like estimator: a fixed, seeded function of the arch encoding, looked up in ~µs.

For measuring what is *not* the estimate — the orchestrator, store and executors — at the speed a
NAS-Bench-style table answers, and for tests that need many trials quickly. The "table" is a random
quadratic model of the one-hot encoding (main effects + pairwise interactions) squashed to an accuracy
in [0, 1] plus per-arch noise derived from the arch key; it is a stand-in with a realistic, rugged
landscape, not a claim about any real network. Use the NAS-Bench-201 tabular estimator for real
ground truth.
"""

from __future__ import annotations

import hashlib
import time

import numpy as np

from archfit.estimate.base import Estimate, Estimator
from archfit.space.base import Arch, Space


class SyntheticTableEstimator(Estimator):
    """``valid_acc`` in [0, 1], deterministic per (space, seed, arch); ``delay_s`` adds a fixed busy cost."""

    metric = "valid_acc"

    def __init__(self, space: Space, seed: int = 0, noise: float = 0.01, delay_s: float = 0.0) -> None:
        self.space = space
        self.seed = seed
        self.noise = noise
        self.delay_s = delay_s  # seconds of busy-wait per estimate, to mimic a slower lookup or a proxy
        width = len(space.encode(space.smallest() or space.sample(np.random.default_rng(0))))
        rng = np.random.default_rng(seed)
        self._main = rng.normal(0.0, 1.0, width)
        self._pairs = rng.normal(0.0, 0.3 / np.sqrt(width), (width, width))

    def estimate(self, arch: Arch) -> Estimate:
        start = time.perf_counter()
        x = self.space.encode(arch).astype(np.float64)
        score = float(self._main @ x + x @ self._pairs @ x)
        digest = hashlib.sha256(f"{self.seed}:{arch.key}".encode()).digest()
        jitter = (int.from_bytes(digest[:8], "little") / 2**64 - 0.5) * 2 * self.noise
        accuracy = float(np.clip(1.0 / (1.0 + np.exp(-score / 3.0)) + jitter, 0.0, 1.0))
        while time.perf_counter() - start < self.delay_s:
            pass
        return Estimate({"valid_acc": accuracy}, {"table": "synthetic", "seed": self.seed},
                        time.perf_counter() - start)

    def describe(self) -> str:
        return f"synthetic table (seeded quadratic of the encoding, seed {self.seed}); not real accuracy"
