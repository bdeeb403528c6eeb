"""CLOSE-style curriculum on the sharing extent (Zhou et al., "Close the gap", 2022).

Sharing extent = how many block configurations train one set of weights. Training starts with the
largest extent (every kernel/expansion of a block shares one bank: an easy curriculum, fast to fit),
then lowers it in steps: one bank per kernel size, then one per (kernel, expansion). Each new bank
starts as a copy of the bank it splits from, so nothing learned is lost. Paths are sampled uniformly.
"""

from __future__ import annotations

import torch

from archfit.errors import ArchfitError
from archfit.supernet.sampler import Path, Sampler, register_sampler
from archfit.supernet.supernet import SHARING_LEVELS


@register_sampler("close")
class CloseSampler(Sampler):
    max_level = len(SHARING_LEVELS) - 1
    sorts_channels = False  # banks diverge after the first split; one channel order cannot serve them all

    def __init__(self, switch_at: tuple[float, ...] = (0.3, 0.6)) -> None:
        switch_at = tuple(float(f) for f in switch_at)
        if len(switch_at) != self.max_level or list(switch_at) != sorted(switch_at) or not all(0 < f < 1 for f in switch_at):
            raise ArchfitError(f"close: switch_at {switch_at} must be {self.max_level} increasing fractions in (0, 1)")
        self.switch_at = switch_at

    def level_at(self, step: int) -> int:
        """Sharing level at ``step``: the number of switch points already passed."""
        return sum(step >= round(f * self.total_steps) for f in self.switch_at)

    def extent_at(self, step: int) -> float:
        return self.supernet.sharing_extent(self.level_at(step))

    def paths(self, step: int, x: torch.Tensor, y: torch.Tensor) -> list[Path]:
        level = self.level_at(step)
        if level > self.supernet.level:
            self.supernet.set_level(level)
        return [Path(self.draw())]

    def describe(self) -> str:
        return (f"CLOSE curriculum (sharing level {', '.join(SHARING_LEVELS)} switching at {self.switch_at} of training)"
                + self.restriction_note())
