"""``Cost`` (what a network costs) and ``Budget`` (what it may cost): both open to any registered metric.

A budget is a mapping metric → upper bound over the metric registry (``archfit/cost/metrics.py``):
``flops``, ``params``, ``latency_ms`` and e.g. ``size_bytes``. The keys ``max_flops``, ``max_params`` and
``max_latency_ms`` of results.json stay as they were; another metric adds ``max_<metric>`` when bounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archfit.errors import ArchfitError
from archfit.units import format_quantity

METRICS = ("flops", "params", "latency_ms")  # the Cost fields (more metrics: archfit.cost.metrics)
FIELDS = ("flops", "params", "latency_ms", "latency_p90_ms", "latency_threads", "latency_runtime")


@dataclass(frozen=True)
class Cost:
    """FLOPs (2 x MACs, batch 1), parameter count, and measured CPU latency in ms (None if unmeasured).

    ``latency_runtime`` names what ran the timed passes ("torch" eager or "onnxruntime"); None when unmeasured
    (and in dicts written before it existed, which were all eager PyTorch). ``extra`` holds the other
    registered metrics that were measured (e.g. ``size_bytes``), by name.
    """

    flops: int
    params: int
    latency_ms: float | None = None
    latency_p90_ms: float | None = None
    latency_threads: int | None = None
    latency_runtime: str | None = None
    extra: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in FIELDS}, **self.extra}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cost:
        return cls(**{k: data.get(k) for k in FIELDS}, extra={k: v for k, v in data.items() if k not in FIELDS})

    def value(self, metric: str) -> float:
        """``flops`` | ``params`` | ``latency_ms`` | any other measured metric."""
        value = getattr(self, metric) if metric in METRICS else self.extra.get(metric)
        if value is None:
            raise ArchfitError(f"cost {metric!r} was not measured")
        return float(value)


class Budget:
    """Upper bounds by metric; a metric absent is unbounded. FLOPs are 2 x MACs at batch 1.

    ``Budget(max_flops, max_params, max_latency_ms)`` as before, or ``Budget(bounds={"size_bytes": 2e5})``.
    """

    def __init__(self, max_flops: float | None = None, max_params: float | None = None,
                 max_latency_ms: float | None = None, bounds: Mapping[str, float] | None = None) -> None:
        from archfit.cost.metrics import get_metric, list_metrics

        given = {**{m: b for m, b in zip(METRICS, (max_flops, max_params, max_latency_ms)) if b is not None},
                 **{m: b for m, b in (bounds or {}).items() if b is not None}}
        for metric in given:
            get_metric(metric)  # unknown metric names: one line naming the registered ones
        self.bounds: dict[str, float] = {m: float(given[m]) for m in list_metrics() if m in given}

    @classmethod
    def parse(cls, max_flops: str | None = None, max_params: str | None = None, max_latency_ms: str | None = None,
              bounds: Mapping[str, str | None] | None = None) -> Budget:
        """From human units: ``Budget.parse(max_flops="5M", bounds={"size_bytes": "200KB"})``."""
        from archfit.cost.metrics import get_metric

        texts = {**dict(zip(METRICS, (max_flops, max_params, max_latency_ms))), **(bounds or {})}
        parsed = {}
        for metric, text in texts.items():
            if text is not None:
                spec = get_metric(metric)
                parsed[metric] = spec.parse(text, spec.flag)
        return cls(bounds=parsed)

    @property
    def max_flops(self) -> float | None:
        return self.bounds.get("flops")

    @property
    def max_params(self) -> float | None:
        return self.bounds.get("params")

    @property
    def max_latency_ms(self) -> float | None:
        return self.bounds.get("latency_ms")

    @property
    def needs_latency(self) -> bool:
        return "latency_ms" in self.bounds

    @property
    def extra_metrics(self) -> list[str]:
        """Bounded metrics measured by a registered function (not ``Cost`` fields)."""
        return [m for m in self.bounds if m not in METRICS]

    @property
    def primary(self) -> str:
        """The cost metric to trade accuracy against: the first one bounded, FLOPs if none is."""
        return next(iter(self.bounds), "flops")

    def bound(self, metric: str) -> float | None:
        return self.bounds.get(metric)

    def violations(self, cost: Cost) -> list[str]:
        """Human-readable reasons ``cost`` does not fit (empty when it fits)."""
        from archfit.cost.metrics import get_metric

        reasons = []
        for metric, bound in self.bounds.items():
            if cost.value(metric) > bound:
                unit = get_metric(metric).unit
                reasons.append(f"{metric} {format_quantity(cost.value(metric))}{unit} > {format_quantity(bound)}{unit}")
        return reasons

    def fits(self, cost: Cost) -> bool:
        return not self.violations(cost)

    def to_dict(self) -> dict[str, Any]:
        return {**{f"max_{m}": self.bounds.get(m) for m in METRICS},
                **{f"max_{m}": b for m, b in self.bounds.items() if m not in METRICS}}

    def describe(self) -> str:
        from archfit.cost.metrics import get_metric

        parts = [f"{get_metric(m).label} <= {format_quantity(b)}{get_metric(m).unit}" for m, b in self.bounds.items()]
        return ", ".join(parts) or "unbounded"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Budget) and self.bounds == other.bounds

    def __hash__(self) -> int:
        return hash(tuple(self.bounds.items()))

    def __repr__(self) -> str:
        return f"Budget({self.bounds})"
