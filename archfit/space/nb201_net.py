"""The NAS-Bench-201 macro network (Dong & Yang, ICLR 2020), built for any cell and input shape.

stem (3x3 conv, 16 channels, BN) → 5 cells at C → residual reduction → 5 cells at 2C → residual
reduction → 5 cells at 4C → BN, ReLU → global average pool → linear classifier. A cell is a DAG of 4
nodes: node j sums one operation applied to each earlier node; node 3 is the output. Operations are
ReLU-Conv-BN for convolutions, 3x3 average pooling (padding not counted), identity, and zero.
Inputs of shape (C, H, W) build 2-D layers, (C, L) builds 1-D ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from archfit.errors import ArchfitError
from archfit.space import ops as op_registry
from archfit.space.dag import DagCell
from archfit.space.ops import ReLUConvBN, Zero, layers

EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from)
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
__all__ = ["EDGES", "OPS", "Cell", "Nb201Network", "ReLUConvBN", "ResidualReduction", "Zero", "make_op"]


def _layers(ndim: int) -> tuple[type, type, type, type]:
    """(Conv, BatchNorm, AvgPool, AdaptiveAvgPool) classes for 1-D or 2-D inputs."""
    if ndim not in (1, 2):
        raise ArchfitError(f"nb201: input with {ndim} spatial dims is not supported; expected (C, L) or (C, H, W)")
    conv, norm, avg, _, adaptive = layers(ndim)
    return conv, norm, avg, adaptive


def make_op(name: str, ndim: int, channels: int) -> nn.Module:
    """A NAS-Bench-201 edge operation (from the shared registry in ``space/ops.py``)."""
    if name not in OPS:
        raise ArchfitError(f"nb201: unknown operation {name!r}")
    return op_registry.make_op(name, ndim, channels)


class Cell(DagCell):
    """Node j = sum over i < j of op(j, i)(node i); returns node 3. ``ops`` follow ``EDGES`` order."""

    def __init__(self, ops: Sequence[str], ndim: int, channels: int) -> None:
        super().__init__(EDGES, [make_op(op, ndim, channels) for op in ops])


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
                 cells: int = 5, cell: Callable[[int, int], nn.Module] | None = None) -> None:
        """``cell(ndim, width)`` builds each cell (default: the fixed cell of ``ops``; a supernet passes its
        mixed cell here and reuses the skeleton)."""
        super().__init__()
        ndim = len(input_shape) - 1
        make_cell = cell or (lambda nd, width: Cell(ops, nd, width))
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
            layers += [make_cell(ndim, width) for _ in range(cells)]
        self.cells = nn.Sequential(*layers)
        self.head = nn.Sequential(norm(width), nn.ReLU(inplace=False), adaptive(1), nn.Flatten())
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.cells(self.stem(x))))
