"""CafeNet-style locally free channels with FLOPs-sensitive bins (Su et al., ICLR 2021, arXiv 2102.05258).

With leading-channel sharing a width of c channels always means channels 0..c-1. CafeNet lets a width
be *base channels* (0..c-r-1) plus r *free channels* placed anywhere in a local zone around the
boundary (c-r..c+r-1), so neighbouring widths are not forced to share all their weights. Zone sizes
are FLOPs-sensitive: a stage whose channels cost more FLOPs gets a narrower zone, so every zone spans
about the same FLOPs and cheap stages get more freedom. Training is *min-min*: each step tries the
stored placement and ``tries - 1`` random ones on the batch, keeps the one with the lowest loss
(it becomes that width's stored channel set, used by evaluation and extraction) and trains it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from archfit.cost import count_flops
from archfit.errors import ArchfitError
from archfit.supernet.sampler import Path, Sampler, register_sampler


@register_sampler("cafenet")
class CafeNetSampler(Sampler):
    sorts_channels = False  # free channel sets are positions; reordering would move them

    def __init__(self, tries: int = 2) -> None:
        if tries < 1:
            raise ArchfitError(f"cafenet: tries={tries} placements per step must be >= 1")
        self.tries = tries

    def start(self, supernet, total_steps: int, steps_per_epoch: int) -> None:
        super().start(supernet, total_steps, steps_per_epoch)
        self.radius = self.flops_sensitive_radii()

    def flops_sensitive_radii(self) -> list[int]:
        """Half-width of each stage's free zone, in channels, inversely proportional to FLOPs per channel."""
        space, widths = self.space, self.supernet.widths
        with torch.device("meta"):
            full = count_flops(space.build(space.largest()), space.input_shape)
        per_channel, gaps = [], []
        for s, counts in enumerate(widths):
            steps = sorted(set(counts))
            gaps.append(min(b - a for a, b in zip(steps, steps[1:])) if len(steps) > 1 else steps[0])
            if len(steps) < 2:
                per_channel.append(float("inf"))
                continue
            smaller = space.largest().replace(**{f"s{s}.width": space.widths[counts.index(steps[-2])]})
            with torch.device("meta"):
                flops = count_flops(space.build(smaller), space.input_shape)
            per_channel.append((full - flops) / (steps[-1] - steps[-2]))
        self.channel_flops = per_channel  # FLOPs added per stream channel of each stage (2 x MACs)
        cheapest = min(per_channel)
        return [max(1, int(gap / 2 * cheapest / cost)) if np.isfinite(cost) else 0 for gap, cost in zip(gaps, per_channel)]

    def zone(self, stage: int, c: int) -> tuple[int, int]:
        """(first free position, end of zone): a width of c channels keeps 0..first-1 and picks the rest in the zone."""
        r = min(self.radius[stage], c)
        return c - r, min(c + r, max(self.supernet.widths[stage]))

    def placement(self, stage: int, c: int) -> torch.Tensor:
        lo, hi = self.zone(stage, c)
        free = self.rng.choice(np.arange(lo, hi), size=c - lo, replace=False)
        return torch.as_tensor(np.sort(np.concatenate([np.arange(lo), free])), dtype=torch.long)

    def paths(self, step: int, x: torch.Tensor, y: torch.Tensor) -> list[Path]:
        arch = self.draw()
        stages = [(s, float(arch[f"s{s}.width"])) for s in range(len(self.supernet.widths))]
        current = {s: self.supernet.stage_channels(s, w) for s, w in stages}
        current = {s: torch.arange(c) if isinstance(c, int) else c.clone() for s, c in current.items()}
        candidates = [current] + [{s: self.placement(s, self.space.stage_width(s, w)) for s, w in stages}
                                  for _ in range(self.tries - 1)]
        best, best_loss = current, float("inf")
        if len(candidates) > 1:
            self.supernet.activate(arch)
            with torch.no_grad():
                for candidate in candidates:
                    for s, w in stages:
                        self.supernet.set_channels(s, w, candidate[s])
                    loss = float(F.cross_entropy(self.supernet(x), y))
                    if loss < best_loss:
                        best, best_loss = candidate, loss
        for s, w in stages:
            self.supernet.set_channels(s, w, best[s])
        return [Path(arch)]

    def describe(self) -> str:
        radii = getattr(self, "radius", "per stage")
        return (f"CafeNet locally free channels (FLOPs-sensitive zone radii {radii}, min-min over {self.tries} placements)"
                + self.restriction_note())
