"""``chain``: a MobileNetV2-style network of inverted-residual blocks, for images or 1-D signals.

Each stage chooses its depth and a width multiplier; each block chooses its kernel size and expansion
ratio. Width is chosen per stage, not per block, because the blocks of a stage share one residual
stream (as in MobileNetV2 and Once-for-All): per-block widths would break the identity shortcuts.
Inputs of shape (C, H, W) build 2-D convolutions, (C, L) builds 1-D ones.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

from torch import nn

from archfit.errors import ArchfitError
from archfit.space import register_space
from archfit.space.base import Arch, Space, Value


def make_divisible(value: float, divisor: int = 4) -> int:
    """Round a channel count to a multiple of ``divisor`` without dropping more than 10%."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_layers(ndim: int) -> tuple[type[nn.Module], type[nn.Module], type[nn.Module]]:
    """(Conv, BatchNorm, AdaptiveAvgPool) classes for 1-D or 2-D inputs."""
    if ndim == 1:
        return nn.Conv1d, nn.BatchNorm1d, nn.AdaptiveAvgPool1d
    if ndim == 2:
        return nn.Conv2d, nn.BatchNorm2d, nn.AdaptiveAvgPool2d
    raise ArchfitError(f"input shape with {ndim} spatial dims is not supported; expected (C, L) or (C, H, W)")


