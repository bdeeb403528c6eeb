"""Mixed operations and the mixed NAS-Bench-201 cell: every edge holds all candidate ops at once.

What an edge computes is decided by the shared ``EdgeState`` the search loop fills before each forward:
``weights`` (edges x ops; a soft mixture, DARTS), or ``index`` + ``weights`` (one sampled op per edge with
a straight-through weight, GDAS / ProxylessNAS), ``edge_scale`` (per-edge factor: PC-DARTS edge
normalisation, topology gates) and ``mask`` (ops removed: DARTS-PT perturbation, discretised edges).
Ops whose weight is exactly zero are not run. With ``partial`` K > 1 (PC-DARTS, Xu et al. 2020) an edge
mixes only the first 1/K of the channels and passes the rest through, then shuffles channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from archfit.space.dag import DagCell
from archfit.space.ops import make_op


@dataclass
class EdgeState:
    """What the mixed edges compute in the next forward pass (set by the loop; shared by all cells)."""

    weights: torch.Tensor | None = None  # (edges, ops) mixture weights
    index: torch.Tensor | None = None  # (edges,) one active op per edge, or None for a mixture
    edge_scale: torch.Tensor | None = None  # (edges,) multiplies each edge's output
    mask: torch.Tensor | None = None  # (edges, ops) bool, False = op removed from the edge


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    n, c = x.shape[:2]
    return x.reshape(n, groups, c // groups, *x.shape[2:]).transpose(1, 2).reshape(x.shape)


class MixedOp(nn.Module):
    """All ``ops`` on one edge of ``channels`` channels; ``partial`` = K of PC-DARTS (1: every channel)."""

    def __init__(self, ops: Sequence[str], ndim: int, channels: int, edge: int, state: EdgeState,
                 partial: int = 1, stride: int = 1) -> None:
        super().__init__()
        self.edge, self.state, self.partial = edge, state, partial if channels % partial == 0 else 1
        self.stride = stride
        width = channels // self.partial
        self.candidates = nn.ModuleList(make_op(op, ndim, width, width, stride) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        state, k = self.state, self.edge
        part = x if self.partial == 1 else x[:, : x.shape[1] // self.partial]
        if state.index is not None:
            i = int(state.index[k])
            out = self.candidates[i](part)
            out = out * state.weights[k, i] if state.weights is not None else out
        else:
            weights = state.weights[k]
            if state.mask is not None:
                weights = weights * state.mask[k]
            out = None
            for i, op in enumerate(self.candidates):
                if state.mask is not None and not bool(state.mask[k, i]):
                    continue
                term = weights[i] * op(part)
                out = term if out is None else out + term
            out = part.mul(0.0) if out is None else out
        if self.partial > 1:
            rest = x[:, out.shape[1]:]
            if self.stride > 1:  # the bypassed channels are pooled to the edge's output size (PC-DARTS)
                pool = (F.max_pool1d if rest.dim() == 3 else F.max_pool2d)
                rest = pool(rest, self.stride, self.stride, ceil_mode=True)
            out = channel_shuffle(torch.cat([out, rest], dim=1), self.partial)
        return out


class MixedCell(DagCell):
    """A DAG cell whose edges are mixed ops; ``edge_scale`` weights each edge's term of its node."""

    def __init__(self, edges: Sequence[tuple[int, int]], ops: Sequence[str], ndim: int, channels: int,
                 state: EdgeState, partial: int = 1, offset: int = 0, strides: Sequence[int] | None = None,
                 **dag: Any) -> None:
        """``offset``: index of this cell's first edge in the state's rows (a DARTS reduction cell's edges
        follow the normal cell's); ``strides``: per edge; ``dag``: ``DagCell``'s inputs/outputs/concat."""
        strides = strides or [1] * len(edges)
        super().__init__(edges, [MixedOp(ops, ndim, channels, offset + k, state, partial, strides[k])
                                 for k in range(len(edges))], **dag)
        self.state, self.offset = state, offset

    def edge_term(self, k: int, x: torch.Tensor) -> torch.Tensor:
        out = self.edges[k](x)
        return out if self.state.edge_scale is None else out * self.state.edge_scale[self.offset + k]
