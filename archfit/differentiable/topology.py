"""Topology search (after TopoNAS, Gu et al. 2020, and EnTranNAS, Yang et al. 2021).

Every edge has a gate ``sigmoid(beta)`` besides its op weights (a softmax over the ops other than
``none``): a node keeps any number of incoming edges. A sparsity penalty ``l1 * mean(gate)`` prunes edges
differentiably. In the last ``hard_from`` share of the search, gates and ops are binarised in the forward
pass (straight-through gradients), so the supernet being trained computes exactly the cell that will
be derived: the searched graph equals the derived one (EnTranNAS' point).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from archfit.differentiable.method import Method, register_method


@register_method("topology")
class Topology(Method):
    def __init__(self, l1: float = 0.05, hard_from: float = 0.7) -> None:
        self.l1, self.hard_from = float(l1), float(hard_from)

    def _parts(self) -> tuple[torch.Tensor, torch.Tensor]:
        alpha, ops = self.supernet.alpha, self.supernet.ops
        keep = torch.tensor([op != "none" for op in ops])
        logits = alpha.masked_fill(~keep, -float("inf"))
        return torch.softmax(logits, dim=-1), torch.sigmoid(self.supernet.beta)

    def mixture(self, t: float, phase: str) -> None:
        state = self.supernet.state
        weights, gates = self._parts()
        state.index = None
        if t >= self.hard_from or phase == "eval":
            hard_w = F.one_hot(weights.argmax(-1), weights.shape[-1]).to(weights)
            weights = hard_w - weights.detach() + weights
            hard_g = (gates > 0.5).to(gates)
            gates = hard_g - gates.detach() + gates
        state.weights, state.edge_scale = weights, gates

    def arch_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, y) + self.l1 * torch.sigmoid(self.supernet.beta).mean()

    def scores(self) -> torch.Tensor:
        """Op weights times the gate; a closed edge (gate <= 0.5) scores 1 on ``none`` and 0 elsewhere."""
        with torch.no_grad():
            weights, gates = self._parts()
            scores = weights * gates[:, None]
            if "none" in self.supernet.ops:
                none = self.supernet.ops.index("none")
                closed = gates <= 0.5
                scores[closed] = 0.0
                scores[closed, none] = 1.0
            return scores.clone()
