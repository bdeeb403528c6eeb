"""``snip`` — Lee et al., ICLR 2019, "SNIP: single-shot network pruning based on connection sensitivity";
as a NAS proxy: Abdelfattah et al., ICLR 2021.

Score = Σ |θ · ∂L/∂θ| over the weights of every convolution and linear layer, L the cross-entropy of
one labelled minibatch (BatchNorm in training mode). Needs: inputs and labels. Higher = better.
"""

from __future__ import annotations

from torch import nn

from archfit.proxies import register_proxy
from archfit.proxies.base import Batch, Proxy, loss_backward, weighted_layers


@register_proxy("snip")
class Snip(Proxy):
    needs = "labels"

    def score(self, model: nn.Module, batch: Batch) -> float:
        loss_backward(model, batch)
        return sum(float((m.weight.detach() * m.weight.grad).abs().sum())
                   for m in weighted_layers(model) if m.weight.grad is not None)