def conv_bn(ndim: int, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True):
    conv, norm, _ = conv_layers(ndim)
    layers: list[nn.Module] = [
        conv(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        norm(cout),
    ]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand → k×k depthwise (stride) → 1x1 project, identity when shapes match."""

    def __init__(self, ndim: int, cin: int, cout: int, kernel: int, expand: int, stride: int) -> None:
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [conv_bn(ndim, cin, hidden, 1)]
        layers += [conv_bn(ndim, hidden, hidden, kernel, stride, groups=hidden), conv_bn(ndim, hidden, cout, 1, act=False)]
        self.body = nn.Sequential(*layers)
        self.use_residual = stride == 1 and cin == cout

    def forward(self, x):
        out = self.body(x)
        return x + out if self.use_residual else out


@dataclass(frozen=True)
class BlockPlan:
    """Where one active block sits and what it computes (channels are physical counts)."""

    stage: int
    index: int
    cin: int
    cout: int
    kernel: int
    expand: int
    stride: int


# Bounds of the constructor arguments: beyond them a space is unusable on a CPU (or hangs enumerating sizes),
# so it is refused in one line instead.
MAX_STAGES, MAX_DEPTH, MAX_CHANNELS, MAX_KERNEL, MAX_EXPANSION, MAX_CHOICES = 8, 8, 2048, 15, 8, 8


def _check_args(stage_channels, max_depth, kernels, expansions, widths, stem_channels, head_channels) -> None:
    def ints(name: str, values, low: int, high: int, count: int) -> None:
        values = list(values) if isinstance(values, (list, tuple)) else None
        if not values or len(values) > count or not all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool) and low <= v <= high for v in values):
            raise ArchfitError(f"chain space: {name} {values!r} must be a list of 1 to {count} integers in "
                               f"[{low}, {high}]")

    ints("stage_channels", stage_channels, 1, MAX_CHANNELS, MAX_STAGES)
    ints("max_depth", [max_depth], 1, MAX_DEPTH, 1)
    ints("kernels", kernels, 1, MAX_KERNEL, MAX_CHOICES)
    if any(k % 2 == 0 for k in kernels):  # "same" padding k // 2 grows an even kernel's output by one
        raise ArchfitError(f"chain space: kernels {list(kernels)!r} must be odd (1, 3, 5, ...): an even kernel "
                           f"changes the block's output size and breaks its residual connection")
    ints("expansions", expansions, 1, MAX_EXPANSION, MAX_CHOICES)
    ints("stem_channels", [stem_channels], 1, MAX_CHANNELS, 1)
    ints("head_channels", [head_channels], 1, MAX_CHANNELS, 1)
    if not isinstance(widths, (list, tuple)) or not widths or len(widths) > MAX_CHOICES or not all(
            isinstance(w, (int, float)) and not isinstance(w, bool) and 0 < w <= 4 for w in widths):
        raise ArchfitError(f"chain space: widths {widths!r} must be a list of 1 to {MAX_CHOICES} multipliers in (0, 4]")


@register_space("chain")
class ChainSpace(Space):
    """MobileNetV2-style chain; see the module docstring. All sizes are channel counts."""

    def __init__(
        self,
        input_shape: tuple[int, ...] | list[int] = (1, 8, 8),
        num_classes: int = 10,
        stage_channels: tuple[int, ...] | list[int] = (16, 24, 32),
        max_depth: int = 3,
        kernels: tuple[int, ...] | list[int] = (3, 5, 7),
        expansions: tuple[int, ...] | list[int] = (2, 4, 6),
        widths: tuple[float, ...] | list[float] = (0.5, 0.75, 1.0),
        stem_channels: int = 16,
        head_channels: int = 128,
    ) -> None:
        self._input_shape = tuple(int(v) for v in input_shape)
        if len(self._input_shape) not in (2, 3) or min(self._input_shape) < 1:
            raise ArchfitError(f"chain space: input shape {self._input_shape} must be (C, L) or (C, H, W)")
        if int(num_classes) < 2:
            raise ArchfitError(f"chain space: num_classes {num_classes} must be >= 2")
        self.num_classes = int(num_classes)
        _check_args(stage_channels, max_depth, kernels, expansions, widths, stem_channels, head_channels)
        self.stage_channels = tuple(int(c) for c in stage_channels)
        self.max_depth = int(max_depth)
        self.kernels = tuple(int(k) for k in kernels)
        self.expansions = tuple(int(e) for e in expansions)
        self.widths = tuple(float(w) for w in widths)
        self.stem_channels = int(stem_channels)
        self.head_channels = int(head_channels)
        self.ndim = len(self._input_shape) - 1
        self.strides = self._stage_strides()
        self._choices = self._make_choices()

    def _stage_strides(self) -> tuple[int, ...]:
        """Stage 0 keeps resolution; later stages halve it while at least 4 positions remain."""
        size, strides = min(self._input_shape[1:]), []
        for stage in range(len(self.stage_channels)):
            stride = 2 if stage > 0 and size >= 4 else 1
            size = (size + stride - 1) // stride
            strides.append(stride)
        return tuple(strides)

    def _make_choices(self) -> dict[str, tuple[Value, ...]]:
        choices: dict[str, tuple[Value, ...]] = {}
        for s in range(len(self.stage_channels)):
            choices[f"s{s}.depth"] = tuple(range(1, self.max_depth + 1))
            choices[f"s{s}.width"] = self.widths
            for b in range(self.max_depth):
                choices[f"s{s}.b{b}.kernel"] = self.kernels
                choices[f"s{s}.b{b}.expand"] = self.expansions
        return choices

    @property
    def choices(self) -> dict[str, tuple[Value, ...]]:
        return self._choices

    def params(self) -> dict[str, Any]:
        return {
            "input_shape": list(self._input_shape),
            "num_classes": self.num_classes,
            "stage_channels": list(self.stage_channels),
            "max_depth": self.max_depth,
            "kernels": list(self.kernels),
            "expansions": list(self.expansions),
            "widths": list(self.widths),
            "stem_channels": self.stem_channels,
            "head_channels": self.head_channels,
        }

    def canonical(self, arch: Arch) -> Arch:
        """Choices of blocks beyond a stage's depth do not matter: reset them to the first value."""
        changes: dict[str, Value] = {}
        for s in range(len(self.stage_channels)):
            for b in range(int(arch[f"s{s}.depth"]), self.max_depth):
                changes[f"s{s}.b{b}.kernel"] = self.kernels[0]
                changes[f"s{s}.b{b}.expand"] = self.expansions[0]
        return arch.replace(**changes) if changes else arch

    def size(self) -> int:
        per_block = len(self.kernels) * len(self.expansions)
        per_stage = len(self.widths) * sum(per_block**d for d in range(1, self.max_depth + 1))
        return per_stage ** len(self.stage_channels)

    def smallest(self) -> Arch:
        return self.canonical(Arch({name: min(values) for name, values in self.choices.items()}))

    def largest(self) -> Arch:
        return Arch({name: max(values) for name, values in self.choices.items()})

    def stage_width(self, stage: int, width: float) -> int:
        return make_divisible(self.stage_channels[stage] * width)

    def plan(self, arch: Arch) -> list[BlockPlan]:
        """The active blocks of ``arch`` in order, with their physical channel counts."""
        blocks, cin = [], self.stem_channels
        for s in range(len(self.stage_channels)):
            cout = self.stage_width(s, float(arch[f"s{s}.width"]))
            for b in range(int(arch[f"s{s}.depth"])):
                stride = self.strides[s] if b == 0 else 1
                kernel, expand = int(arch[f"s{s}.b{b}.kernel"]), int(arch[f"s{s}.b{b}.expand"])
                blocks.append(BlockPlan(s, b, cin, cout, kernel, expand, stride))
                cin = cout
        return blocks

    def exact_cost(self, arch: Arch) -> tuple[int, int]:
        """(FLOPs, parameters) of ``build(arch)`` without building it: 2 x MACs at batch 1, as ``count_flops``.

        Why: budget-aware supernet sampling tests thousands of random archs per epoch against a FLOPs budget;
        a meta-device forward pass costs milliseconds each, this costs microseconds. Tested equal to
        ``count_flops``/``count_params`` of the built network.
        """
        positions = list(self._input_shape[1:])
        flops = params = 0

        def conv(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
            nonlocal flops, params, positions
            positions = [(size + 2 * (kernel // 2) - kernel) // stride + 1 for size in positions]
            area = 1
            for size in positions:
                area *= size
            weights = cout * (cin // groups) * kernel**self.ndim
            flops += 2 * weights * area
            params += weights + 2 * cout  # the convolution (no bias) and its BatchNorm's weight and bias

        conv(self._input_shape[0], self.stem_channels, 3)
        plan = self.plan(arch)
        for p in plan:
            hidden = p.cin * p.expand
            if p.expand != 1:
                conv(p.cin, hidden, 1)
            conv(hidden, hidden, p.kernel, p.stride, groups=hidden)
            conv(hidden, p.cout, 1)
        conv(plan[-1].cout, self.head_channels, 1)
        flops += 2 * self.head_channels * self.num_classes
        params += self.head_channels * self.num_classes + self.num_classes
        return flops, params

    def build(self, arch: Arch) -> nn.Module:
        _, _, pool = conv_layers(self.ndim)
        plan = self.plan(arch)
        layers: list[nn.Module] = [conv_bn(self.ndim, self._input_shape[0], self.stem_channels, 3)]
        layers += [InvertedResidual(self.ndim, p.cin, p.cout, p.kernel, p.expand, p.stride) for p in plan]
        layers += [conv_bn(self.ndim, plan[-1].cout, self.head_channels, 1), pool(1), nn.Flatten()]
        layers.append(nn.Linear(self.head_channels, self.num_classes))
        return nn.Sequential(*layers)
