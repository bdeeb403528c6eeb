"""``Cost`` (what a network costs) and ``Budget`` (what it may cost)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from archfit.errors import ArchfitError
from archfit.units import format_quantity, parse_quantity


@dataclass(frozen=True)
class Cost:
    """FLOPs (2 x MACs, batch 1), parameter count, and measured CPU latency in ms (None if unmeasured).

    ``latency_runtime`` names what ran the timed passes ("torch" eager or "onnxruntime"); None when unmeasured
    (and in dicts written before it existed, which were all eager PyTorch).
    """

    flops: int
    params: int
    latency_ms: float | None = None
    latency_p90_ms: float | None = None
    latency_threads: int | None = None
    latency_runtime: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cost:
        return cls(**{k: data.get(k) for k in FIELDS})

    def value(self, metric: str) -> float:
        """``flops`` | ``params`` | ``latency_ms``."""
        value = getattr(self, metric)
        if value is None:
            raise ArchfitError(f"cost {metric!r} was not measured")
        return float(value)


METRICS = ("flops", "params", "latency_ms")
FIELDS = ("flops", "params", "latency_ms", "latency_p90_ms", "latency_threads", "latency_runtime")


@dataclass(frozen=True)
class Budget:
    """Upper bounds; ``None`` means unbounded. FLOPs are 2 x MACs at batch 1."""

    max_flops: float | None = None
    max_params: float | None = None
    max_latency_ms: float | None = None

    @classmethod
    def parse(cls, max_flops: str | None = None, max_params: str | None = None, max_latency_ms: str | None = None) -> Budget:
        """From human units: ``Budget.parse(max_flops="5M", max_latency_ms="2")``."""
        return cls(
            parse_quantity(max_flops, "--max-flops") if max_flops is not None else None,
            parse_quantity(max_params, "--max-params") if max_params is not None else None,
            parse_quantity(max_latency_ms, "--max-latency-ms") if max_latency_ms is not None else None,
        )

    @property
    def needs_latency(self) -> bool:
        return self.max_latency_ms is not None

    @property
    def primary(self) -> str:
        """The cost metric to trade accuracy against: the first one bounded, FLOPs if none is."""
        for metric, bound in zip(METRICS, (self.max_flops, self.max_params, self.max_latency_ms)):
            if bound is not None:
                return metric
        return "flops"

    def bound(self, metric: str) -> float | None:
        return {"flops": self.max_flops, "params": self.max_params, "latency_ms": self.max_latency_ms}[metric]

    def violations(self, cost: Cost) -> list[str]:
        """Human-readable reasons ``cost`` does not fit (empty when it fits)."""
        reasons = []
        for metric in METRICS:
            bound = self.bound(metric)
            if bound is not None and cost.value(metric) > bound:
                unit = " ms" if metric == "latency_ms" else ""
                reasons.append(f"{metric} {format_quantity(cost.value(metric))}{unit} > {format_quantity(bound)}{unit}")
        return reasons

    def fits(self, cost: Cost) -> bool:
        return not self.violations(cost)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        parts = [
            f"{name} <= {format_quantity(bound)}{unit}"
            for name, bound, unit in (("FLOPs", self.max_flops, ""), ("params", self.max_params, ""),
                                      ("latency", self.max_latency_ms, " ms"))
            if bound is not None
        ]
        return ", ".join(parts) or "unbounded"
