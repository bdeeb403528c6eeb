"""Any model as a width supernet: per-group channel masks on the real model, sandwich-rule training.

Masking a dropped channel at the output of every layer that produces it (conv, linear, BatchNorm)
computes exactly what the pruned model computes, because every layer between them works per channel
(groups with anything else are left out by ``groups.discover``). So one set of weights serves every
width configuration, and ``extract`` turns the chosen one into a real, smaller model.

Training follows the sandwich rule with in-place distillation (Yu et al., BigNAS/US-Nets): each step
trains the full width on the labels, then the smallest width and ``random_paths`` random widths on
the full width's soft predictions. One random path is drawn at the FLOPs budget (random shrinking from
full width until the budget is met), so the widths the search will pick are trained most.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from archfit.compress.costs import WidthCost
from archfit.compress.distill import kd_loss
from archfit.compress.groups import GroupPlan
from archfit.data.base import Split
from archfit.train.trainer import TrainConfig, cosine_lr, make_optimizer

Combine = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (layer output, per-channel factor) -> output


class ChannelGate:
    """Forward hooks that scale each group's channels at the output of every layer producing them."""

    def __init__(self, model: nn.Module, plan: GroupPlan, combine: Combine | None = None) -> None:
        self.plan = plan
        self.factors: dict[str, torch.Tensor | None] = {g.name: None for g in plan.groups}
        self.combine = combine or (lambda out, factor: out * factor)
        modules = dict(model.named_modules())
        per_module: dict[str, list[tuple[str, torch.Tensor, torch.Tensor]]] = {}
        for group in plan.groups:
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

    def set_widths(self, widths: dict[str, int] | None) -> None:
        """Keep ``widths[group]`` top-ranked channels of each group (``None``: the full model)."""
        for group in self.plan.groups:
            width = group.channels if widths is None else widths[group.name]
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


@torch.no_grad()
def recalibrate_bn(model: nn.Module, x: torch.Tensor, batches: int = 8, batch_size: int = 128, seed: int = 0) -> None:
    """Re-estimate BatchNorm running statistics for the current widths (cumulative average over batches)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    was_training = model.training
    model.train()
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=generator)
    for i in range(min(batches, max(1, len(x) // batch_size))):
        model(x[order[i * batch_size:(i + 1) * batch_size]])
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    model.train(was_training)


def sample_at_budget(plan: GroupPlan, fits: Callable[[dict[str, int]], bool], rng: np.random.Generator,
                     start: dict[str, int] | None = None) -> dict[str, int]:
    """Shrink random groups one choice at a time from ``start`` (full width) until ``fits``; then grow
    random groups back while they still fit, so the result sits on the budget's boundary."""
    index = {g.name: g.choices.index((start or plan.full())[g.name]) for g in plan.groups}

    def widths() -> dict[str, int]:
        return {g.name: g.choices[index[g.name]] for g in plan.groups}

    while not fits(widths()):
        shrinkable = [g.name for g in plan.groups if index[g.name] > 0]
        if not shrinkable:
            break
        index[shrinkable[rng.integers(len(shrinkable))]] -= 1
    for name in rng.permutation([g.name for g in plan.groups]):
        group = plan.group(str(name))
        while index[group.name] + 1 < len(group.choices):
            index[group.name] += 1
            if not fits(widths()):
                index[group.name] -= 1
                break
    return widths()


@dataclass(frozen=True)
class SupernetConfig:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.02  # peak SGD learning rate (cosine schedule); the weights start pre-trained
    weight_decay: float = 5e-4
    random_paths: int = 2  # random widths per step besides the full and the smallest
    temperature: float = 1.0  # of the in-place distillation
    seed: int = 0


def train_supernet(model: nn.Module, gate: ChannelGate, data: Split, config: SupernetConfig,
                   fits: Callable[[dict[str, int]], bool] | None = None) -> list[float]:
    """Sandwich-rule training in place; returns the mean full-width loss of each epoch."""
    plan = gate.plan
    rng = np.random.default_rng(config.seed)
    train_config = TrainConfig(epochs=max(1, config.epochs), batch_size=config.batch_size, lr=config.lr,
                               weight_decay=config.weight_decay, seed=config.seed)
    optimizer = make_optimizer(model, train_config)
    generator = torch.Generator().manual_seed(config.seed)
    steps = max(1, len(data) // config.batch_size)
    total, step, history = config.epochs * steps, 0, []
    model.train()
    for _ in range(config.epochs):
        order, running = torch.randperm(len(data), generator=generator), 0.0
        for i in range(steps):
            index = order[i * config.batch_size:(i + 1) * config.batch_size]
            x, y = data.x[index], data.y[index]
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(step, total, config.lr)
            optimizer.zero_grad(set_to_none=True)
            gate.set_widths(None)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            running += float(loss.detach())
            target = logits.detach()
            for widths in _paths(plan, config.random_paths, fits, rng):
                gate.set_widths(widths)
                kd_loss(model(x), target, config.temperature).backward()
            optimizer.step()
            step += 1
        history.append(running / steps)
    gate.set_widths(None)
    return history


def _paths(plan: GroupPlan, random_paths: int, fits, rng: np.random.Generator) -> list[dict[str, int]]:
    paths = [plan.smallest()]
    for k in range(random_paths):
        if k == 0 and fits is not None:
            paths.append(sample_at_budget(plan, fits, rng))
        else:
            paths.append({g.name: g.choices[rng.integers(len(g.choices))] for g in plan.groups})
    return paths


def costs_fit(cost: WidthCost, max_flops: float | None, max_params: float | None) -> Callable[[dict[str, int]], bool]:
    """A fast feasibility test on predicted FLOPs/params (latency is checked on extracted models)."""
    def fits(widths: dict[str, int]) -> bool:
        return ((max_flops is None or cost.flops(widths) <= max_flops)
                and (max_params is None or cost.params(widths) <= max_params))
    return fits
