"""CIFAR-style ResNet-20/56 (He et al. 2016, 6n+2 layers) for any input size, 2-D or 1-D.

Down-sampling shortcuts are 1x1 convolutions + BN ("option B"), so every channel coupling is a real
layer that Torch-Pruning can follow; global average pooling makes the net independent of the input
side (8x8 digits or 32x32 images; a length-40 signal for ``ResNet1d``).
"""

from __future__ import annotations

from torch import Tensor, nn


class BasicBlock(nn.Module):
    """Two 3-wide convolutions with BN/ReLU and a residual add (projection when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int, dims: int = 2) -> None:
        super().__init__()
        conv, norm = (nn.Conv2d, nn.BatchNorm2d) if dims == 2 else (nn.Conv1d, nn.BatchNorm1d)
        self.conv1 = conv(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = norm(c_out)
        self.conv2 = conv(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = norm(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(conv(c_in, c_out, 1, stride, bias=False), norm(c_out))

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """``depth`` = 6n+2 (20, 32, 44, 56, 110); ``width`` = channels of the first stage (x2, x4 after)."""

    def __init__(self, depth: int = 20, num_classes: int = 10, in_channels: int = 3, width: int = 16,
                 dims: int = 2) -> None:
        super().__init__()
        if (depth - 2) % 6 or depth < 8:
            raise ValueError(f"ResNet depth {depth} must be 6n+2 (20, 32, 44, 56, 110)")
        n = (depth - 2) // 6
        conv, norm = (nn.Conv2d, nn.BatchNorm2d) if dims == 2 else (nn.Conv1d, nn.BatchNorm1d)
        self.stem = nn.Sequential(conv(in_channels, width, 3, 1, 1, bias=False), norm(width), nn.ReLU(inplace=True))
        layers, c_in = [], width
        for stage, c_out in enumerate((width, 2 * width, 4 * width)):
            for i in range(n):
                layers.append(BasicBlock(c_in, c_out, 2 if stage > 0 and i == 0 else 1, dims))
                c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.pool(self.layers(self.stem(x))).flatten(1))


class ResNet20(ResNet):
    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 16) -> None:
        super().__init__(20, num_classes, in_channels, width)


class ResNet56(ResNet):
    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 16) -> None:
        super().__init__(56, num_classes, in_channels, width)


class ResNet1d(ResNet):
    """1-D ResNet for signals such as MNIST-1D (input ``(in_channels, length)``)."""

    def __init__(self, depth: int = 8, num_classes: int = 10, in_channels: int = 1, width: int = 32) -> None:
        super().__init__(depth, num_classes, in_channels, width, dims=1)
