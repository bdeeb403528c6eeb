"""Cost of architectures in a space, cached per arch key: meta-device FLOPs, measured latency."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from archfit.cost.budget import Cost
from archfit.cost.flops import count_flops, count_params, device_of
from archfit.cost.latency import Latency, check_clock, check_runtime, measure_latency
from archfit.cost.metrics import get_metric
from archfit.errors import ArchfitError
from archfit.space.base import Arch, Space


class CostModel:
    """Computes ``Cost`` for archs of ``space``; latency only when asked (it builds and times the net).

    One instance measures under one ``runtime``, ``threads`` and ``clock``, so its per-arch cache never mixes
    latencies of different runtimes or clocks; a resumed search re-measures (its stored settings must match,
    runtime and clock included).
    """

    def __init__(self, space: Space, with_latency: bool = False, threads: int | None = None,
                 runtime: str = "torch", extra: tuple[str, ...] | list[str] = (),
                 lookups: Mapping[str, Callable[[Arch], float]] | None = None, clock: str = "wall") -> None:
        self.space = space
        self.extra = tuple(extra)  # registered metrics beyond the Cost fields (archfit.cost.metrics), e.g. size_bytes
        self.lookups = dict(lookups or {})  # metric -> arch -> value, e.g. a device latency table (no build needed)
        self.with_latency = with_latency
        self.threads = threads
        self.runtime = check_runtime(runtime)
        self.clock = check_clock(clock, threads)
        self._cache: dict[str, Cost] = {}

    def __call__(self, arch: Arch) -> Cost:
        cached = self._cache.get(arch.key)
        if cached is None:
            cached = self._cache[arch.key] = self._measure(arch)
        return cached

    def remember(self, arch: Arch, latency: Latency) -> Cost:
        """Cache ``arch``'s cost with a latency measured elsewhere under this model's runtime, threads and clock,
        so that one measurement decides (ProxylessNAS's final check: on a loaded machine a second median of
        the same network can land on the other side of the budget)."""
        if (latency.runtime, latency.clock) != (self.runtime, self.clock) or \
                (self.threads is not None and latency.threads != self.threads):
            raise ArchfitError(f"latency measured with {latency.runtime}/{latency.clock}/{latency.threads} threads "
                               f"cannot stand for {self.runtime}/{self.clock}/{self.threads} threads")
        self._cache[arch.key] = self._measure(arch, latency)
        return self._cache[arch.key]

    def _measure(self, arch: Arch, latency: Latency | None = None) -> Cost:
        exact = getattr(self.space, "exact_cost", None)  # a space that counts without building (model_width)
        meta_model = None
        if exact is not None:
            flops, params = exact(arch)
        else:
            with torch.device("meta"):
                meta_model = self.space.build(arch)
            flops = count_flops(meta_model, self.space.input_shape)
            params = count_params(meta_model)
        if meta_model is None and any(m not in self.lookups for m in self.extra):
            with torch.device("meta"):
                meta_model = self.space.build(arch)
        extra = measure_extra(self.extra, meta_model, self.space, arch, self.lookups) if self.extra else {}
        if not self.with_latency:
            return Cost(flops, params, extra=extra)
        latency = latency or measure_latency(self.space.build(arch), self.space.input_shape, threads=self.threads,
                                             runtime=self.runtime, clock=self.clock)
        return Cost(flops, params, latency.median_ms, latency.p90_ms, latency.threads, latency.runtime, extra)


def measure_extra(metrics: tuple[str, ...] | list[str], model: nn.Module | None, space: Space, arch: Arch,
                  lookups: Mapping[str, Callable[[Arch], float]] | None = None) -> dict[str, float]:
    """Values of registered metrics (not Cost fields) for ``model``; those that need real weights get a real
    build when ``model`` lives on the meta device; lookup metrics (a device table) come from ``lookups``."""
    values: dict[str, float] = {}
    real: nn.Module | None = None
    for name in metrics:
        spec = get_metric(name)
        if lookups and name in lookups:
            values[name] = float(lookups[name](arch))
            continue
        if spec.lookup or spec.measure is None:
            raise ArchfitError(f"cost metric {name!r} is read from a table: give {spec.lookup or 'its lookup'}")
        target = model
        if not spec.meta_ok and device_of(model).type == "meta":
            real = real or space.build(arch)
            target = real
        values[name] = float(spec.measure(target, space, arch))
    return values
