"""DARTS-PT (Wang et al., "Rethinking architecture selection in differentiable NAS", ICLR 2021).

The supernet is trained as DARTS trains it; only the selection differs. Edges are visited in a random
order; on each, every op is removed in turn from the mixture and the supernet's accuracy on held-out
data measured; the op whose removal hurts most is kept (the edge becomes that op alone), and the
supernet's weights are fine-tuned for ``tune_steps`` before the next edge. Magnitude of alpha is not
used: it does not measure an op's contribution, which is why argmax alpha picks skip connections.
"""

from __future__ import annotations

from typing import Any

import torch

from archfit.differentiable.method import Method, register_method


@register_method("dartspt")
class DartsPT(Method):
    def __init__(self, tune_steps: int = 10) -> None:
        self.tune_steps = int(tune_steps)

    def start(self, loop) -> None:
        super().start(loop)
        edges, ops = self.supernet.alpha.shape
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
