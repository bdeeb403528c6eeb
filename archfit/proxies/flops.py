"""``flops`` — a baseline, not a learned signal: FLOPs (2 x multiply-accumulates) of one forward pass at
batch 1, counted by ``archfit.cost.flops.count_flops``. NAS-Bench-201 rank studies (Abdelfattah et al.
2021; NAS-Bench-Suite-Zero, Krishnakumar et al. 2022) find it as good as most proxies. Needs: the input
shape only. Higher = better (bigger nets train to higher accuracy on NAS-Bench-201).
"""

from __future__ import annotations

from torch import nn

from archfit.cost.flops import count_flops
from archfit.proxies import register_proxy
from archfit.proxies.base import Batch, Proxy


@register_proxy("flops")
class Flops(Proxy):
    needs = "shape"

    def score(self, model: nn.Module, batch: Batch) -> float:
        model.eval()
        return float(count_flops(model, batch.input_shape))
