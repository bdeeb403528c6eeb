"""A per-operation latency lookup table for the ``chain`` space, measured on this machine.

Each entry is the median latency (ms, batch 1, one runtime, e.g. ``"torch"`` = eager PyTorch, one clock) of one
candidate block at its position (input channels, output channels, stride, input size), plus one entry for
the fixed parts (stem and head). A network's predicted latency is the sum of its entries; the sum ignores
what happens between layers (memory traffic, dispatch), which is why the derived network is measured for
real at the end. ``bench/differentiable.py --part lut`` compares predicted and measured on random archs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from archfit.cost.latency import check_clock, measure_latency
from archfit.differentiable.chain_supernet import ZERO, ChainSupernet
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


def measure_table(supernet: ChainSupernet, runtime: str = "torch", threads: int = 1,
                  min_seconds: float = 0.05, timer: Timer | None = None, clock: str = "wall") -> LatencyTable:
    """Time every candidate block of ``supernet`` at its position, the stem + head, and one empty call, with
    ``measure_latency``'s median under ``clock`` ("cpu" on a shared machine, where a long call is preempted
    more often than a short one and wall medians stop adding up); ``timer`` replaces it (any other timing)."""
    space = supernet.space
    table = LatencyTable(runtime, threads, clock=check_clock(clock, threads))

    def timed(module: nn.Module, shape: tuple[int, ...]) -> float:
        if timer is not None:
            return timer(module, shape)
        return measure_latency(module, shape, threads=threads, runtime=runtime, min_seconds=min_seconds,
                               clock=clock).median_ms

    spatial = len(space.input_shape) - 1
    last = supernet.positions[-1]
    last_size = (last.size + last.stride - 1) // last.stride
    table.fixed_ms = timed(supernet.stem, space.input_shape) + timed(supernet.head, (last.cout,) + (last_size,) * spatial)
    table.call_ms = timed(nn.Identity(), space.input_shape)
    for block, position, name in zip(supernet.blocks, supernet.positions, supernet.edge_names):
        for op, candidate in zip(block.names, block.candidates):
            if op != ZERO:
                table.entries[f"{name}/{op}"] = timed(candidate, (position.cin,) + (position.size,) * spatial)
    return table
