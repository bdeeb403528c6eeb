"""A small ResNeXt (Xie et al. 2017): bottleneck residual blocks whose 3x3 conv is grouped
(``cardinality`` groups). Slimming a grouped conv must keep the same positions in every group."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from archfit.models.layers import conv_bn_relu, global_pool, kinds


class ResNeXtBlock(nn.Module):
    def __init__(self, conv, norm, c_in: int, c_out: int, stride: int, cardinality: int, width: int) -> None:
        super().__init__()
        inner = cardinality * width
        self.body = nn.Sequential(conv_bn_relu(conv, norm, c_in, inner, 1),
                                  conv_bn_relu(conv, norm, inner, inner, 3, stride, groups=cardinality),
                                  conv_bn_relu(conv, norm, inner, c_out, 1, relu=False))
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = conv_bn_relu(conv, norm, c_in, c_out, 1, stride, relu=False)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNeXt(nn.Module):
    """``widths``: output channels per stage; inner width = ``cardinality`` x ``group_width`` x (stage + 1)."""

    def __init__(self, num_classes: int = 10, input_shape: tuple[int, ...] = (3, 32, 32),
                 widths: tuple[int, ...] = (32, 64), depth: int = 2, cardinality: int = 4, group_width: int = 4) -> None:
        super().__init__()
        conv, norm, _ = kinds(input_shape)
        self.stem = conv_bn_relu(conv, norm, input_shape[0], widths[0] // 2)
        blocks, c_in = [], widths[0] // 2
        for s, c_out in enumerate(widths):
            for i in range(depth):
                blocks.append(ResNeXtBlock(conv, norm, c_in, c_out, 2 if s > 0 and i == 0 else 1, cardinality,
                                           group_width * (s + 1)))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(global_pool(self.blocks(self.stem(x))))
