"""The NAS-Bench-201 macro network (Dong & Yang, ICLR 2020), built for any cell and input shape.

stem (3x3 conv, 16 channels, BN) → 5 cells at C → residual reduction → 5 cells at 2C → residual
reduction → 5 cells at 4C → BN, ReLU → global average pool → linear classifier. A cell is a DAG of 4
nodes: node j sums one operation applied to each earlier node; node 3 is the output. Operations are
ReLU-Conv-BN for convolutions, 3x3 average pooling (padding not counted), identity, and zero.
Inputs of shape (C, H, W) build 2-D layers, (C, L) builds 1-D ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from archfit.errors import ArchfitError

EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from)


def _layers(ndim: int) -> tuple[type, type, type, type]:
    """(Conv, BatchNorm, AvgPool, AdaptiveAvgPool) classes for 1-D or 2-D inputs."""
    if ndim == 1:
        return nn.Conv1d, nn.BatchNorm1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d
    if ndim == 2:
        return nn.Conv2d, nn.BatchNorm2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d
    raise ArchfitError(f"nb201: input with {ndim} spatial dims is not supported; expected (C, L) or (C, H, W)")


class ReLUConvBN(nn.Sequential):
    def __init__(self, ndim: int, cin: int, cout: int, kernel: int, stride: int = 1) -> None:
        conv, norm, _, _ = _layers(ndim)
        super().__init__(nn.ReLU(inplace=False), conv(cin, cout, kernel, stride, kernel // 2, bias=False), norm(cout))


class Zero(nn.Module):
    """The ``none`` operation: contributes nothing (kept as a module so the cell's structure is explicit)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, ndim: int, channels: int) -> nn.Module:
    _, _, pool, _ = _layers(ndim)
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(ndim, channels, channels, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(ndim, channels, channels, 3)
    if name == "avg_pool_3x3":
        return pool(3, stride=1, padding=1, count_include_pad=False)
    raise ArchfitError(f"nb201: unknown operation {name!r}")


class Cell(nn.Module):
    """Node j = sum over i < j of op(j, i)(node i); returns node 3. ``ops`` follow ``EDGES`` order."""

    def __init__(self, ops: Sequence[str], ndim: int, channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(make_op(op, ndim, channels) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in (1, 2, 3):
            total = None
            for k, (to, src) in enumerate(EDGES):
                if to == j:
                    out = self.edges[k](nodes[src])
                    total = out if total is None else total + out
            nodes.append(total)
        return nodes[3]


class ResidualReduction(nn.Module):
    """ResNet basic block that changes width (and halves resolution when ``stride`` is 2)."""

    def __init__(self, ndim: int, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        conv, _, pool, _ = _layers(ndim)
        self.conv_a = ReLUConvBN(ndim, cin, cout, 3, stride)
        self.conv_b = ReLUConvBN(ndim, cout, cout, 3)
        # ceil_mode: odd sizes shrink like the stride-2 conv branch (identical to the standard pool on even sizes)
        shortcut: list[nn.Module] = [pool(2, stride=2, ceil_mode=True)] if stride == 2 else []
        self.shortcut = nn.Sequential(*shortcut, conv(cin, cout, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class Nb201Network(nn.Module):
    """The macro skeleton around one cell repeated ``cells`` times per stage (3 stages)."""

    def __init__(self, ops: Sequence[str], input_shape: Sequence[int], num_classes: int, channels: int = 16,
                 cells: int = 5) -> None:
        super().__init__()
        ndim = len(input_shape) - 1
        conv, norm, _, adaptive = _layers(ndim)
        self.stem = nn.Sequential(conv(input_shape[0], channels, 3, padding=1, bias=False), norm(channels))
        layers: list[nn.Module] = []
        width, size = channels, min(input_shape[1:])
        for stage in range(3):
            if stage > 0:
                stride = 2 if size >= 2 else 1  # tiny inputs stop shrinking instead of vanishing
                size = (size + stride - 1) // stride
                layers.append(ResidualReduction(ndim, width, width * 2, stride))
                width *= 2
            layers += [Cell(ops, ndim, width) for _ in range(cells)]
        self.cells = nn.Sequential(*layers)
        self.head = nn.Sequential(norm(width), nn.ReLU(inplace=False), adaptive(1), nn.Flatten())
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.cells(self.stem(x))))
