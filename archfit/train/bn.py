"""BatchNorm recalibration: recompute running statistics for the weights a network has now.

Weights inherited from a supernet come with running statistics accumulated over many different
paths; they are wrong for any one sub-network. Resetting them and averaging (cumulative, not
exponential) over a few training batches fixes that without touching a single learned parameter.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Reset and re-estimate every BatchNorm's running mean/var on ``batches`` (inputs only).

    Only running statistics (and ``num_batches_tracked``) change; parameters, momentum and the
    model's train/eval mode are as before. Returns the number of BatchNorm layers recalibrated.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    momenta = [m.momentum for m in norms]
    was_training = model.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: every batch weighs the same
    model.train()
    try:
        for x in batches:
            model(x)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.train(was_training)
    return len(norms)


def calibration_batches(x: torch.Tensor, batches: int, batch_size: int, seed: int = 0) -> list[torch.Tensor]:
    """``batches`` fixed, seeded batches of ``x`` (fewer when ``x`` is small; each holds >= 2 samples)."""
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    size = max(2, min(batch_size, len(x)))
    return [x[order[i:i + size]] for i in range(0, min(len(x), batches * size), size) if len(order[i:i + size]) > 1]
