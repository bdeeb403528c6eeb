"""A cell as a DAG: node j sums one edge module applied to each of its input nodes.

The base of the NAS-Bench-201 cell (one input, output = last node), the DARTS cell (two inputs, output =
the intermediate nodes concatenated) and the differentiable supernets (whose edge modules are mixed
operations). ``edges`` lists ``(to, src)`` pairs in topological order of ``to``; nodes ``0..inputs-1``
are the cell's inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from archfit.errors import ArchfitError


class DagCell(nn.Module):
    """``edges[k]`` maps node ``src`` to a term of node ``to``; ``outputs`` are summed or concatenated."""

    def __init__(self, edges: Sequence[tuple[int, int]], modules: Sequence[nn.Module], inputs: int = 1,
                 outputs: Sequence[int] | None = None, concat: bool = False) -> None:
        super().__init__()
        if len(edges) != len(modules):
            raise ArchfitError(f"DAG cell: {len(edges)} edges but {len(modules)} edge modules")
        if any(src >= to or src < 0 for to, src in edges) or list(edges) != sorted(edges, key=lambda e: e[0]):
            raise ArchfitError(f"DAG cell: edges {list(edges)} must point forward and be sorted by target node")
        self.edge_list = tuple((int(to), int(src)) for to, src in edges)
        self.inputs = int(inputs)
        self.nodes = max(to for to, _ in self.edge_list) + 1
        self.outputs = tuple(outputs) if outputs is not None else (self.nodes - 1,)
        self.concat = concat
        self.edges = nn.ModuleList(modules)

    def edge_term(self, k: int, x: torch.Tensor) -> torch.Tensor:
        """The contribution of edge ``k`` to its target node (a supernet overrides this to weight it)."""
        return self.edges[k](x)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [*xs] + [None] * (self.nodes - len(xs))
        for k, (to, src) in enumerate(self.edge_list):
            out = self.edge_term(k, nodes[src])
            nodes[to] = out if nodes[to] is None else nodes[to] + out
        chosen = [nodes[i] for i in self.outputs]
        if self.concat:
            return torch.cat(chosen, dim=1)
        total = chosen[0]
        for extra in chosen[1:]:
            total = total + extra
        return total
