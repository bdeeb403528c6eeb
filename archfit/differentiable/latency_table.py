"""A per-operation latency lookup table for the ``chain`` space, measured on this machine.

Each entry is the latency (ms, batch 1, one runtime, e.g. ``"torch"`` = eager PyTorch, one clock; the median
over a few passes, see ``measure_table``) of one candidate block at its position (input channels, output
channels, stride, input size), plus one entry for the fixed parts (stem and head). A network's predicted latency is the sum of its entries; the sum ignores
what happens between layers (memory traffic, dispatch), which is why the derived network is measured for
real at the end. ``bench/differentiable.py --part lut`` compares predicted and measured on random archs.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from archfit.cost.latency import check_clock, measure_latency
from archfit.differentiable.chain_supernet import ZERO, ChainSupernet
from archfit.errors import ArchfitError
from archfit.space.base import Arch


@dataclass
class LatencyTable:
    runtime: str
    threads: int
    fixed_ms: float = 0.0
    entries: dict[str, float] = field(default_factory=dict)  # "s0.b1/k3e4" → ms
    call_ms: float = 0.0  # what one timed call costs beyond its module (timer, dispatch): counted once per net
    clock: str = "wall"  # what timed the entries: "wall" | "cpu" (archfit.cost.latency.CLOCKS)

    @property
    def base_ms(self) -> float:
        """The network's latency without blocks: stem + head (two timed calls) and one call's overhead."""
        return self.fixed_ms - self.call_ms

    def block_ms(self, supernet: ChainSupernet) -> torch.Tensor:
        """(blocks, ops) latency in ms that each block adds to ``base_ms`` (its entry minus the call
        overhead; 0 for ``zero`` and for masked cells)."""
        table = torch.zeros(len(supernet.positions), len(supernet.ops))
        for k, name in enumerate(supernet.edge_names):
            for i, op in enumerate(supernet.ops):
                key = f"{name}/{op}"
                table[k, i] = self.entries[key] - self.call_ms if key in self.entries else 0.0
        return table

    def predict(self, supernet: ChainSupernet, arch: Arch, per_call: bool = True) -> float:
        """Predicted latency (ms) of ``arch``: the fixed part plus its blocks' entries; each entry was one
        timed call, so with ``per_call`` the call overhead they all include is counted once, not per entry."""
        ops = supernet.from_arch(arch)
        used = [self.entries[f"{n}/{op}"] for n, op in zip(supernet.edge_names, ops) if f"{n}/{op}" in self.entries]
        overhead = self.call_ms * (len(used) + 1) if per_call else 0.0  # stem + head were two calls, blocks one each
        return self.fixed_ms + sum(used) - overhead


Timer = Callable[[nn.Module, tuple[int, ...]], float]  # (module, input shape without batch) -> ms


TABLE_ROUNDS = 5  # passes over every entry; each entry is the median over passes (load drifts cancel)
MAX_TABLE_ROUNDS = 50


def measure_table(supernet: ChainSupernet, runtime: str = "torch", threads: int = 1,
                  min_seconds: float = 0.05, timer: Timer | None = None, clock: str = "wall",
                  rounds: int = TABLE_ROUNDS) -> LatencyTable:
    """Time every candidate block of ``supernet`` at its position, the stem + head, and one empty call, in
    ``rounds`` passes over all of them; each entry is the median over passes of one timing per pass.

    Why passes: this machine's speed drifts by -18 % to +27 % between one pass and the next, even on the CPU
    clock; one-pass tables predicted 30 random networks within a median 5-23 % here, five-pass ones within
    4.6-4.9 % (docs/differentiable.md). What one timing is depends on ``clock``: on the CPU clock (preemption
    is not counted) the *mean* of the timed calls, because a table predicts a network as a sum and means add
    up where medians do not; on the wall clock the median, which a preempted call cannot drag. ``timer``
    replaces ``measure_latency`` (any other timing).
    """
    space = supernet.space
    table = LatencyTable(runtime, threads, clock=check_clock(clock, threads))
    if not 1 <= rounds <= MAX_TABLE_ROUNDS:
        raise ArchfitError(f"latency table rounds {rounds} out of range; expected 1..{MAX_TABLE_ROUNDS}")

    def timed(module: nn.Module, shape: tuple[int, ...]) -> float:
        if timer is not None:
            return timer(module, shape)
        latency = measure_latency(module, shape, threads=threads, runtime=runtime, min_seconds=min_seconds,
                                  clock=clock)
        return latency.mean_ms if clock == "cpu" else latency.median_ms

    spatial = len(space.input_shape) - 1
    last = supernet.positions[-1]
    last_size = (last.size + last.stride - 1) // last.stride
    fixed: list[float] = []  # one timing per pass each
    call: list[float] = []
    entries: dict[str, list[float]] = {}
    empty = nn.Identity()  # what one timed call costs beyond its module
    for _ in range(rounds):
        fixed.append(timed(supernet.stem, space.input_shape)
                     + timed(supernet.head, (last.cout,) + (last_size,) * spatial))
        call.append(timed(empty, space.input_shape))
        for block, position, name in zip(supernet.blocks, supernet.positions, supernet.edge_names):
            for op, candidate in zip(block.names, block.candidates):
                if op != ZERO:
                    entries.setdefault(f"{name}/{op}", []).append(
                        timed(candidate, (position.cin,) + (position.size,) * spatial))
    table.fixed_ms, table.call_ms = statistics.median(fixed), statistics.median(call)
    table.entries = {key: statistics.median(values) for key, values in entries.items()}
    return table
