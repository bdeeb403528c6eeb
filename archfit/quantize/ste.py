"""The straight-through-estimator baseline (BinaryConnect/XNOR-Net style): the forward pass uses the latent
weight rounded to the nearest level of the value set, the backward pass treats the rounding as identity."""

from __future__ import annotations

import torch

from archfit.quantize.lowbit import LowBitMethod, channel_alpha, nearest_level, register_method


@register_method("ste")
class STE(LowBitMethod):
    """Round to ``alpha * levels(bits)`` (alpha from the current latent weights); identity gradient."""

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        alpha = channel_alpha(weight.detach(), self.bits)
        q = nearest_level(weight / alpha, self.bits) * alpha
        if self.hard:  # exact levels (w + (q - w) differs from q by rounding)
            return q
        return weight + (q - weight).detach()
