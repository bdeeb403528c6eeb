"""``naswot`` — Mellor et al., ICML 2021, "Neural architecture search without training".

Each input of one minibatch gets a binary code: 1 where a rectified unit is active (pre-activation
> 0), over every ReLU-like activation module. K[i, j] = number of units on which inputs i and j agree
(K = Σ c cᵀ + (1 − c)(1 − c)ᵀ); score = log |det K|. Higher = better: a net that gives different inputs
different codes is more expressive. K + I is used so that a singular K (all inputs coded alike, e.g.
no path from the input) gives a finite, lowest score; K's entries count thousands of units, so adding
1 to the diagonal does not move a non-singular K's log-determinant visibly. Needs: inputs (no labels).
"""

from __future__ import annotations

import torch
from torch import nn

from archfit.proxies import register_proxy
from archfit.proxies.base import Batch, Proxy, activations, hooks


@register_proxy("naswot")
class Naswot(Proxy):
    needs = "inputs"

    def score(self, model: nn.Module, batch: Batch) -> float:
        n = len(batch.x)
        kernel = torch.eye(n, dtype=torch.float64)

        def count(module, inputs):
            code = (inputs[0].detach() > 0).reshape(n, -1).double()
            kernel.add_(code @ code.T + (1 - code) @ (1 - code).T)

        model.train()
        with torch.no_grad(), hooks(activations(model), pre=count):
            model(batch.x)
        return float(torch.linalg.slogdet(kernel).logabsdet)
