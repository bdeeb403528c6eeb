"""Sandwich rule with in-place distillation (Yu & Huang 2019; BigNAS; Once-for-All).

Each step trains the largest network on the labels, then the smallest and ``n`` random ones to match
the largest's soft predictions. Training both ends of the space every step keeps the weights good for
the extremes, and the soft targets are cheaper to fit for small networks than the hard labels.
"""

from __future__ import annotations

import torch

from archfit.errors import ArchfitError
from archfit.supernet.sampler import Path, Sampler, register_sampler


@register_sampler("sandwich")
class SandwichSampler(Sampler):
    def __init__(self, n: int = 2, distill: bool = True) -> None:
        if n < 0:
            raise ArchfitError(f"sandwich: n={n} random sub-networks per step must be >= 0")
        self.n, self.distill = n, distill

    def paths(self, step: int, x: torch.Tensor, y: torch.Tensor) -> list[Path]:
        loss = "distill" if self.distill else "label"
        students = [self.space.smallest()] + [self.draw() for _ in range(self.n)]
        return [Path(self.space.largest(), teacher=True)] + [Path(arch, loss) for arch in students]

    def describe(self) -> str:
        return (f"sandwich (largest + smallest + {self.n} random{', in-place distillation' if self.distill else ''})"
                + self.restriction_note())
