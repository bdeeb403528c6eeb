"""Dimension-generic building blocks for the reference models: the same net on 1-D signals (MNIST-1D,
input ``(channels, length)``) or 2-D images (``(channels, height, width)``), chosen by ``input_shape``."""

from __future__ import annotations

from torch import Tensor, nn

_KINDS = {1: (nn.Conv1d, nn.BatchNorm1d, nn.AvgPool1d), 2: (nn.Conv2d, nn.BatchNorm2d, nn.AvgPool2d)}


def kinds(input_shape: tuple[int, ...]) -> tuple[type[nn.Module], type[nn.Module], type[nn.Module]]:
    """(Conv, BatchNorm, AvgPool) classes for an input of ``input_shape`` (without the batch dimension)."""
    dims = len(input_shape) - 1
    if dims not in _KINDS:
        raise ValueError(f"input shape {tuple(input_shape)} is neither (channels, length) nor (channels, h, w)")
    return _KINDS[dims]


def global_pool(x: Tensor) -> Tensor:
    """Mean over every spatial dimension: (batch, channels, ...) -> (batch, channels)."""
    return x.flatten(2).mean(2)


def conv_bn_relu(conv: type[nn.Module], norm: type[nn.Module], c_in: int, c_out: int, k: int = 3, stride: int = 1,
                 groups: int = 1, relu: bool = True) -> nn.Sequential:
    layers = [conv(c_in, c_out, k, stride, k // 2, groups=groups, bias=False), norm(c_out)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)
