"""Cost metrics by name: what a budget may bound. A new metric is one cost function and one registry line.

Built-in: ``flops`` (2 x MACs, batch 1), ``params`` and ``latency_ms`` (median batch-1 latency in a named
runtime and thread count) are measured by ``CostModel`` itself and are ``Cost`` fields; every other metric
is a function ``measure(model, space, arch) -> float`` registered here, e.g. ``size_bytes`` below, or a
*lookup* the run supplies (``CostModel(lookups={name: arch -> value})``), e.g. ``device_latency_ms``: the
latency of the arch measured on a real device, read from a table (``--latency-table``, ``--device``).
The search never names a metric: it asks ``Budget.fits(cost)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from archfit.registry import Registry
from archfit.space.base import Arch, Space
from archfit.units import parse_bytes, parse_quantity

Measure = Callable[[nn.Module, Space, Arch], float]


@dataclass
class CostMetric:
    """How a metric is measured, parsed and shown. ``measure`` is None for the built-in ``Cost`` fields."""

    measure: Measure | None
    flag: str  # the budget's command-line flag, named in errors: "--max-size"
    label: str  # in budget texts: "size <= 200kB"
    unit: str = ""  # appended to numbers: " ms", " B"
    parse: Callable[[str | float, str], float] = parse_quantity
    meta_ok: bool = True  # measurable on a meta-device model (no weights allocated)
    name: str = ""  # set by the registry
    lookup: str = ""  # non-empty: the value comes from a per-run lookup; says which settings supply it


_METRICS: Registry = Registry("cost metric", ())
CORE = ("flops", "params", "latency_ms")  # Cost fields, in the order a budget's primary metric is chosen


def register_metric(name: str, flag: str, label: str, unit: str = "",
                    parse: Callable[[str | float, str], float] = parse_quantity,
                    meta_ok: bool = True) -> Callable[[Measure], Measure]:
    """Function decorator: ``measure(model, space, arch) -> float`` becomes the cost metric ``name``."""
    def decorate(measure: Measure) -> Measure:
        _METRICS.register(name, origin=measure)(CostMetric(measure, flag, label, unit, parse, meta_ok))
        return measure

    return decorate


def get_metric(name: str) -> CostMetric:
    return _METRICS.get(name)


def list_metrics() -> list[str]:
    """Core metrics first, then the others in registration order."""
    return list(CORE) + [n for n in _METRICS.classes if n not in CORE]


_METRICS.register("flops")(CostMetric(None, "--max-flops", "FLOPs"))
_METRICS.register("params")(CostMetric(None, "--max-params", "params"))
_METRICS.register("latency_ms")(CostMetric(None, "--max-latency-ms", "latency", " ms", meta_ok=False))


_METRICS.register("device_latency_ms")(CostMetric(
    None, "--max-latency-ms (with --latency-table)", "device latency", " ms",
    lookup="--latency-table PATH --device NAME (measured latency per architecture on a real device)"))


@register_metric("size_bytes", "--max-size", "size", " B", parse=parse_bytes)
def size_bytes(model: nn.Module, space: Space, arch: Arch) -> float:
    """Bytes of the deployed float32 model: every tensor of the state dict (parameters and buffers, e.g.
    BatchNorm statistics), numel x element size of its dtype (float32: 4 B). Works on meta tensors."""
    return float(sum(t.numel() * t.element_size() for t in model.state_dict().values()))
