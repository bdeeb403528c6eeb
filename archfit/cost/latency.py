"""Latency measured on this machine: warm-up, then median and 90th percentile of timed forward passes.

Two runtimes: ``"torch"`` (eager PyTorch under ``inference_mode``) and ``"onnxruntime"`` (the model exported
to ONNX in memory, run by an onnxruntime CPU session). They disagree most for small models: eager PyTorch
pays ~10-20 us of dispatch per operator, onnxruntime much less, so budget in the runtime you deploy with.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from archfit.errors import ArchfitError
from archfit.onnx_io import onnx_bytes, require_onnxruntime

RUNTIMES = ("torch", "onnxruntime")
RUNTIME_TEXT = {"torch": "eager PyTorch (inference_mode)",
                "onnxruntime": "an onnxruntime CPU session (model exported to ONNX)"}


@dataclass(frozen=True)
class Latency:
    """Wall-clock ms of one forward pass of ``batch`` samples, run by ``runtime`` on ``threads`` intra-op threads."""

    median_ms: float
    p90_ms: float
    threads: int
    batch: int
    repeats: int
    runtime: str = "torch"


def check_runtime(runtime: str, flag: str = "runtime") -> str:
    """``runtime`` if it is one of ``RUNTIMES`` and importable, else a one-line error (raised before any work)."""
    if runtime not in RUNTIMES:
        raise ArchfitError(f"unknown {flag} {runtime!r}; expected one of {list(RUNTIMES)}")
    if runtime == "onnxruntime":
        require_onnxruntime(f"{flag} onnxruntime")
    return runtime


def measure_latency(
    model: nn.Module,
    input_shape: tuple[int, ...],
    batch: int = 1,
    warmup: int = 5,
    repeats: int = 30,
    threads: int | None = None,
    runtime: str = "torch",
    min_seconds: float = 0.1,
) -> Latency:
    """Time forward passes of the model in eval mode, in ``runtime``: at least ``warmup`` untimed passes
    and ``min_seconds / 4`` of them, then at least ``repeats`` timed passes and ``min_seconds`` of them.

    Why a time floor: a small model runs in tens of microseconds, so 30 passes are a few ms of timing, and
    the first ones in a process run on cold caches; medians of such short runs move by 20-30 % and a
    relative budget ("80 % of the original") then compares noise. ``Latency.repeats`` is the count timed.
    ``threads`` defaults to torch's current intra-op thread count (for onnxruntime too, so both runtimes
    are asked for the same parallelism); the model's training mode is restored afterwards.
    """
    check_runtime(runtime)
    previous = torch.get_num_threads()
    threads = threads or previous
    example = torch.randn(batch, *input_shape)
    was_training = model.training
    model.eval()
    try:
        if runtime == "onnxruntime":
            times = time_calls(_ort_runner(model, example, threads), warmup, repeats, min_seconds)
        else:
            torch.set_num_threads(threads)
            with torch.inference_mode():
                times = time_calls(lambda: model(example), warmup, repeats, min_seconds)
    finally:
        torch.set_num_threads(previous)
        model.train(was_training)
    return Latency(float(np.median(times)), float(np.percentile(times, 90)), threads, batch, len(times), runtime)


MAX_PASSES = 20_000  # bounds the timed passes of a microsecond-scale model


def time_calls(run: Callable[[], object], warmup: int, repeats: int, min_seconds: float) -> list[float]:
    """Milliseconds of each timed call of ``run``: warm-up of ``warmup`` calls and ``min_seconds / 4``,
    then at least ``repeats`` calls and ``min_seconds`` of timed calls (at most ``MAX_PASSES``)."""
    start, done = time.perf_counter(), 0
    while done < warmup or (time.perf_counter() - start < min_seconds / 4 and done < MAX_PASSES):
        run()
        done += 1
    times: list[float] = []
    total = 0.0
    while len(times) < repeats or (total < min_seconds * 1e3 and len(times) < MAX_PASSES):
        begin = time.perf_counter()
        run()
        times.append((time.perf_counter() - begin) * 1e3)
        total += times[-1]
    return times


def _ort_runner(model: nn.Module, example: torch.Tensor, threads: int) -> Callable[[], object]:
    """An onnxruntime CPU session of ``model`` exported at ``example``'s batch size, ready to run."""
    onnxruntime = require_onnxruntime("latency in onnxruntime")
    # the legacy exporter: 20-30x faster to export, and latency budgets export every candidate they time
    try:
        data = onnx_bytes(model, example, "torchscript")
    except Exception as exc:  # an operator or control flow the exporter cannot handle: say so in one line
        reason = (str(exc).strip().splitlines() or [""])[0][:160]
        raise ArchfitError(f"cannot time {type(model).__name__} in onnxruntime: ONNX export failed "
                           f"({type(exc).__name__}: {reason}); use --latency-runtime torch") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    feed = {"input": example.numpy()}
    return lambda: session.run(None, feed)
