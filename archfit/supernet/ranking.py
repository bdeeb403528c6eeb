"""How well a predictor ranks architectures, and what weight sharing costs per training step."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from archfit.metrics import kendall_tau, spearman_rho, top_k_precision
from archfit.supernet.sampler import Sampler
from archfit.supernet.supernet import Supernet
from archfit.train.distill import distill_loss
from archfit.train.trainer import TrainConfig, make_optimizer


def ranking_metrics(predicted: Sequence[float], truth: Sequence[float], k: int = 5) -> dict[str, float]:
    """Kendall tau-b, Spearman rho and top-k precision of ``predicted`` against ``truth`` (higher = better)."""
    return {"kendall_tau": kendall_tau(predicted, truth), "spearman_rho": spearman_rho(predicted, truth),
            f"top{k}_precision": top_k_precision(predicted, truth, k)}


def step_throughput(supernet: Supernet, sampler: Sampler, x: torch.Tensor, y: torch.Tensor,
                    repeats: int = 7, seed: int = 0) -> dict[str, float]:
    """Seconds per training step: the supernet (sampler included) vs the same sub-networks trained alone.

    One supernet step runs the rule (sampling, and any search it does) and visits one fixed set of the
    rule's paths (drawn with ``seed``) on batch ``(x, y)``; the stand-alone reference trains each of those
    sub-networks, extracted as physical networks, on the same batch with its own SGD step. After one
    untimed warm-up step of each, measurements are interleaved (which side goes first alternates) and
    the median of ``repeats`` is kept (robust to a busy CPU). ``throughput_ratio`` = stand-alone
    seconds / supernet seconds (1.0 = weight sharing is free); ``throughput_ratio_paths`` leaves out the
    sampler's own work (e.g. CafeNet's min-min search). The ``*_cpu`` figures are the same on this
    thread's CPU time (``time.thread_time``): on a shared machine they leave out time spent preempted,
    so they are far less noisy than wall time (torch must run on one thread for them to be complete).
    """
    config = TrainConfig(epochs=1, batch_size=len(x), seed=seed)
    sampler.start(supernet, 1, 1)
    sampler.begin_epoch(0, seed)
    supernet.train()
    optimizer = make_optimizer(supernet, config)
    paths = sampler.paths(0, x, y)
    alone = [supernet.extract(p.arch).train() for p in paths]
    alone_opt = [make_optimizer(m, config) for m in alone]

    def supernet_step() -> tuple[float, float, float, float]:
        begin, begin_cpu = time.perf_counter(), time.thread_time()
        sampler.paths(0, x, y)  # the rule's own work (timed); the step below reuses the fixed paths
        sampled, sampled_cpu = time.perf_counter(), time.thread_time()
        optimizer.zero_grad(set_to_none=True)
        teacher = None
        for path in paths:
            logits = supernet.activate(path.arch)(x)
            loss = distill_loss(logits, teacher) if path.loss == "distill" and teacher is not None else F.cross_entropy(logits, y)
            teacher = logits.detach() if path.teacher else teacher
            loss.backward()
        optimizer.step()
        end, end_cpu = time.perf_counter(), time.thread_time()
        return end - begin, end - sampled, end_cpu - begin_cpu, end_cpu - sampled_cpu

    def standalone_step() -> tuple[float, float]:
        begin, begin_cpu = time.perf_counter(), time.thread_time()
        for model, opt in zip(alone, alone_opt):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
        return time.perf_counter() - begin, time.thread_time() - begin_cpu

    supernet_step(), standalone_step()  # warm-up: first-call allocations and lazy initialisation
    sup, ref = [], []  # per repeat: (wall s, wall s without the rule's work, CPU s, CPU s without it); (wall s, CPU s)
    for i in range(repeats):
        if i % 2:
            ref.append(standalone_step())
        sup.append(supernet_step())
        if not i % 2:
            ref.append(standalone_step())
    med = [statistics.median(column) for column in zip(*sup)]
    alone_s, alone_cpu = (statistics.median(column) for column in zip(*ref))
    return {"supernet_step_seconds": med[0], "standalone_step_seconds": alone_s,
            "throughput_ratio": alone_s / med[0], "throughput_ratio_paths": alone_s / med[1],
            "supernet_step_cpu_seconds": med[2], "standalone_step_cpu_seconds": alone_cpu,
            "throughput_ratio_cpu": alone_cpu / med[2], "throughput_ratio_paths_cpu": alone_cpu / med[3],
            "paths_per_step": float(len(paths))}


def spread(values: Sequence[float]) -> dict[str, float]:
    return {"min": float(np.min(values)), "max": float(np.max(values)), "std": float(np.std(values))}
