"""Knowledge distillation as a loss (Hinton et al. 2015): KL between temperature-softened outputs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archfit.train.trainer import LossFn, predict


def kd_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """KL(teacher || student) of softmax(logits / T), scaled by T^2 so gradients keep their size."""
    t = temperature
    return F.kl_div(F.log_softmax(student / t, 1), F.log_softmax(teacher / t, 1), log_target=True,
                    reduction="batchmean") * t * t


def distill_loss(teacher: nn.Module, alpha: float = 0.5, temperature: float = 2.0) -> LossFn:
    """A ``train`` loss: ``(1 - alpha)`` x cross-entropy on labels + ``alpha`` x KD from a frozen ``teacher``
    (in eval mode, no gradients)."""
    if not 0 <= alpha <= 1 or not temperature > 0:
        raise ValueError(f"distillation alpha {alpha} must be in [0, 1] and temperature {temperature} > 0")

    def loss(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ce = F.cross_entropy(logits, y)
        if alpha == 0:
            return ce
        return (1 - alpha) * ce + alpha * kd_loss(logits, predict(teacher, x), temperature)
    return loss
