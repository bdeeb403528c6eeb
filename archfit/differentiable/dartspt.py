"""DARTS-PT (Wang et al., "Rethinking architecture selection in differentiable NAS", ICLR 2021).

The supernet is trained as DARTS trains it; only the selection differs. Edges are visited in a random
order; on each, every op is removed in turn from the mixture and the supernet's accuracy on held-out
data measured; the op whose removal hurts most is kept (the edge becomes that op alone), and the
supernet's weights are fine-tuned for ``tune_steps`` before the next edge. Magnitude of alpha is not
used: it does not measure an op's contribution, which is why argmax alpha picks skip connections.

``dartspt-fix`` is the paper's "DARTS-PT (fix alpha)": alpha is never trained (every edge an even mixture of
its ops) and selection by perturbation does all the choosing; on NAS-Bench-201 the paper reports it the more
reliable of the two (CIFAR-10 93.80 % against 88.11 % with alpha trained).
"""

from __future__ import annotations

from typing import Any

import torch

from archfit.differentiable.method import Method, register_method
from archfit.errors import ArchfitError


@register_method("dartspt")
class DartsPT(Method):
    def __init__(self, tune_steps: int = 10, fix_alpha: bool = False) -> None:
        self.tune_steps, self.fix_alpha = int(tune_steps), bool(fix_alpha)
        if self.tune_steps < 0:
            raise ArchfitError(f"dartspt tune_steps {tune_steps} must be >= 0")

    def step(self, t: float, weights_batch, arch_batch) -> float:
        if self.fix_alpha:  # only the weights train; the arch half of the data is left for the selection
            return self.weight_step(t, weights_batch)
        return super().step(t, weights_batch, arch_batch)

    def start(self, loop) -> None:
        super().start(loop)
        edges, ops = self.supernet.alpha.shape
        if self.fix_alpha:  # an even mixture (the supernet initialises alpha with small noise)
            with torch.no_grad():
                self.supernet.alpha.zero_()
        self.mask = torch.ones(edges, ops, dtype=torch.bool)
        self.fixed: dict[int, int] = {}
        self.drops: dict[str, dict[str, float]] = {}

    def op_weights(self, t: float) -> torch.Tensor:
        weights = torch.softmax(self.supernet.alpha, dim=-1)
        if self.fixed:
            weights = weights.clone()
            for edge, op in self.fixed.items():
                weights[edge] = torch.nn.functional.one_hot(torch.tensor(op), weights.shape[1]).to(weights)
        return weights

    def mixture(self, t: float, phase: str) -> None:
        super().mixture(t, phase)
        self.supernet.state.mask = self.mask

    def derive(self) -> list[str]:
        loop, ops = self.loop, self.supernet.ops
        order = torch.randperm(self.mask.shape[0], generator=torch.Generator().manual_seed(loop.settings.seed))
        tune = torch.Generator().manual_seed(loop.settings.seed + 1)
        bs = loop.settings.batch_size
        for group in loop.weight_optimizer.param_groups:  # the search's schedule ended at 0
            group["lr"] = 0.2 * loop.settings.weight_lr
        for edge in order.tolist():
            base = loop.supernet_accuracy()
            drops = {}
            for i in range(len(ops)):
                self.mask[edge, i] = False
                drops[i] = base - loop.supernet_accuracy()
                self.mask[edge, i] = True
            keep = max(drops, key=lambda i: (drops[i], -i))
            self.drops[self.supernet.edge_names[edge]] = {ops[i]: round(v, 4) for i, v in drops.items()}
            self.fixed[edge] = keep
            self.mask[edge] = False
            self.mask[edge, keep] = True
            split = loop.weight_split
            for _ in range(self.tune_steps):
                index = torch.randint(len(split), (bs,), generator=tune)
                self.weight_step(1.0, (split.x[index], split.y[index]))
        chosen = torch.zeros_like(self.mask, dtype=torch.float32)
        for edge, op in self.fixed.items():
            chosen[edge, op] = 1.0
        return loop.valid_ops(chosen + 1e-3 * self.scores())

    def extras(self) -> dict[str, Any]:
        return {"accuracy_drop_when_removed": self.drops}


@register_method("dartspt-fix")
class DartsPTFixedAlpha(DartsPT):
    """DARTS-PT with alpha fixed at an even mixture, under its own name (for callers without method arguments)."""

    def __init__(self, tune_steps: int = 10, fix_alpha: bool = True) -> None:
        super().__init__(tune_steps, fix_alpha)
