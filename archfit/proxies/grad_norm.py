"""``grad_norm`` — Abdelfattah et al., ICLR 2021, "Zero-cost proxies for lightweight NAS".

Score = Σ over convolution and linear layers of ‖∂L/∂W‖₂ (Euclidean norm of each layer's weight
gradient), L the cross-entropy of one labelled minibatch. Needs: inputs and labels. Higher = better.
"""

from __future__ import annotations

from torch import nn

from archfit.proxies import register_proxy
from archfit.proxies.base import Batch, Proxy, loss_backward, weighted_layers


@register_proxy("grad_norm")
class GradNorm(Proxy):
    needs = "labels"

    def score(self, model: nn.Module, batch: Batch) -> float:
        loss_backward(model, batch)
        return sum(float(m.weight.grad.norm()) for m in weighted_layers(model) if m.weight.grad is not None)
