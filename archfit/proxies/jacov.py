"""``jacov`` — Mellor et al. 2020, "Neural architecture search without training" (arXiv v1, the
Jacobian-covariance score; used by Abdelfattah et al., ICLR 2021 and NASLib under this name).

J = ∂(Σ outputs)/∂x per input of one minibatch, flattened (N rows); Σ = the N x N correlation matrix of
the rows, eigenvalues λ; score = −Σ (log(λ + k) + 1/(λ + k)), k = 1e-5. Higher = better: inputs whose
Jacobians are less correlated (the net separates them) score higher. A row with zero variance (the
output does not depend on that input) is taken as perfectly correlated with every row, the limit that
scores lowest. Needs: inputs (labels unused).
"""

from __future__ import annotations

import torch
from torch import nn

from archfit.proxies import register_proxy
from archfit.proxies.base import Batch, Proxy

K = 1e-5


@register_proxy("jacov")
class Jacov(Proxy):
    needs = "inputs"

    def score(self, model: nn.Module, batch: Batch) -> float:
        model.train()
        x = batch.x.clone().requires_grad_(True)
        model(x).sum().backward()
        jac = x.grad.reshape(len(x), -1).double()
        centred = jac - jac.mean(dim=1, keepdim=True)
        norms = centred.norm(dim=1)
        live = norms > 1e-12 * max(1.0, float(norms.max()))
        unit = torch.where(live[:, None], centred / norms.clamp_min(1e-300)[:, None], torch.zeros_like(centred))
        corr = unit @ unit.T
        dead = ~(live[:, None] & live[None, :])
        corr = torch.where(dead, torch.ones_like(corr), corr)
        eig = torch.linalg.eigvalsh(corr).clamp_min(0.0)
        return float(-(torch.log(eig + K) + 1.0 / (eig + K)).sum())
