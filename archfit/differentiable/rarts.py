"""RARTS (Xin et al., "RARTS: an efficient first-order relaxed architecture search", 2020).

Single-level relaxed objective instead of DARTS' bilevel one: a second copy of the network weights ``y``
trains on the validation half while ``w`` trains on the training half, a penalty ``lam/2 ||w - y||^2``
couples them, and alpha descends the sum of both losses in the same step — no alternation, no
second-order term, and alpha sees validation data through ``y``.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from archfit.differentiable.method import Batch, Method, register_method


@register_method("rarts")
class Rarts(Method):
    def __init__(self, lam: float = 1e-2) -> None:
        self.lam = float(lam)

    def start(self, loop) -> None:
        super().start(loop)
        self.aux = copy.deepcopy(self.supernet.net)
        for module in self.aux.modules():  # the copy's mixed edges read the one shared edge state
            if hasattr(module, "state"):
                module.state = self.supernet.state
        s = loop.settings
        self.aux_optimizer = torch.optim.SGD(self.aux.parameters(), lr=s.weight_lr, momentum=s.weight_momentum,
                                             weight_decay=s.weight_decay)

    def step(self, t: float, weights_batch: Batch, arch_batch: Batch) -> float:
        loop = self.loop
        for group in self.aux_optimizer.param_groups:
            group["lr"] = loop.weight_optimizer.param_groups[0]["lr"]
        self.mixture(t, "weights")
        (xw, yw), (xa, ya) = weights_batch, arch_batch
        train_loss = F.cross_entropy(self.supernet(xw), yw)
        loss = train_loss
        if not loop.warming_up:
            coupling = sum((w - y).pow(2).sum() for w, y in zip(self.supernet.net.parameters(), self.aux.parameters()))
            loss = loss + F.cross_entropy(self.aux(xa), ya) + 0.5 * self.lam * coupling
        for optimizer in (loop.weight_optimizer, loop.arch_optimizer, self.aux_optimizer):
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.supernet.weight_parameters(), loop.settings.grad_clip)
        nn.utils.clip_grad_norm_(list(self.aux.parameters()), loop.settings.grad_clip)
        loop.weight_optimizer.step()
        if not loop.warming_up:
            loop.arch_optimizer.step()
            self.aux_optimizer.step()
        return float(train_loss.detach())

    def state_tensors(self) -> dict[str, torch.Tensor]:
        tensors = {f"aux.{k}": v for k, v in self.aux.state_dict().items()}
        for i, p in enumerate(self.aux.parameters()):
            buffer = self.aux_optimizer.state.get(p, {}).get("momentum_buffer")
            if buffer is not None:
                tensors[f"momentum.{i}"] = buffer
        return tensors

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.aux.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("aux.")})
        for i, p in enumerate(self.aux.parameters()):
            if f"momentum.{i}" in tensors:
                self.aux_optimizer.state[p]["momentum_buffer"] = tensors[f"momentum.{i}"].clone()
