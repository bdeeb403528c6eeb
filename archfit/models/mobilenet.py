"""A MobileNetV2-style net (inverted residuals: 1x1 expand, 3x3 depthwise, 1x1 project, residual add
when shapes match) sized for small inputs (8x8 to 32x32)."""

from __future__ import annotations

from torch import Tensor, nn


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        self.use_residual = stride == 1 and c_in == c_out
        self.block = nn.Sequential(_conv_bn(c_in, hidden, 1), _conv_bn(hidden, hidden, 3, stride, groups=hidden),
                                   _conv_bn(hidden, c_out, 1, act=False))

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return x + out if self.use_residual else out


class MobileNetV2(nn.Module):
    """``stages``: (expansion, channels, blocks, stride) per stage, as in Sandler et al. 2018 Table 2."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, stem: int = 16, last: int = 128,
                 stages: tuple[tuple[int, int, int, int], ...] = ((1, 16, 1, 1), (4, 24, 2, 2), (4, 32, 2, 2), (4, 64, 2, 1))
                 ) -> None:
        super().__init__()
        blocks: list[nn.Module] = [_conv_bn(in_channels, stem, 3)]
        c_in = stem
        for expand, c_out, n, stride in stages:
            for i in range(n):
                blocks.append(InvertedResidual(c_in, c_out, stride if i == 0 else 1, expand))
                c_in = c_out
        blocks.append(_conv_bn(c_in, last, 1))
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(last, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))
