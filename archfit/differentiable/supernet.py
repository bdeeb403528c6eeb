"""The NAS-Bench-201 supernet: the standard skeleton of ``space/nb201_net.py`` with mixed cells, plus the
architecture parameters: ``alpha`` (edges x ops, op preference) and ``beta`` (edges, edge preference:
PC-DARTS edge normalisation, topology gates). All cells share one alpha, as in the NAS-Bench-201 paper.
"""

from __future__ import annotations

import torch
from torch import nn

from archfit.differentiable.mixed import EdgeState, MixedCell
from archfit.space.nb201 import EDGE_NAMES, Nb201Space
from archfit.space.nb201_net import EDGES, Nb201Network


class BilevelSupernet(nn.Module):
    """What the bilevel loop needs of a supernet: ``net`` (the mixed-op network), ``alpha`` (operation
    weights, edges x ops) and ``beta`` (edge weights); weights and architecture are optimised apart."""

    net: nn.Module
    alpha: nn.Parameter
    beta: nn.Parameter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alpha, self.beta]

    def weight_parameters(self) -> list[nn.Parameter]:
        return list(self.net.parameters())


class Nb201Supernet(BilevelSupernet):
    """``forward(x)`` computes what ``state`` says; ``weight_parameters`` and ``arch_parameters`` split
    the two optimisers' parameters."""

    def __init__(self, space: Nb201Space, partial: int = 1) -> None:
        super().__init__()
        self.space = space
        self.ops = tuple(space.ops)
        self.edges = EDGES
        self.edge_names = EDGE_NAMES
        self.state = EdgeState()
        self.net = Nb201Network(self.ops, space.input_shape, space.num_classes, space.channels, space.cells,
                                cell=lambda ndim, width: MixedCell(EDGES, self.ops, ndim, width, self.state, partial))
        self.alpha = nn.Parameter(1e-3 * torch.randn(len(EDGES), len(self.ops)))
        self.beta = nn.Parameter(torch.zeros(len(EDGES)))

    def node_softmax(self, beta: torch.Tensor) -> torch.Tensor:
        """Per edge, the softmax of ``beta`` over the edges entering the same node (edge normalisation)."""
        out = torch.empty_like(beta)
        for node in sorted({to for to, _ in self.edges}):
            ks = [k for k, (to, _) in enumerate(self.edges) if to == node]
            out[ks] = torch.softmax(beta[ks], dim=0) * len(ks)  # scaled so a uniform beta is the identity
        return out
