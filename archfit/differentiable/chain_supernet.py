"""The ``chain`` space as a supernet for ProxylessNAS: every block position holds all (kernel, expansion)
candidates, and blocks after a stage's first also a ``zero`` candidate (the block is skipped: depth).

Widths are not searched here: every stage uses the width ``width`` (a value of the space's ``widths``).
``state`` says what runs: ``index`` (blocks,) one candidate per block, or ``pairs`` (blocks, 2) two
candidates mixed by ``weights`` (blocks, 2) — ProxylessNAS's binarised paths.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from archfit.space.base import Arch
from archfit.space.chain import ChainSpace, InvertedResidual, conv_bn, conv_layers

ZERO = "zero"


@dataclass
class PathState:
    index: torch.Tensor | None = None
    pairs: torch.Tensor | None = None
    weights: torch.Tensor | None = None


@dataclass(frozen=True)
class Position:
    stage: int
    block: int
    cin: int
    cout: int
    stride: int
    size: int  # input resolution (pixels per side, or length)


class MixedBlock(nn.Module):
    def __init__(self, space: ChainSpace, pos: Position, names: list[str], k: int, state: PathState) -> None:
        super().__init__()
        self.k, self.state, self.names = k, state, names
        self.candidates = nn.ModuleList(
            nn.Identity() if name == ZERO else InvertedResidual(space.ndim, pos.cin, pos.cout, *_kernel_expand(name),
                                                                pos.stride) for name in names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        state = self.state
        if state.pairs is None:
            return self.candidates[int(state.index[self.k])](x)
        i, j = (int(v) for v in state.pairs[self.k])
        w = state.weights[self.k]
        return w[0] * self.candidates[i](x) + w[1] * self.candidates[j](x)


def _kernel_expand(name: str) -> tuple[int, int]:
    kernel, expand = name[1:].split("e")
    return int(kernel), int(expand)


class ChainSupernet(nn.Module):
    def __init__(self, space: ChainSpace, width: float = 1.0) -> None:
        super().__init__()
        self.space, self.width = space, float(width)
        self.state = PathState()
        self.positions, cin, size = [], space.stem_channels, min(space.input_shape[1:])
        for s in range(len(space.stage_channels)):
            cout = space.stage_width(s, self.width)
            for b in range(space.max_depth):
                stride = space.strides[s] if b == 0 else 1
                self.positions.append(Position(s, b, cin, cout, stride, size))
                size, cin = (size + stride - 1) // stride, cout
        base = [f"k{k}e{e}" for k in space.kernels for e in space.expansions]
        self.names = [base + ([ZERO] if p.block > 0 else []) for p in self.positions]
        self.ops = tuple(base + [ZERO])  # the column order of alpha; first blocks mask out ``zero``
        self.edge_names = tuple(f"s{p.stage}.b{p.block}" for p in self.positions)
        self.stem = conv_bn(space.ndim, space.input_shape[0], space.stem_channels, 3)
        self.blocks = nn.Sequential(*[MixedBlock(space, p, n, k, self.state)
                                      for k, (p, n) in enumerate(zip(self.positions, self.names))])
        _, _, pool = conv_layers(space.ndim)
        self.head = nn.Sequential(conv_bn(space.ndim, cin, space.head_channels, 1), pool(1), nn.Flatten(),
                                  nn.Linear(space.head_channels, space.num_classes))
        self.alpha = nn.Parameter(torch.zeros(len(self.positions), len(self.ops)))
        self.allowed = torch.tensor([[op in n for op in self.ops] for n in self.names])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alpha]

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if name != "alpha"]

    def probabilities(self) -> torch.Tensor:
        return torch.softmax(self.alpha.masked_fill(~self.allowed, -float("inf")), dim=-1)

    def to_arch(self, ops: list[str]) -> Arch:
        """Chosen candidate per block → a ``chain`` arch: active blocks of a stage packed in order (a skipped
        block is an identity, so packing computes the same function)."""
        values: dict = {}
        space = self.space
        for s in range(len(space.stage_channels)):
            active = [ops[k] for k, p in enumerate(self.positions) if p.stage == s and ops[k] != ZERO]
            values[f"s{s}.depth"], values[f"s{s}.width"] = len(active), self.width
            for b in range(space.max_depth):
                kernel, expand = _kernel_expand(active[b]) if b < len(active) else (space.kernels[0], space.expansions[0])
                values[f"s{s}.b{b}.kernel"], values[f"s{s}.b{b}.expand"] = kernel, expand
        return space.validate(Arch(values))

    def from_arch(self, arch: Arch) -> list[str]:
        ops = []
        for p in self.positions:
            depth = int(arch[f"s{p.stage}.depth"])
            ops.append(f"k{arch[f's{p.stage}.b{p.block}.kernel']}e{arch[f's{p.stage}.b{p.block}.expand']}"
                       if p.block < depth else ZERO)
        return ops
