"""``fisher`` — Theis et al. 2018, "Faster gaze prediction with dense networks and Fisher pruning";
Turner et al., ICLR 2020 (BlockSwap); as a NAS proxy: Abdelfattah et al., ICLR 2021.

For each output channel c of every convolution and linear layer, with activation a and its gradient
∂L/∂a: Δ_c = ½ · mean over the batch of (Σ over positions a · ∂L/∂a)²; score = Σ over layers and
channels of Δ_c (the loss increase expected from removing the channel). Needs: inputs and labels.
Higher = better.
"""

from __future__ import annotations

import torch
from torch import nn

from archfit.proxies import register_proxy
from archfit.proxies.base import Batch, Proxy, hooks, loss_backward, weighted_layers


@register_proxy("fisher")
class Fisher(Proxy):
    needs = "labels"

    def score(self, model: nn.Module, batch: Batch) -> float:
        outputs: list[torch.Tensor] = []

        def keep(module, inputs, output):
            if output.requires_grad:
                output.retain_grad()
                outputs.append(output)

        with hooks(weighted_layers(model), post=keep):
            loss_backward(model, batch)
        total = 0.0
        for a in outputs:
            if a.grad is None:
                continue
            per_channel = (a.detach() * a.grad).reshape(a.shape[0], a.shape[1], -1).sum(dim=2)
            total += float(0.5 * per_channel.pow(2).mean(dim=0).sum())
        return total
