"""One-shot pruning baselines to a budget with Torch-Pruning: L1, BN-scale, Taylor, FPGM and knockoff.

Every criterion prunes the same groups the width search may change (kept layers and left-out groups
are ignored) with the same ratio in every group — Torch-Pruning's local pruning — and the ratio is
found by bisection as the largest whose pruned model fits the budget.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
import torch_pruning as tp
from torch import nn

from archfit.compress.knockoff import KnockoffImportance
from archfit.data.base import Split
from archfit.errors import ArchfitError

if TYPE_CHECKING:
    from archfit.space.model_width import ModelWidthSpace

CRITERIA = ("l1", "bn", "taylor", "fpgm", "knockoff")


def importance(criterion: str, model: nn.Module, knockoff: dict[str, torch.Tensor] | None = None):
    if criterion == "l1":
        return tp.importance.GroupMagnitudeImportance(p=1)
    if criterion == "bn":
        return tp.importance.BNScaleImportance()
    if criterion == "taylor":
        return tp.importance.GroupTaylorImportance()
    if criterion == "fpgm":
        return tp.importance.FPGMImportance()
    if criterion == "knockoff":
        if knockoff is None:
            raise ValueError("knockoff pruning needs knockoff_scores")
        return KnockoffImportance(knockoff, model)
    raise ArchfitError(f"pruning criterion {criterion!r} is not one of {list(CRITERIA)}")


def prune_uniform(model: nn.Module, space: ModelWidthSpace, criterion: str, ratio: float, data: Split | None = None,
                  knockoff: dict[str, torch.Tensor] | None = None, round_to: int | None = None,
                  seed: int = 0) -> nn.Module:
    """A pruned copy of ``model`` with ``ratio`` of each searchable group's channels removed."""
    small = copy.deepcopy(model)
    names = dict(small.named_modules())
    ignored = [names[n] for n in space.kept_layers] + [names[m] for lo in space.left_out for m in lo.members]
    if criterion == "taylor":
        _gradients(small, data, seed)
    example = torch.zeros(2, *space.input_shape)
    small.eval()
    pruner = tp.pruner.MetaPruner(small, example, importance(criterion, small, knockoff), pruning_ratio=ratio,
                                  ignored_layers=ignored, round_to=round_to)
    pruner.step()
    small.zero_grad(set_to_none=True)
    return small


def prune_to_budget(model: nn.Module, space: ModelWidthSpace, criterion: str, fits: Callable[[nn.Module], bool],
                    data: Split | None = None, knockoff: dict[str, torch.Tensor] | None = None,
                    round_to: int | None = None, steps: int = 5, seed: int = 0) -> tuple[nn.Module, float]:
    """The least-pruned model that ``fits``: the uniform ratio is scanned upwards in steps of 0.1, then
    bisected; returns the model and its ratio. (A scan, not a plain bisection, because Torch-Pruning
    skips groups it would empty, so very high ratios can prune less than lower ones.)"""
    if fits(model):
        return copy.deepcopy(model), 0.0
    low, best, high = 0.0, None, None
    for ratio in [round(0.1 * k, 2) for k in range(1, 10)] + [0.95]:
        candidate = prune_uniform(model, space, criterion, ratio, data, knockoff, round_to, seed)
        if fits(candidate):
            best, high = candidate, ratio
            break
        low = ratio
    if best is None:
        raise ArchfitError(f"{criterion} pruning of every searchable group by up to 95% still exceeds the budget")
    for _ in range(steps):
        mid = (low + high) / 2
        candidate = prune_uniform(model, space, criterion, mid, data, knockoff, round_to, seed)
        if fits(candidate):
            best, high = candidate, mid
        else:
            low = mid
    return best, high


def _gradients(model: nn.Module, data: Split | None, seed: int, batches: int = 8, batch_size: int = 64) -> None:
    """Accumulate loss gradients on training batches (Taylor importance reads ``weight.grad``)."""
    if data is None:
        raise ValueError("Taylor importance needs training data")
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(data), generator=generator)
    model.eval()
    model.zero_grad(set_to_none=True)
    for i in range(min(batches, max(1, len(data) // batch_size))):
        index = order[i * batch_size:(i + 1) * batch_size]
        F.cross_entropy(model(data.x[index]), data.y[index]).backward()
