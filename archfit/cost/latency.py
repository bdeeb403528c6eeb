"""Latency measured on this machine: warm-up, then median and 90th percentile of timed forward passes.

Two runtimes: ``"torch"`` (eager PyTorch under ``inference_mode``) and ``"onnxruntime"`` (the model exported
to ONNX in memory, run by an onnxruntime CPU session). They disagree most for small models: eager PyTorch
pays ~10-20 us of dispatch per operator, onnxruntime much less, so budget in the runtime you deploy with.

Two clocks: ``"wall"`` (``time.perf_counter``, what a user waits) and ``"cpu"`` (``time.thread_time``, the CPU
time of the timing thread). On a shared, loaded machine a call of a few ms is preempted far more often than a
short one, so wall-clock medians are inflated by the load (93 % for 3-5 ms chain networks niced at load 7-8,
docs/differentiable.md); the CPU clock gives the latency on an idle core. It needs ``threads == 1``: with more
intra-op threads the work runs on pool threads whose CPU time the timing thread does not see (both eager torch
and onnxruntime run a 1-thread forward pass on the calling thread).
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
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.thread_time}  # name -> seconds
CLOCK_TEXT = {"wall": "wall clock", "cpu": "CPU time of the timing thread (idle-core latency)"}


@dataclass(frozen=True)
class Latency:
    """ms of one forward pass of ``batch`` samples, run by ``runtime`` on ``threads`` intra-op threads, timed by
    ``clock`` ("wall" or "cpu": the timing thread's CPU time)."""

    median_ms: float
    p90_ms: float
    threads: int
    batch: int
    repeats: int
    runtime: str = "torch"
    clock: str = "wall"
    mean_ms: float | None = None  # what adds up: a lookup table sums per-layer means (archfit.differentiable)


def check_runtime(runtime: str, flag: str = "runtime") -> str:
    """``runtime`` if it is one of ``RUNTIMES`` and importable, else a one-line error (raised before any work)."""
    if runtime not in RUNTIMES:
        raise ArchfitError(f"unknown {flag} {runtime!r}; expected one of {list(RUNTIMES)}")
    if runtime == "onnxruntime":
        require_onnxruntime(f"{flag} onnxruntime")
    return runtime


def check_clock(clock: str, threads: int | None = 1, flag: str = "clock") -> str:
    """``clock`` if it is one of ``CLOCKS`` and usable with ``threads``, else a one-line error."""
    if clock not in CLOCKS:
        raise ArchfitError(f"unknown {flag} {clock!r}; expected one of {list(CLOCKS)}")
    if clock == "cpu" and threads is not None and threads != 1:
        raise ArchfitError(f"{flag} cpu needs 1 thread (got {threads}): the timing thread's CPU time misses the "
                           "other intra-op threads' work; use the wall clock")
    return clock


def measure_latency(
    model: nn.Module,
    input_shape: tuple[int, ...],
    batch: int = 1,
    warmup: int = 5,
    repeats: int = 30,
    threads: int | None = None,
    runtime: str = "torch",
    min_seconds: float = 0.1,
    clock: str = "wall",
) -> Latency:
    """Time forward passes of the model in eval mode, in ``runtime``: at least ``warmup`` untimed passes
    and ``min_seconds / 4`` of them, then at least ``repeats`` timed passes and ``min_seconds`` of them.

    Why a time floor: a small model runs in tens of microseconds, so 30 passes are a few ms of timing, and
    the first ones in a process run on cold caches; medians of such short runs move by 20-30 % and a
    relative budget ("80 % of the original") then compares noise. ``Latency.repeats`` is the count timed.
    ``threads`` defaults to torch's current intra-op thread count (for onnxruntime too, so both runtimes
    are asked for the same parallelism); the model's training mode is restored afterwards. ``clock="cpu"``
    times the timing thread's CPU time (needs 1 thread; see the module docstring).
    """
    check_runtime(runtime)
    previous = torch.get_num_threads()
    threads = threads or previous
    timer = CLOCKS[check_clock(clock, threads)]
    example = torch.randn(batch, *input_shape)
    was_training = model.training
    model.eval()
    try:
        if runtime == "onnxruntime":
            times = time_calls(_ort_runner(model, example, threads), warmup, repeats, min_seconds, timer)
        else:
            torch.set_num_threads(threads)
            with torch.inference_mode():
                times = time_calls(lambda: model(example), warmup, repeats, min_seconds, timer)
    finally:
        torch.set_num_threads(previous)
        model.train(was_training)
    return Latency(float(np.median(times)), float(np.percentile(times, 90)), threads, batch, len(times), runtime,
                   clock, float(np.mean(times)))


MAX_PASSES = 20_000  # bounds the timed passes of a microsecond-scale model


def time_calls(run: Callable[[], object], warmup: int, repeats: int, min_seconds: float,
               clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Milliseconds of each timed call of ``run`` by ``clock`` (seconds): warm-up of ``warmup`` calls and
    ``min_seconds / 4`` of wall time, then at least ``repeats`` calls and ``min_seconds`` of timed calls (at most
    ``MAX_PASSES``)."""
    start, done = time.perf_counter(), 0
    while done < warmup or (time.perf_counter() - start < min_seconds / 4 and done < MAX_PASSES):
        run()
        done += 1
    times: list[float] = []
    total = 0.0
    while len(times) < repeats or (total < min_seconds * 1e3 and len(times) < MAX_PASSES):
        begin = clock()
        run()
        times.append((clock() - begin) * 1e3)
        total += times[-1]
    return times


def _ort_runner(model: nn.Module, example: torch.Tensor, threads: int) -> Callable[[], object]:
    """An onnxruntime CPU session of ``model`` exported at ``example``'s batch size, ready to run."""
    onnxruntime = require_onnxruntime("latency in onnxruntime")
    # the legacy exporter: 20-30x faster to export, and latency budgets export every candidate they time
    try:
        data = onnx_bytes(model, example, "torchscript")
    except Exception as exc:  # noqa: BLE001 -- an operator or control flow the exporter cannot handle: one line
        reason = (str(exc).strip().splitlines() or [""])[0][:160]
        raise ArchfitError(f"cannot time {type(model).__name__} in onnxruntime: ONNX export failed "
                           f"({type(exc).__name__}: {reason}); use --latency-runtime torch") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    feed = {"input": example.numpy()}
    return lambda: session.run(None, feed)
