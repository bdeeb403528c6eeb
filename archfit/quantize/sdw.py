"""Searchable discrete weights (arXiv 2009.08695): each low-bit weight is a learnt probability distribution
over its discrete value set; the expected value is used while training, with a temperature annealed toward
zero so the distribution sharpens, and the most probable value is kept at the end.

Here: per weight, logits over the ``2**bits`` levels of ``lowbit.levels`` scaled by a per-channel ``alpha``
fixed from the float weights; the logits start as a Gaussian kernel around the float weight (so the first
expected weight is close to it); temperature ``tau = tau0 * (tau1 / tau0) ** progress``. The paper's
"state BatchNorm" (separate BN statistics for soft and hard weights) is replaced by re-estimating BN
statistics once after hardening (``lowbit.convert``).
"""

from __future__ import annotations

import torch
from torch import nn

from archfit.quantize.lowbit import LowBitMethod, channel_alpha, levels, register_method


@register_method("sdw")
class SearchableDiscreteWeights(LowBitMethod):
    tau0 = 1.0
    tau1 = 0.02

    def __init__(self, weight: torch.Tensor, bits: int) -> None:
        super().__init__(weight, bits)
        values = levels(bits)
        self.register_buffer("values", values.view(-1, *([1] * weight.dim())))
        self.register_buffer("alpha", channel_alpha(weight, bits))
        spacing = 2.0 / (len(values) - 1)
        unit = (weight / self.alpha).unsqueeze(0)
        self.logits = nn.Parameter(-((unit - self.values) ** 2) / (2 * (spacing / 2) ** 2))
        self.tau = self.tau0

    def step(self, progress: float) -> None:
        self.tau = self.tau0 * (self.tau1 / self.tau0) ** progress

    def forward(self, weight: torch.Tensor) -> torch.Tensor:  # the latent weight is replaced by the logits
        if self.hard:
            index = self.logits.argmax(0, keepdim=True)
            return torch.gather(self.values.expand_as(self.logits), 0, index).squeeze(0) * self.alpha
        probs = torch.softmax(self.logits / self.tau, dim=0)
        return (probs * self.values).sum(0) * self.alpha
