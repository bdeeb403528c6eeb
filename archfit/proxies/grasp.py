"""``grasp`` — Wang et al., ICLR 2020, "Picking winning tickets before training by preserving gradient
flow"; as a NAS proxy: Abdelfattah et al., ICLR 2021.

With g = ∂L/∂θ and H the Hessian of the cross-entropy L over convolution and linear weights θ,
score = Σ −θ ⊙ (H g) (a Hessian-gradient product by double back-propagation). Sign as in Abdelfattah
et al. and NASLib; higher = better. Needs: inputs and labels. Costs about three backward passes.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from archfit.proxies import register_proxy
from archfit.proxies.base import Batch, Proxy, weighted_layers


@register_proxy("grasp")
class Grasp(Proxy):
    needs = "labels"

    def score(self, model: nn.Module, batch: Batch) -> float:
        model.train()
        weights = [m.weight for m in weighted_layers(model)]
        grads = torch.autograd.grad(F.cross_entropy(model(batch.x), batch.y), weights, allow_unused=True)
        pairs = [(w, g) for w, g in zip(weights, grads) if g is not None]
        if not pairs:
            return 0.0
        live = [w for w, _ in pairs]
        again = torch.autograd.grad(F.cross_entropy(model(batch.x), batch.y), live, create_graph=True)
        dot = sum((a * g.detach()).sum() for a, (_, g) in zip(again, pairs))
        if not dot.requires_grad:  # gradients independent of the weights: H g = 0
            return 0.0
        hg = torch.autograd.grad(dot, live, allow_unused=True)
        return sum(float((-w.detach() * h).sum()) for w, h in zip(live, hg) if h is not None)
