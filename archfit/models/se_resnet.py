"""A small SE-ResNet (Hu et al. 2018): basic residual blocks whose residual branch is re-weighted per
channel by squeeze-excitation before the add. The gate multiplies channels that identity shortcuts
tie to the stem, so the stem, every block's second conv and every SE expansion are one channel group."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from archfit.models.layers import conv_bn_relu, global_pool, kinds


class SqueezeExcite(nn.Module):
    """sigmoid(fc2(relu(fc1(mean over space)))) x input, with ``reduction`` x fewer hidden units."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(4, channels // reduction)
        self.fc1, self.fc2 = nn.Linear(channels, hidden), nn.Linear(hidden, channels)

    def forward(self, x: Tensor) -> Tensor:
        gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(global_pool(x)))))
        return x * gate.view(*gate.shape, *([1] * (x.dim() - 2)))


class SEBlock(nn.Module):
    def __init__(self, conv, norm, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn_relu(conv, norm, c_in, c_out, 3, stride),
                                  conv_bn_relu(conv, norm, c_out, c_out, 3, relu=False))
        self.se = SqueezeExcite(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = conv_bn_relu(conv, norm, c_in, c_out, 1, stride, relu=False)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.se(self.body(x)) + self.shortcut(x))


class SEResNet(nn.Module):
    """``widths``: channels of each stage (the first at stride 1, the rest at stride 2); ``depth`` blocks each."""

    def __init__(self, num_classes: int = 10, input_shape: tuple[int, ...] = (3, 32, 32),
                 widths: tuple[int, ...] = (16, 32, 64), depth: int = 2) -> None:
        super().__init__()
        conv, norm, _ = kinds(input_shape)
        self.stem = conv_bn_relu(conv, norm, input_shape[0], widths[0])
        blocks, c_in = [], widths[0]
        for s, c_out in enumerate(widths):
            for i in range(depth):
                blocks.append(SEBlock(conv, norm, c_in, c_out, 2 if s > 0 and i == 0 else 1))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(global_pool(self.blocks(self.stem(x))))
