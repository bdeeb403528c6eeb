"""``zico`` — Li et al., ICLR 2023, "ZiCo: zero-shot NAS via inverse coefficient of variation on
gradients".

The minibatch is split into ``splits`` equal parts (the paper uses two minibatches; here two halves of
one); each part's cross-entropy gradient is taken for every convolution and linear weight. Per layer,
with mean |g| and standard deviation σ(g) over the parts, element-wise over the weights whose σ > 0:
score = Σ over layers of log(Σ mean|g| / σ(g)) (layers whose sum is 0 are skipped). Higher = better:
large, consistent gradients mean fast, stable training. Needs: inputs and labels.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from archfit.errors import ArchfitError
from archfit.proxies import register_proxy
from archfit.proxies.base import Batch, Proxy, loss_backward, weighted_layers


@register_proxy("zico")
class Zico(Proxy):
    needs = "labels"

    def __init__(self, splits: int = 2) -> None:
        self.splits = int(splits)

    def score(self, model: nn.Module, batch: Batch) -> float:
        if not 2 <= self.splits <= len(batch.x):
            raise ArchfitError(f"zico: splits {self.splits} must be between 2 and the batch size {len(batch.x)}")
        layers = weighted_layers(model)
        grads: list[list[torch.Tensor]] = [[] for _ in layers]
        for part_x, part_y in zip(batch.x.chunk(self.splits), batch.y.chunk(self.splits)):
            loss_backward(model, Batch(part_x, part_y, batch.num_classes))
            for k, m in enumerate(layers):
                g = m.weight.grad
                grads[k].append(torch.zeros_like(m.weight) if g is None else g.detach().clone())
        total = 0.0
        for parts in grads:
            stack = torch.stack(parts)
            std = stack.std(dim=0)
            live = std > 0
            ratio = float((stack.abs().mean(dim=0)[live] / std[live]).sum())
            if ratio > 0:
                total += math.log(ratio)
        return total
