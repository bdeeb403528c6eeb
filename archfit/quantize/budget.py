"""The compress budget: metric -> upper bound, parsed from flags (absolute, or % of the original float model),
checked against what the steps asked for can reach *before* any training.

Metrics: ``flops`` (2 x MACs, batch 1), ``params`` (count), ``size_bytes`` (deployed file: int8 ONNX after
the quantize step, float ONNX before), ``latency_ms`` (median batch-1 ms in onnxruntime, 1 thread).
"""

from __future__ import annotations

from archfit.cost.size import format_bytes, parse_bytes
from archfit.errors import ArchfitError
from archfit.units import format_quantity, parse_quantity

METRICS = ("flops", "params", "size_bytes", "latency_ms")
FLAGS = {"flops": "--max-flops", "params": "--max-params", "size_bytes": "--max-size", "latency_ms": "--max-latency-ms"}
UNITS = {"flops": "FLOPs", "params": "params", "size_bytes": "bytes", "latency_ms": "ms"}


def show(metric: str, value: float) -> str:
    if metric == "size_bytes":
        return format_bytes(value)
    return format_quantity(value) + (" ms" if metric == "latency_ms" else f" {UNITS[metric]}")


def parse_budget(raw: dict[str, str | float | None], original: dict[str, float]) -> dict[str, float]:
    """``{"size_bytes": "50KB", "flops": "25%"}`` -> absolute bounds; a percentage is of ``original[metric]``."""
    bounds: dict[str, float] = {}
    for metric, text in raw.items():
        if text is None:
            continue
        if metric not in METRICS:
            raise ArchfitError(f"unknown budget metric {metric!r}; expected one of {list(METRICS)}")
        flag, text = FLAGS[metric], str(text).strip()
        if text.endswith("%"):
            if metric not in original:
                raise ArchfitError(f"{flag} {text!r}: give an absolute value (a percentage needs the original's "
                                   f"{metric}, which is measured only later)")
            percent = parse_quantity(text[:-1], flag)
            if percent > 100:
                raise ArchfitError(f"{flag} {text!r} must be at most 100% of the original model")
            bounds[metric] = percent / 100 * original[metric]
        else:
            bounds[metric] = parse_bytes(text, flag) if metric == "size_bytes" else parse_quantity(text, flag)
    if not bounds:
        raise ArchfitError("no budget: give --max-size, --max-flops, --max-params or --max-latency-ms (e.g. 50KB, 25%)")
    return bounds


def violations(bounds: dict[str, float], measured: dict[str, float | None]) -> list[str]:
    """Human-readable reasons ``measured`` exceeds ``bounds`` (empty when it fits)."""
    return [f"{metric} {show(metric, measured[metric])} > {show(metric, bound)}"
            for metric, bound in bounds.items()
            if measured.get(metric) is not None and measured[metric] > bound]


def describe(bounds: dict[str, float]) -> str:
    return ", ".join(f"{metric} <= {show(metric, bound)}" for metric, bound in bounds.items())


def check_reach(bounds: dict[str, float], reach: dict[str, float], how: str) -> None:
    """Refuse (before any work) a budget that even the smallest model the steps can make exceeds."""
    reasons = violations({k: v for k, v in bounds.items() if k in reach}, reach)
    if reasons:
        raise ArchfitError(f"budget {describe(bounds)} cannot be met: {'; '.join(reasons)} at best. {how}")
