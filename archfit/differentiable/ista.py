"""ISTA-style sparse search (after ISTA-NAS, Yang et al., NeurIPS 2020: NAS as sparse coding).

The op weights of an edge are the architecture parameters themselves (non-negative, not a softmax), and
after every gradient step a proximal L1 step (soft thresholding, the ISTA update) shrinks them, so weak
ops reach exactly zero during the search and stop being computed: the searched supernet becomes sparse.
Derivation keeps the largest weight per edge. Not implemented: ISTA-NAS's compressed search space (a
random dictionary mapping a low-dimensional code to the sparse weights); here the dictionary is the
identity.
"""

from __future__ import annotations

import torch

from archfit.differentiable.method import Method, register_method


@register_method("ista")
class Ista(Method):
    """``l1``: sparsity strength (threshold per step = arch learning rate x ``l1``)."""

    def __init__(self, l1: float = 0.5) -> None:
        self.l1 = float(l1)

    def start(self, loop) -> None:
        super().start(loop)
        with torch.no_grad():
            self.supernet.alpha.fill_(1.0 / self.supernet.alpha.shape[1])  # a uniform mixture to start

    def op_weights(self, t: float) -> torch.Tensor:
        return self.supernet.alpha

    def after_arch_step(self, t: float) -> None:
        threshold = self.loop.arch_optimizer.param_groups[0]["lr"] * self.l1
        with torch.no_grad():
            alpha = self.supernet.alpha
            alpha.copy_((alpha - threshold).clamp_(min=0.0))
            empty = alpha.sum(-1) == 0  # an edge never loses every op: keep its last one alive
            if empty.any():
                alpha[empty] = threshold

    def scores(self) -> torch.Tensor:
        return self.supernet.alpha.detach().clone()
