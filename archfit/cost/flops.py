"""FLOPs and parameter counts of any ``nn.Module``.

FLOPs are counted by PyTorch's ``FlopCounterMode`` and follow its convention: one multiply-add is
2 FLOPs, so FLOPs = 2 x MACs, for convolutions (depthwise and grouped included), linear layers,
matmuls and attention. Element-wise work (BatchNorm, activations, pooling, additions) is not
counted, as in most of the literature. Counting runs on meta tensors when the model lives on the
meta device, so no memory is allocated and nothing is computed.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archfit.cost.probe import probe_forward


def count_flops(model: nn.Module, input_shape: tuple[int, ...], batch: int = 1) -> int:
    """FLOPs (2 x MACs) of one forward pass at ``batch`` samples of shape ``input_shape``."""
    with FlopCounterMode(display=False) as counter:
        probe_forward(model, input_shape, batch, device=device_of(model))
    return int(counter.get_total_flops())


def count_params(model: nn.Module) -> int:
    """Number of distinct parameters (shared tensors counted once); buffers are not parameters."""
    seen, total = set(), 0
    for param in model.parameters():
        if id(param) not in seen:
            seen.add(id(param))
            total += param.numel()
    return total


def device_of(model: nn.Module) -> torch.device:
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device
    return torch.device("cpu")
