"""Any model as a width supernet: per-group channel masks on the real model, trained by the core's loop.

Masking a dropped channel at the output of every layer that produces it (conv, linear, BatchNorm)
computes exactly what the pruned model computes, because every layer between them works per channel
(groups with anything else are left out by ``groups.find_groups``, and ``ModelWidthSpace.check``
refuses models where it does not hold). So one set of weights serves every width configuration, and
``space.build`` / ``extract`` turns the chosen one into a real, smaller model.

``WidthSupernet`` gives a masked model the interface ``supernet/training.py``'s loop drives
(``space``, ``activate(arch)``), so it trains with the same loop and the same sampling rules as the
chain supernet. The rule is the sandwich rule with in-place distillation (``sampler_sandwich``), with
one change (``BoundarySandwich``): its first random path is drawn on the budget's boundary (random
shrinking from full width until the budget is met), so the widths the search will pick are trained most.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import torch
from torch import nn

from archfit.space.base import Arch
from archfit.strategy.boundary import to_boundary
from archfit.supernet.sampler import Path
from archfit.supernet.sampler_sandwich import SandwichSampler

if TYPE_CHECKING:
    from archfit.space.model_width import ModelWidthSpace

Combine = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (layer output, per-channel factor) -> output


class ChannelGate:
    """Forward hooks that scale each group's channels at the output of every layer producing them."""

    def __init__(self, model: nn.Module, space: ModelWidthSpace, combine: Combine | None = None) -> None:
        self.space = space
        self.factors: dict[str, torch.Tensor | None] = {g.name: None for g in space.groups}
        self.combine = combine or (lambda out, factor: out * factor)
        modules = dict(model.named_modules())
        per_module: dict[str, list[tuple[str, torch.Tensor, torch.Tensor]]] = {}
        for group in space.groups:
            for item in group.items:
                if item.kind == "out":
                    per_module.setdefault(item.module, []).append(
                        (group.name, torch.tensor(item.index), torch.tensor(item.root)))
        self._hooks = [modules[name].register_forward_hook(self._hook(modules[name], entries))
                       for name, entries in per_module.items()]

    def _hook(self, module: nn.Module, entries):
        last_dim = isinstance(module, nn.Linear)

        def hook(_module, _inputs, output: torch.Tensor) -> torch.Tensor | None:
            active = [(self.factors[g], index, root) for g, index, root in entries if self.factors[g] is not None]
            if not active:
                return None
            channels = output.shape[-1] if last_dim else output.shape[1]
            factor = output.new_ones(channels)
            for group_factor, index, root in active:
                factor = factor.index_copy(0, index, group_factor[root].to(output.dtype))
            shape = [1] * output.dim()
            shape[-1 if last_dim else 1] = channels
            return self.combine(output, factor.view(shape))
        return hook

    def set_widths(self, widths: Mapping[str, int] | None) -> None:
        """Keep ``widths[group]`` top-ranked channels of each group (``None`` or a missing group: full width)."""
        for group in self.space.groups:
            width = group.channels if widths is None else widths.get(group.name, group.channels)
            if width == group.channels:
                self.factors[group.name] = None
            else:
                mask = torch.zeros(group.channels)
                mask[group.kept(width)] = 1.0
                self.factors[group.name] = mask

    def remove(self) -> None:
        for handle in self._hooks:
            handle.remove()
        self._hooks = []


class WidthSupernet(nn.Module):
    """A model with its ``ChannelGate``: ``activate(arch)`` selects the widths of the next forward passes.

    ``max_level`` (no weight banks) and ``sort_channels`` (a no-op: channels are ranked once, by L1
    magnitude, when the space is made) complete what ``supernet.training.train_supernet`` expects."""

    max_level = 0

    def __init__(self, model: nn.Module, space: ModelWidthSpace) -> None:
        super().__init__()
        self.net, self.space = model, space
        self.gate = ChannelGate(model, space)

    def activate(self, arch: Mapping[str, int] | None) -> None:
        self.gate.set_widths(arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def sort_channels(self, optimizer: torch.optim.Optimizer) -> None:
        """Channel order is fixed at discovery (``WidthGroup.order``)."""

    def release(self) -> nn.Module:
        """Remove the hooks and return the plain model (at the weights trained so far)."""
        self.gate.remove()
        return self.net


class BoundarySandwich(SandwichSampler):
    """The sandwich rule whose first random path lies on the boundary of ``feasible`` (None: plain sandwich)."""

    name = "sandwich-boundary"

    def __init__(self, feasible: Callable[[Arch], bool] | None, n: int = 2, distill: bool = True) -> None:
        super().__init__(n, distill)
        self.feasible = feasible

    def paths(self, step: int, x: torch.Tensor, y: torch.Tensor) -> list[Path]:
        paths = super().paths(step, x, y)
        if self.n and self.feasible is not None:
            paths[2] = Path(to_boundary(self.space, None, self.feasible, self.rng), paths[2].loss)
        return paths

    def describe(self) -> str:
        return super().describe() + ", one random path on the budget boundary"
