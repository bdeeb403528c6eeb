"""GDAS (Dong & Yang, CVPR 2019): one path per step, sampled by a hard Gumbel-softmax.

Every edge runs only its sampled op, scaled by a straight-through weight (1 in the forward pass, the
Gumbel-softmax gradient in the backward pass), so a step costs about one op per edge and alpha still gets
gradients. The temperature anneals linearly from ``tau_max`` to ``tau_min`` (10 → 0.1 in the paper).
"""

from __future__ import annotations

import torch

from archfit.differentiable.method import Method, register_method


@register_method("gdas")
class Gdas(Method):
    def __init__(self, tau_max: float = 10.0, tau_min: float = 0.1) -> None:
        self.tau_max, self.tau_min = float(tau_max), float(tau_min)

    def mixture(self, t: float, phase: str) -> None:
        state, alpha = self.supernet.state, self.supernet.alpha
        state.edge_scale = None
        if phase == "eval":
            state.index, state.weights = alpha.argmax(-1), None
            return
        tau = self.tau_max - (self.tau_max - self.tau_min) * t
        uniform = torch.rand(alpha.shape, generator=self.generator).clamp_(1e-9, 1 - 1e-9)
        soft = torch.softmax((torch.log_softmax(alpha, -1) - torch.log(-torch.log(uniform))) / tau, dim=-1)
        index = soft.argmax(-1)
        hard = torch.nn.functional.one_hot(index, alpha.shape[-1]).to(soft)
        state.index, state.weights = index, hard - soft.detach() + soft
