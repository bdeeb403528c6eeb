"""PC-DARTS (Xu et al., ICLR 2020): partial channel connections and edge normalisation.

Each edge mixes only 1/K of its channels (the rest bypass it, then channels are shuffled): K times less
memory and compute per edge, and a regulariser against parameter-free ops winning early. Edge
normalisation weights each edge's term of its node by a softmax over the node's incoming edges (``beta``),
which stabilises the choice that partial channels make noisy.
"""

from __future__ import annotations

import torch

from archfit.differentiable.method import Method, register_method


@register_method("pcdarts")
class PCDarts(Method):
    """``k``: channel fraction 1/K on every mixed edge (the paper uses K=4)."""

    def __init__(self, k: int = 4) -> None:
        self.partial = int(k)

    def mixture(self, t: float, phase: str) -> None:
        super().mixture(t, phase)
        self.supernet.state.edge_scale = self.supernet.node_softmax(self.supernet.beta)

    def scores(self) -> torch.Tensor:
        with torch.no_grad():
            edge = self.supernet.node_softmax(self.supernet.beta)
            return (torch.softmax(self.supernet.alpha, -1) * edge[:, None]).clone()
