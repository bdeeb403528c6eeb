"""Cost of architectures in a space, cached per arch key: meta-device FLOPs, measured latency."""

from __future__ import annotations

import torch

from archfit.cost.budget import Cost
from archfit.cost.flops import count_flops, count_params
from archfit.cost.latency import check_runtime, measure_latency
from archfit.space.base import Arch, Space


class CostModel:
    """Computes ``Cost`` for archs of ``space``; latency only when asked (it builds and times the net).

    One instance measures under one ``runtime`` and ``threads``, so its per-arch cache never mixes latencies
    of different runtimes; a resumed search re-measures (its stored settings must match, runtime included).
    """

    def __init__(self, space: Space, with_latency: bool = False, threads: int | None = None,
                 runtime: str = "torch") -> None:
        self.space = space
        self.with_latency = with_latency
        self.threads = threads
        self.runtime = check_runtime(runtime)
        self._cache: dict[str, Cost] = {}

    def __call__(self, arch: Arch) -> Cost:
        cached = self._cache.get(arch.key)
        if cached is None:
            cached = self._cache[arch.key] = self._measure(arch)
        return cached

    def _measure(self, arch: Arch) -> Cost:
        exact = getattr(self.space, "exact_cost", None)  # a space that counts without building (model_width)
        if exact is not None:
            flops, params = exact(arch)
        else:
            with torch.device("meta"):
                meta_model = self.space.build(arch)
            flops = count_flops(meta_model, self.space.input_shape)
            params = count_params(meta_model)
        if not self.with_latency:
            return Cost(flops, params)
        latency = measure_latency(self.space.build(arch), self.space.input_shape, threads=self.threads,
                                  runtime=self.runtime)
        return Cost(flops, params, latency.median_ms, latency.p90_ms, latency.threads, latency.runtime)
