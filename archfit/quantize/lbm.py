"""Learned binarization mapping (arXiv 2010.04871): instead of binarizing each weight on its own by its
sign, learn a mapping that takes a layer's weights as a whole to the binary ones, supervised by the signs of
the full-precision weights treated as noisy labels, with an unbiased (noise-corrected) loss.

Here the mapping mixes a filter's weights across input channels and across kernel positions:
``z = w + P w + w Q`` (``P``: in x in, ``Q``: k x k, both starting at 0, so training starts at plain sign
binarization), the binary weight is ``alpha * sign(z)`` with a straight-through gradient and ``alpha`` the
per-channel mean |w|. The auxiliary loss is the logistic loss of margins ``t = clamp(z / alpha, -3, 3)``
against labels ``y = sign(w)``, corrected for a symmetric flip rate ``rho`` (Natarajan et al. 2013):
``((1 - rho) l(t, y) - rho l(t, -y)) / (1 - 2 rho)``, weighted by ``weight``. 1 bit only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archfit.errors import ArchfitError
from archfit.quantize.lowbit import LowBitMethod, channel_alpha, register_method


@register_method("lbm")
class LearnedBinarization(LowBitMethod):
    rho = 0.1  # assumed fraction of noisy sign labels
    weight = 1e-2  # auxiliary loss weight

    def __init__(self, weight: torch.Tensor, bits: int) -> None:
        if bits != 1:
            raise ArchfitError(f"lbm (learned binarization) is 1-bit only; got {bits} bits (use ste or sdw)")
        super().__init__(weight, bits)
        c_in = weight.shape[1]
        k = weight[0, 0].numel()
        self.mix_in = nn.Parameter(torch.zeros(c_in, c_in))
        self.mix_k = nn.Parameter(torch.zeros(k, k))
        self._aux = torch.zeros(())

    def mapped(self, weight: torch.Tensor) -> torch.Tensor:
        w = weight.reshape(weight.shape[0], weight.shape[1], -1)  # (out, in, k)
        z = w + torch.einsum("ij,ojk->oik", self.mix_in, w) + torch.einsum("oik,kl->oil", w, self.mix_k)
        return z.reshape(weight.shape)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        alpha = channel_alpha(weight.detach(), 1)
        z = self.mapped(weight)
        binary = torch.where(z >= 0, 1.0, -1.0) * alpha
        if self.hard:
            return binary
        if self.training:
            t = (z / alpha).clamp(-3, 3)
            y = torch.where(weight.detach() >= 0, 1.0, -1.0)
            loss = ((1 - self.rho) * F.softplus(-y * t) - self.rho * F.softplus(y * t)) / (1 - 2 * self.rho)
            self._aux = loss.mean()
        return z + (binary - z).detach()

    def penalty(self) -> torch.Tensor:
        aux, self._aux = self._aux, torch.zeros(())
        return self.weight * aux
