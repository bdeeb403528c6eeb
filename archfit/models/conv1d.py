"""A plain 1-D CNN for MNIST-1D-like signals ``(in_channels, length)``: conv/BN/ReLU blocks, max-pools,
global average pooling and a linear classifier."""

from __future__ import annotations

from torch import Tensor, nn


class CNN1d(nn.Module):
    """``channels``: output channels of each 3-wide conv (the first is 5 wide); a max-pool (/2) follows
    every conv listed in ``pool_after`` (0-based)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, channels: tuple[int, ...] = (32, 64, 64, 128, 128),
                 pool_after: tuple[int, ...] = (1, 3)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_channels
        for i, c_out in enumerate(channels):
            k = 5 if i == 0 else 3
            layers += [nn.Conv1d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm1d(c_out), nn.ReLU(inplace=True)]
            if i in pool_after:
                layers.append(nn.MaxPool1d(2))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))
