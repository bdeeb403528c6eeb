"""Small models whose channel coupling is hard: concatenation (DenseNet-style), grouped and depthwise
convolution, and squeeze-excitation that ties a stem to a dense block. Used by tests and as examples."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _cbr(c_in: int, c_out: int, k: int = 3, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class SqueezeExcite(nn.Module):
    """Channel gates from globally pooled features: sigmoid(fc2(relu(fc1(pool(x))))) * x."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, max(4, channels // reduction), 1)
        self.fc2 = nn.Conv2d(max(4, channels // reduction), channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))))
        return x * gate


class ConcatNet(nn.Module):
    """Two branches concatenated along channels, then a dense block (each layer sees all earlier ones)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 16) -> None:
        super().__init__()
        self.stem = _cbr(in_channels, width)
        self.branch_a = _cbr(width, width)
        self.branch_b = _cbr(width, width, 1)
        self.dense1 = _cbr(2 * width, width)
        self.dense2 = _cbr(3 * width, width)
        self.classifier = nn.Linear(4 * width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        x = torch.cat([self.branch_a(x), self.branch_b(x)], 1)
        x = torch.cat([x, self.dense1(x)], 1)
        x = torch.cat([x, self.dense2(x)], 1)
        return self.classifier(x.mean((2, 3)))


class GroupedNet(nn.Module):
    """A grouped 3x3 conv (4 groups), a depthwise conv and a residual add."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 32) -> None:
        super().__init__()
        self.stem = _cbr(in_channels, width)
        self.expand = _cbr(width, 2 * width, 1)
        self.grouped = _cbr(2 * width, 2 * width, 3, groups=4)
        self.depthwise = _cbr(2 * width, 2 * width, 3, groups=2 * width)
        self.project = nn.Sequential(nn.Conv2d(2 * width, width, 1, bias=False), nn.BatchNorm2d(width))
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        x = x + self.project(self.depthwise(self.grouped(self.expand(x))))
        return self.classifier(x.mean((2, 3)))


class SEDenseNet(nn.Module):
    """Stem with squeeze-excitation feeding a dense block: the stem's channels reach every later layer
    through concatenation, so keeping the stem ties those channels everywhere."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 16, growth: int = 16) -> None:
        super().__init__()
        self.stem = _cbr(in_channels, width)
        self.se = SqueezeExcite(width)
        self.dense1 = _cbr(width, growth)
        self.dense2 = _cbr(width + growth, growth)
        self.transition = _cbr(width + 2 * growth, 2 * width, 1)
        self.se2 = SqueezeExcite(2 * width)
        self.classifier = nn.Linear(2 * width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.se(self.stem(x))
        x = torch.cat([x, self.dense1(x)], 1)
        x = torch.cat([x, self.dense2(x)], 1)
        x = self.se2(self.transition(x))
        return self.classifier(x.mean((2, 3)))
