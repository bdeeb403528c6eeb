"""sharpDARTS (Hsu et al., 2018): Max-W weighting and cosine power annealing.

Max-W gives every op on an edge the weight ``1 - max(w) + w_i`` instead of the softmax ``w_i``: the
leading op keeps weight 1 and the others are not starved, which slows the rich-get-richer collapse.
Cosine power annealing replaces the cosine schedule of the weights' learning rate by
``(p^((1 + cos(pi t)) / 2) - 1) / (p - 1)`` of the peak (p = 10): a sharper early decay and a longer
low-rate tail, during which the architecture weights settle.
"""

from __future__ import annotations

import math

import torch

from archfit.differentiable.method import Method, register_method


@register_method("sharpdarts")
class SharpDarts(Method):
    def __init__(self, power: float = 10.0, max_w: bool = True) -> None:
        self.power, self.max_w = float(power), bool(max_w)

    def op_weights(self, t: float) -> torch.Tensor:
        weights = torch.softmax(self.supernet.alpha, dim=-1)
        if self.max_w:
            weights = 1 - weights.max(dim=-1, keepdim=True).values + weights
        return weights

    def scores(self) -> torch.Tensor:
        with torch.no_grad():
            return torch.softmax(self.supernet.alpha, dim=-1).clone()

    def weight_lr(self, t: float, peak: float) -> float:
        p = self.power
        return peak * (p ** ((1 + math.cos(math.pi * t)) / 2) - 1) / (p - 1)
