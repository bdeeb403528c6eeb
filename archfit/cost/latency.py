"""Latency measured on this machine: batch 1, warm-up, then median and 90th percentile of runs."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class Latency:
    """Wall-clock milliseconds of one forward pass, measured with ``threads`` intra-op threads."""

    median_ms: float
    p90_ms: float
    threads: int
    batch: int
    repeats: int


def measure_latency(
    model: nn.Module,
    input_shape: tuple[int, ...],
    batch: int = 1,
    warmup: int = 5,
    repeats: int = 30,
    threads: int | None = None,
) -> Latency:
    """Time ``repeats`` forward passes in eval mode under ``inference_mode`` after ``warmup`` passes."""
    previous = torch.get_num_threads()
    threads = threads or previous
    torch.set_num_threads(threads)
    was_training = model.training
    model.eval()
    example = torch.randn(batch, *input_shape)
    times = []
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                model(example)
            for _ in range(repeats):
                start = time.perf_counter()
                model(example)
                times.append((time.perf_counter() - start) * 1e3)
    finally:
        torch.set_num_threads(previous)
        model.train(was_training)
    return Latency(float(np.median(times)), float(np.percentile(times, 90)), threads, batch, repeats)
