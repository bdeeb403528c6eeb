"""``params`` — a baseline: the number of trainable parameters (``archfit.cost.flops.count_params``).
Needs nothing but the network. Higher = better (as FLOPs, a size baseline on NAS-Bench-201).
"""

from __future__ import annotations

from torch import nn

from archfit.cost.flops import count_params
from archfit.proxies import register_proxy
from archfit.proxies.base import Batch, Proxy


@register_proxy("params")
class Params(Proxy):
    needs = "shape"

    def score(self, model: nn.Module, batch: Batch) -> float:
        return float(count_params(model))
