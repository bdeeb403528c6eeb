"""A small DenseNet-BC (Huang et al. 2017): every layer of a dense block sees the concatenation of all
earlier feature maps, the stem's included, so the stem's channels reach the classifier. Pre-activation
layers (BN-ReLU-1x1 bottleneck of 4 x growth, BN-ReLU-3x3 conv of ``growth``), transitions halve the
channels (``compression``) and the resolution."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from archfit.models.layers import global_pool, kinds


class DenseLayer(nn.Module):
    def __init__(self, conv, norm, c_in: int, growth: int, bottleneck: int = 4) -> None:
        super().__init__()
        self.body = nn.Sequential(norm(c_in), nn.ReLU(inplace=True), conv(c_in, bottleneck * growth, 1, bias=False),
                                  norm(bottleneck * growth), nn.ReLU(inplace=True),
                                  conv(bottleneck * growth, growth, 3, padding=1, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.body(x)], 1)


class DenseNet(nn.Module):
    """``blocks``: layers per dense block; ``stem`` = 2 x ``growth`` channels by default."""

    def __init__(self, num_classes: int = 10, input_shape: tuple[int, ...] = (3, 32, 32), growth: int = 8,
                 blocks: tuple[int, ...] = (4, 4), compression: float = 0.5, stem: int | None = None) -> None:
        super().__init__()
        conv, norm, pool = kinds(input_shape)
        channels = stem or 2 * growth
        layers: list[nn.Module] = [conv(input_shape[0], channels, 3, padding=1, bias=False)]
        for b, n in enumerate(blocks):
            for _ in range(n):
                layers.append(DenseLayer(conv, norm, channels, growth))
                channels += growth
            if b + 1 < len(blocks):
                out = max(1, int(channels * compression))
                layers += [norm(channels), nn.ReLU(inplace=True), conv(channels, out, 1, bias=False), pool(2)]
                channels = out
        layers += [norm(channels), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(global_pool(self.features(x)))
