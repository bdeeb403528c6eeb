"""The DARTS cell space as a supernet (Liu et al., ICLR 2019): every cell holds all 14 possible edges
(node j in 2..5 from each earlier node), each a mixed op over ``none`` and the 7 DARTS ops.

All normal cells share one set of architecture parameters and all reduction cells another, as in DARTS;
``alpha`` stacks them as rows 0..13 (normal) and 14..27 (reduce), so every method's hooks see one
(edges x ops) matrix, as on NAS-Bench-201. ``beta`` (28,) is the per-edge preference (PC-DARTS edge
normalisation, topology gates). Derivation is DARTS': per node the two incoming edges whose strongest op
other than ``none`` scores highest, each with that op (``discretise``). Not reproduced: the affine-free
BatchNorm DARTS appends to pooling ops in the supernet.
"""

from __future__ import annotations

import torch
from torch import nn

from archfit.differentiable.mixed import EdgeState, MixedCell
from archfit.differentiable.supernet import BilevelSupernet
from archfit.space.base import Arch
from archfit.space.darts import CELLS, NASLIB_OPS, NODES, DartsNetwork, DartsSpace, _from_slots
from archfit.space.ops import FactorizedReduce, ReLUConvBN

CELL_EDGES = tuple((j, src) for j in NODES for src in range(j))  # 14 (to, src) pairs, sorted by target


class MixedDartsCell(nn.Module):
    """Preprocessing of the two inputs (as ``DartsCell``), then the 14 mixed edges; output 4C channels."""

    def __init__(self, ops: tuple[str, ...], state: EdgeState, partial: int, ndim: int, c_pp: int, c_p: int,
                 c: int, reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.pre0 = FactorizedReduce(ndim, c_pp, c) if reduction_prev else ReLUConvBN(ndim, c_pp, c, 1)
        self.pre1 = ReLUConvBN(ndim, c_p, c, 1)
        strides = [2 if reduction and src < 2 else 1 for _, src in CELL_EDGES]
        self.dag = MixedCell(CELL_EDGES, ops, ndim, c, state, partial, offset=len(CELL_EDGES) if reduction else 0,
                             strides=strides, inputs=2, outputs=NODES, concat=True)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        return self.dag(self.pre0(s0), self.pre1(s1))


class DartsSupernet(BilevelSupernet):
    """``forward(x)`` computes what ``state`` says; ``edges`` are (to, src) per row of ``alpha``."""

    def __init__(self, space: DartsSpace, partial: int = 1) -> None:
        super().__init__()
        self.space = space
        self.ops = ("none", *NASLIB_OPS)
        self.edges = CELL_EDGES + CELL_EDGES
        self.cell_groups = {"normal": slice(0, len(CELL_EDGES)), "reduce": slice(len(CELL_EDGES), None)}  # plots
        self.edge_names = tuple(f"{cell}.n{to}<-{src}" for cell in CELLS for to, src in CELL_EDGES)
        self.state = EdgeState()

        def make(ndim: int, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool) -> nn.Module:
            return MixedDartsCell(self.ops, self.state, partial, ndim, c_pp, c_p, c, reduction, reduction_prev)

        self.net = DartsNetwork(make, space.input_shape, space.num_classes, space.channels, space.layers)
        self.alpha = nn.Parameter(1e-3 * torch.randn(len(self.edges), len(self.ops)))
        self.beta = nn.Parameter(torch.zeros(len(self.edges)))

    def node_softmax(self, beta: torch.Tensor) -> torch.Tensor:
        """Per edge, the softmax of ``beta`` over the edges entering the same node of the same cell type,
        scaled so that a uniform beta is the identity (PC-DARTS edge normalisation)."""
        out = torch.empty_like(beta)
        half = len(CELL_EDGES)
        for base in (0, half):
            for node in NODES:
                ks = [base + k for k, (to, _) in enumerate(CELL_EDGES) if to == node]
                out[ks] = torch.softmax(beta[ks], dim=0) * len(ks)
        return out

    def discretise(self, scores: torch.Tensor) -> list[str]:
        """DARTS' derivation: per node, keep the two incoming edges with the highest non-``none`` score,
        each with its best non-``none`` op; every other edge becomes ``none``."""
        keep = torch.tensor([op != "none" for op in self.ops])
        best = scores.masked_fill(~keep, -float("inf"))
        strength, choice = best.max(dim=-1)
        ops = ["none"] * len(self.edges)
        for base in (0, len(CELL_EDGES)):
            for node in NODES:
                ks = [base + k for k, (to, _) in enumerate(CELL_EDGES) if to == node]
                for k in sorted(ks, key=lambda k: (-float(strength[k]), k))[:2]:
                    ops[k] = self.ops[int(choice[k])]
        return ops

    def to_arch(self, ops: list[str]) -> Arch:
        """Per-edge ops (two non-``none`` edges per node, as ``discretise`` leaves them) → a genotype."""
        cells = {}
        for c, cell in enumerate(CELLS):
            pairs = []
            for k, (to, src) in enumerate(CELL_EDGES):
                op = ops[c * len(CELL_EDGES) + k]
                if op != "none":
                    pairs.append((to, src, op))
            cells[cell] = [(src, op) for _, src, op in sorted(pairs)]
        return self.space.canonical(self.space.validate(_from_slots(cells)))
