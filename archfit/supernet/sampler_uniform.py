"""Uniform single-path sampling (SPOS, Guo et al. 2020): one uniformly random sub-network per step."""

from __future__ import annotations

import torch

from archfit.supernet.sampler import Path, Sampler, register_sampler


@register_sampler("uniform")
class UniformSampler(Sampler):
    """Every architecture is equally likely; each step trains one of them on the labels."""

    def paths(self, step: int, x: torch.Tensor, y: torch.Tensor) -> list[Path]:
        return [Path(self.draw())]
