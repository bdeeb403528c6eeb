"""One-shot pruning baselines to a budget with Torch-Pruning: L1, BN-scale, Taylor, FPGM and knockoff.

Every criterion prunes the same groups the width search may change (kept layers and left-out groups
are ignored). ``scope="local"``: the same ratio in every group (Torch-Pruning's default); ``"global"``: one
ratio over all groups, channels ranked across groups by their (group-normalised) importance
(``global_pruning=True``). The ratio is found by bisection as the least whose pruned model fits the budget.
Why both: a uniform ratio moves FLOPs in coarse steps on narrow layers (ResNet-20 at width 8 jumps from
0.25 to 0.19 of its FLOPs between ratios 0.50 and 0.51), so at a tight budget the local baseline lands well
under it; the global one lands closer (0.24) and ranks channels as Torch-Pruning recommends for FLOPs targets.
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
SCOPES = ("local", "global")


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
                  seed: int = 0, scope: str = "local") -> nn.Module:
    """A pruned copy of ``model`` with ``ratio`` of each searchable group's channels removed (``scope`` local),
    or ``ratio`` of all their channels, least important first across groups (``scope`` global)."""
    if scope not in SCOPES:
        raise ArchfitError(f"pruning scope {scope!r} is not one of {list(SCOPES)}")
    small = copy.deepcopy(model)
    names = dict(small.named_modules())
    ignored = [names[n] for n in space.kept_layers] + [names[m] for lo in space.left_out for m in lo.members]
    if criterion == "taylor":
        _gradients(small, data, seed)
    example = torch.zeros(2, *space.input_shape)
    small.eval()
    pruner = tp.pruner.MetaPruner(small, example, importance(criterion, small, knockoff), pruning_ratio=ratio,
                                  ignored_layers=ignored, round_to=round_to, global_pruning=scope == "global")
    pruner.step()
    small.zero_grad(set_to_none=True)
    return small


def prune_to_budget(model: nn.Module, space: ModelWidthSpace, criterion: str, fits: Callable[[nn.Module], bool],
                    data: Split | None = None, knockoff: dict[str, torch.Tensor] | None = None,
                    round_to: int | None = None, steps: int = 5, seed: int = 0,
                    scope: str = "local") -> tuple[nn.Module, float]:
    """The least-pruned model that ``fits``: the uniform ratio is scanned upwards in steps of 0.1, then
    bisected; returns the model and its ratio. (A scan, not a plain bisection, because Torch-Pruning
    skips groups it would empty, so very high ratios can prune less than lower ones.)"""
    if fits(model):
        return copy.deepcopy(model), 0.0
    low, best, high = 0.0, None, None
    for ratio in [round(0.1 * k, 2) for k in range(1, 10)] + [0.95]:
        candidate = prune_uniform(model, space, criterion, ratio, data, knockoff, round_to, seed, scope)
        if fits(candidate):
            best, high = candidate, ratio
            break
        low = ratio
    if best is None:
        raise ArchfitError(f"{criterion} pruning of every searchable group by up to 95% still exceeds the budget")
    for _ in range(steps):
        mid = (low + high) / 2
        candidate = prune_uniform(model, space, criterion, mid, data, knockoff, round_to, seed, scope)
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
