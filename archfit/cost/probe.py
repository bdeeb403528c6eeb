"""One probe forward pass: eval mode, no autograd, zeros input, hooks removed and mode restored after.

Cost counting and layer discovery all need exactly this; one place keeps them from drifting apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

Hook = Callable[[nn.Module, tuple, object], None]


def probe_forward(model: nn.Module, input_shape: tuple[int, ...], batch: int = 1,
                  hooks: Iterable[tuple[nn.Module, Hook]] = (), device: torch.device | None = None) -> object:
    """Run ``model`` once on zeros of shape ``(batch, *input_shape)`` with forward ``hooks`` attached."""
    handles = [module.register_forward_hook(hook) for module, hook in hooks]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(torch.zeros(batch, *input_shape, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
