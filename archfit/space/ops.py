"""Cell operations by name, shared by the NAS-Bench-201 cell, the DARTS cell and the differentiable supernets.

Every builder has one signature, ``build(ndim, cin, cout, stride) -> nn.Module``, so a cell builds any op
on any edge without knowing which family it comes from. ``ndim`` is the number of spatial dims (1 or 2).
Convolutions are ReLU-Conv-BN (NAS-Bench-201, Dong & Yang 2020) or the DARTS separable/dilated forms
(Liu et al. 2019: a separable conv is applied twice, a dilated conv once). Pools do not count padding.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from archfit.errors import ArchfitError
from archfit.registry import Registry

OpBuilder = Callable[[int, int, int, int], nn.Module]  # (ndim, cin, cout, stride) -> module
_OPS: Registry = Registry("cell operation", ())


def register_op(name: str) -> Callable[[OpBuilder], OpBuilder]:
    """Decorator: make a builder available to ``make_op(name, ...)``."""
    return _OPS.register(name)


def list_ops() -> list[str]:
    return _OPS.names()


def make_op(name: str, ndim: int, cin: int, cout: int | None = None, stride: int = 1) -> nn.Module:
    """The operation ``name`` from ``cin`` to ``cout`` channels (default ``cin``) with ``stride``."""
    if name not in _OPS.classes:
        raise ArchfitError(f"unknown cell operation {name!r}; expected one of {list_ops()}")
    return _OPS.classes[name](ndim, cin, cin if cout is None else cout, stride)


def layers(ndim: int) -> tuple[type, type, type, type, type]:
    """(Conv, BatchNorm, AvgPool, MaxPool, AdaptiveAvgPool) classes for 1-D or 2-D inputs."""
    if ndim == 1:
        return nn.Conv1d, nn.BatchNorm1d, nn.AvgPool1d, nn.MaxPool1d, nn.AdaptiveAvgPool1d
    if ndim == 2:
        return nn.Conv2d, nn.BatchNorm2d, nn.AvgPool2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d
    raise ArchfitError(f"input with {ndim} spatial dims is not supported; expected (C, L) or (C, H, W)")


class ReLUConvBN(nn.Sequential):
    def __init__(self, ndim: int, cin: int, cout: int, kernel: int, stride: int = 1, dilation: int = 1,
                 groups: int = 1) -> None:
        conv, norm = layers(ndim)[:2]
        super().__init__(nn.ReLU(inplace=False),
                         conv(cin, cout, kernel, stride, dilation * (kernel // 2), dilation, groups, bias=False),
                         norm(cout))


class Zero(nn.Module):
    """The ``none`` operation: contributes nothing (kept as a module so the cell's structure is explicit)."""

    def __init__(self, stride: int = 1, cout: int | None = None) -> None:
        super().__init__()
        self.stride, self.cout = stride, cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1 and self.cout in (None, x.shape[1]):
            return x.mul(0.0)
        spatial = tuple(slice(None, None, self.stride) for _ in x.shape[2:])
        x = x[(slice(None), slice(None), *spatial)]
        return x.new_zeros(x.shape[0], self.cout or x.shape[1], *x.shape[2:])


class FactorizedReduce(nn.Module):
    """Halves resolution without losing positions: two stride-2 1x1 convs, one offset by a pixel (DARTS)."""

    def __init__(self, ndim: int, cin: int, cout: int) -> None:
        super().__init__()
        conv, norm = layers(ndim)[:2]
        self.relu = nn.ReLU(inplace=False)
        self.conv_a = conv(cin, cout // 2, 1, 2, bias=False)
        self.conv_b = conv(cin, cout - cout // 2, 1, 2, bias=False)
        self.norm = norm(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = x[(slice(None), slice(None), *(slice(1, None) for _ in x.shape[2:]))]
        a, b = self.conv_a(x), self.conv_b(nn.functional.pad(shifted, [0, 1] * (x.dim() - 2)))
        return self.norm(torch.cat([a, b], dim=1))


def _pool(kind: int, ndim: int, cin: int, cout: int, stride: int) -> nn.Module:
    pool = layers(ndim)[2 + kind]
    op = pool(3, stride=stride, padding=1, count_include_pad=False) if kind == 0 else pool(3, stride, 1)
    if cin == cout:
        return op
    return nn.Sequential(op, ReLUConvBN(ndim, cin, cout, 1))  # pools cannot change width: a 1x1 follows


@register_op("none")
def _none(ndim: int, cin: int, cout: int, stride: int) -> nn.Module:
    return Zero() if stride == 1 and cin == cout else Zero(stride, cout)


@register_op("skip_connect")
def _skip(ndim: int, cin: int, cout: int, stride: int) -> nn.Module:
    if stride == 1 and cin == cout:
        return nn.Identity()
    if stride == 1:
        return ReLUConvBN(ndim, cin, cout, 1)
    return FactorizedReduce(ndim, cin, cout)


@register_op("avg_pool_3x3")
def _avg_pool(ndim: int, cin: int, cout: int, stride: int) -> nn.Module:
    return _pool(0, ndim, cin, cout, stride)


@register_op("max_pool_3x3")
def _max_pool(ndim: int, cin: int, cout: int, stride: int) -> nn.Module:
    return _pool(1, ndim, cin, cout, stride)


@register_op("nor_conv_1x1")
def _conv1(ndim: int, cin: int, cout: int, stride: int) -> nn.Module:
    return ReLUConvBN(ndim, cin, cout, 1, stride)


@register_op("nor_conv_3x3")
def _conv3(ndim: int, cin: int, cout: int, stride: int) -> nn.Module:
    return ReLUConvBN(ndim, cin, cout, 3, stride)


def _dil_conv(ndim: int, cin: int, cout: int, kernel: int, stride: int, dilation: int) -> nn.Sequential:
    """ReLU → depthwise k×k (dilated) → pointwise 1x1 → BN."""
    conv, norm = layers(ndim)[:2]
    return nn.Sequential(nn.ReLU(inplace=False),
                         conv(cin, cin, kernel, stride, dilation * (kernel // 2), dilation, cin, bias=False),
                         conv(cin, cout, 1, bias=False), norm(cout))


def _sep_conv(ndim: int, cin: int, cout: int, kernel: int, stride: int) -> nn.Sequential:
    """The DARTS separable conv: the dilation-1 form twice, the first with the stride."""
    return nn.Sequential(_dil_conv(ndim, cin, cin, kernel, stride, 1), _dil_conv(ndim, cin, cout, kernel, 1, 1))


@register_op("sep_conv_3x3")
def _sep3(ndim: int, cin: int, cout: int, stride: int) -> nn.Module:
    return _sep_conv(ndim, cin, cout, 3, stride)


@register_op("sep_conv_5x5")
def _sep5(ndim: int, cin: int, cout: int, stride: int) -> nn.Module:
    return _sep_conv(ndim, cin, cout, 5, stride)


@register_op("dil_conv_3x3")
def _dil3(ndim: int, cin: int, cout: int, stride: int) -> nn.Module:
    return _dil_conv(ndim, cin, cout, 3, stride, 2)


@register_op("dil_conv_5x5")
def _dil5(ndim: int, cin: int, cout: int, stride: int) -> nn.Module:
    return _dil_conv(ndim, cin, cout, 5, stride, 2)
