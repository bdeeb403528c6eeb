"""How well do cheap predictors rank architectures? #params, FLOPs and synflow against a table's metric.

Each proxy is computed on the network ``space.build`` returns for the row's arch string (the standard
NAS-Bench-201 network at the space's input shape): parameters counted, FLOPs (2 x MACs, batch 1)
counted by FlopCounterMode on the CPU-built network, synflow on a float64 copy with an all-ones input
(data-free). Rows are all of the table's, or a seeded uniform sample of them (``sample``), disconnected
cells included, as in the published figures (Abdelfattah et al. 2021: Spearman ~0.74 for synflow and
~0.75 for #params on CIFAR-10).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from archfit.cost.flops import count_flops, count_params
from archfit.errors import ArchfitError
from archfit.estimate.tabular import parse_row, table_rows
from archfit.estimate.zero_cost import synflow
from archfit.metrics import kendall_tau, spearman_rho
from archfit.space.base import Space

PROXY_NAMES = ("params", "flops", "synflow")
PUBLISHED_SPEARMAN = {"params": 0.75, "synflow": 0.74}  # Abdelfattah et al. 2021, NAS-Bench-201 CIFAR-10


@dataclass
class ProxyStudy:
    """Per-row values of the metric and each proxy, and the seconds each proxy took in total."""

    column: str
    rows: list[int] = field(default_factory=list)  # 0-based data-row numbers of the table
    metric: list[float] = field(default_factory=list)
    proxies: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in PROXY_NAMES})
    seconds: dict[str, float] = field(default_factory=lambda: {name: 0.0 for name in PROXY_NAMES})
    table_rows: int = 0

    def correlations(self) -> dict[str, dict[str, float]]:
        return {name: {"kendall_tau": kendall_tau(values, self.metric), "spearman_rho": spearman_rho(values, self.metric)}
                for name, values in self.proxies.items()}


def read_rows(path: Path, column: str) -> list[tuple[int, str, float]]:
    """``(line, arch string, value)`` of every row (see ``table_rows`` for what is refused)."""
    rows = list(table_rows(path, column))
    if len(rows) < 3:
        raise ArchfitError(f"--table {path} has {len(rows)} rows; rank correlations need at least 3")
    return rows


def study_proxies(space: Space, table: Path, column: str, sample: int | None = 2000, seed: int = 0,
                  progress: Callable[[int, int], None] | None = None) -> ProxyStudy:
    """Compute every proxy for the sampled rows (``sample=None`` or >= the row count: all rows)."""
    rows = read_rows(table, column)
    study = ProxyStudy(column, table_rows=len(rows))
    picks = np.arange(len(rows))
    if sample is not None and sample < len(rows):
        picks = np.sort(np.random.default_rng(seed).choice(len(rows), size=sample, replace=False))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for done, i in enumerate(picks, start=1):
            line, text, value = rows[i]
            arch = parse_row(space, table, line, text)
            torch.manual_seed(seed)
            model = space.build(arch)
            for name, compute in (("params", lambda: count_params(model)),
                                  ("flops", lambda: count_flops(model, space.input_shape)),
                                  ("synflow", lambda: synflow(model, space.input_shape))):
                start = time.perf_counter()
                study.proxies[name].append(float(compute()))
                study.seconds[name] += time.perf_counter() - start
            study.rows.append(int(i))
            study.metric.append(value)
            if progress:
                progress(done, len(picks))
    finally:
        torch.set_num_threads(threads)
    return study
