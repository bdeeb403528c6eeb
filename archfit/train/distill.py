"""Knowledge distillation as one loss (Hinton et al. 2015), for every place archfit distils.

``distill_loss`` is KL(teacher || student) between temperature-softened outputs, scaled by T^2 so its
gradients keep their size as T grows, optionally mixed with cross-entropy on the labels. The two uses:
- in-place distillation inside a supernet (the largest path teaches the others): ``T = 1``, no labels;
- fine-tuning a slimmed model from the frozen original: ``distill_from(original, alpha=0.5, T=2)``,
  i.e. ``0.5 x CE + 0.5 x KD``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archfit.errors import ArchfitError
from archfit.train.trainer import LossFn, predict


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0,
                 labels: torch.Tensor | None = None, alpha: float = 1.0) -> torch.Tensor:
    """``alpha`` x T^2 x KL(softmax(teacher/T) || softmax(student/T)) + ``(1 - alpha)`` x CE(student, labels);
    both are means over the batch. Without ``labels``, ``alpha`` must be 1 (pure distillation)."""
    _check(alpha, temperature)
    if labels is None and alpha != 1:
        raise ArchfitError(f"distillation alpha {alpha} < 1 mixes in cross-entropy and needs labels")
    ce = F.cross_entropy(student, labels) if labels is not None and alpha < 1 else None
    if alpha == 0:
        return ce
    t = temperature
    kd = F.kl_div(F.log_softmax(student / t, 1), F.log_softmax(teacher / t, 1), log_target=True,
                  reduction="batchmean") * t * t
    return kd if ce is None else (1 - alpha) * ce + alpha * kd


def distill_from(teacher: nn.Module, alpha: float = 0.5, temperature: float = 2.0) -> LossFn:
    """A ``train`` loss function: ``distill_loss`` against a frozen ``teacher`` (eval mode, no gradients)."""
    _check(alpha, temperature)

    def loss(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        teacher_logits = predict(teacher, x) if alpha > 0 else logits.detach()
        return distill_loss(logits, teacher_logits, temperature, y, alpha)
    return loss


def _check(alpha: float, temperature: float) -> None:
    if not 0 <= alpha <= 1 or not temperature > 0:
        raise ArchfitError(f"distillation alpha {alpha} must be in [0, 1] and temperature {temperature} > 0")
