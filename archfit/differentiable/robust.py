"""Log-normal architecture weights (after "Adversarially robust NAS", Hosseini et al. 2020, 2009.00902).

Op weights are sampled every step as a normalised log-normal, ``softmax(alpha + sigma * eps)`` with
``eps ~ N(0, 1)``: the supernet is trained under noisy mixtures, which flattens the loss landscape in
alpha and avoids committing early to one op. Evaluation and derivation use the mean (``sigma = 0``).
Not implemented: the paper's Lipschitz constraint on the network.
"""

from __future__ import annotations

import torch

from archfit.differentiable.method import Method, register_method


@register_method("robust")
class Robust(Method):
    def __init__(self, sigma: float = 1.0) -> None:
        self.sigma = float(sigma)

    def mixture(self, t: float, phase: str) -> None:
        super().mixture(t, phase)
        if phase != "eval":
            alpha = self.supernet.alpha
            noise = torch.randn(alpha.shape, generator=self.generator)
            self.supernet.state.weights = torch.softmax(alpha + self.sigma * noise, dim=-1)
