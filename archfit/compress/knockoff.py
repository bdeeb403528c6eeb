"""SCOP-style knockoff importance (Tang et al., NeurIPS 2020, arXiv 2010.10732), as a plain callable.

SCOP sets up a scientific control: next to each real feature map, a *knockoff* feature that mimics it
but carries no information about the sample's label, and learns per-channel scaling factors that mix
the two, ``beta * real + (1 - beta) * knockoff``, with a penalty pulling every ``beta`` towards the
knockoff. A channel whose ``beta`` stays high is one the network cannot replace by a label-free
imitation: it is important. Filters whose ``beta`` collapses are redundant.

Deviation from the paper (stated, not hidden): SCOP generates knockoff *data* with a generative model;
here the knockoff of a layer's output is the same layer's output for another sample of the batch
(a shared random permutation per step). It has the real feature's per-channel distribution and is
independent of this sample's label, which is the property the control group needs. The network's
weights are frozen while the factors are learnt, and the factors rank channels within each group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
import torch_pruning as tp
from torch import nn

from archfit.compress.width_supernet import ChannelGate
from archfit.data.base import Split

if TYPE_CHECKING:
    from archfit.space.model_width import ModelWidthSpace


@dataclass(frozen=True)
class KnockoffConfig:
    epochs: int = 2
    batch_size: int = 64
    lr: float = 0.05  # Adam on the factor logits
    penalty: float = 0.5  # weight of mean(beta), pulling factors towards the knockoff
    init: float = 2.0  # initial logit: beta = sigmoid(2) = 0.88
    seed: int = 0


def knockoff_scores(model: nn.Module, space: ModelWidthSpace, data: Split, config: KnockoffConfig) -> dict[str, torch.Tensor]:
    """Learnt ``beta`` in (0, 1) per root channel of each searchable group (higher = more important)."""
    state = {"perm": None}
    gate = ChannelGate(model, space, combine=lambda out, f: f * out + (1 - f) * out[state["perm"]])
    logits = {g.name: torch.full((g.channels,), config.init, requires_grad=True) for g in space.groups}
    optimizer = torch.optim.Adam(list(logits.values()), lr=config.lr)
    frozen = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in frozen:
        p.requires_grad_(False)
    was_training = model.training
    model.eval()  # BatchNorm uses its running statistics; no weight changes
    generator = torch.Generator().manual_seed(config.seed)
    try:
        steps = max(1, len(data) // config.batch_size)
        for _ in range(config.epochs):
            order = torch.randperm(len(data), generator=generator)
            for i in range(steps):
                index = order[i * config.batch_size:(i + 1) * config.batch_size]
                state["perm"] = torch.randperm(len(index), generator=generator)
                betas = {name: torch.sigmoid(value) for name, value in logits.items()}
                gate.factors.update(betas)
                loss = F.cross_entropy(model(data.x[index]), data.y[index])
                loss = loss + config.penalty * torch.cat(list(betas.values())).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    finally:
        gate.remove()
        for p, flag in frozen:
            p.requires_grad_(flag)
        model.train(was_training)
    return {name: torch.sigmoid(value).detach() for name, value in logits.items()}


class KnockoffImportance(tp.importance.Importance):
    """Torch-Pruning importance from ``knockoff_scores``, looked up by the group's root layer name
    (groups without scores fall back to group L1 magnitude)."""

    def __init__(self, scores: dict[str, torch.Tensor], model: nn.Module) -> None:
        self.scores = scores
        self.names = {module: name for name, module in model.named_modules()}
        self.fallback = tp.importance.GroupMagnitudeImportance(p=1)

    def __call__(self, group) -> torch.Tensor:
        root = group[0].dep.target.module
        score = self.scores.get(self.names.get(root, ""))
        if score is None or len(score) != len(group[0].idxs):
            return self.fallback(group)
        return score[torch.tensor(group[0].root_idxs)].clone()
