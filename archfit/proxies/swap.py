"""``swap`` — Peng et al., ICLR 2024, "SWAP-NAS: sample-wise activation patterns for ultra-fast NAS".

For every rectified unit (each position of each channel entering a ReLU-like activation module), its
sample-wise activation pattern is the binary vector (pre-activation > 0) over the N inputs of the
minibatch. Score = the number of distinct patterns over all units (at most 2^N and at most the unit
count). Higher = better (a more expressive net). Needs: inputs (no labels). The plain SWAP score, not
the parameter-regularised variant.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from archfit.proxies import register_proxy
from archfit.proxies.base import Batch, Proxy, activations, hooks


@register_proxy("swap")
class Swap(Proxy):
    needs = "inputs"

    def score(self, model: nn.Module, batch: Batch) -> float:
        n = len(batch.x)
        codes: list[np.ndarray] = []

        def record(module, inputs):
            bits = (inputs[0].detach() > 0).reshape(n, -1).numpy()
            codes.append(np.packbits(bits, axis=0).T)  # one row of ceil(N/8) bytes per unit

        model.train()
        with torch.no_grad(), hooks(activations(model), pre=record):
            model(batch.x)
        if not codes:
            return 0.0
        rows = np.ascontiguousarray(np.concatenate(codes))
        return float(len(np.unique(rows.view(np.dtype((np.void, rows.shape[1]))))))
