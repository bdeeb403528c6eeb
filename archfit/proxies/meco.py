"""``meco`` — Jiang et al., NeurIPS 2023, "MeCo: zero-shot NAS with one data and single forward pass via
minimum eigenvalue of correlation".

For every convolution output with at least two positions, the Pearson correlation matrix between its
channels (C x C, over the positions of one input's feature map) is formed — constant channels give 0
correlations — and its minimum eigenvalue taken; score = Σ over layers. As in the authors' code one
input is used (the first ``samples`` of the batch, averaged). Higher = better (channels that are less
linearly dependent). Needs: inputs (no labels). Small feature maps (fewer positions than channels)
give rank-deficient matrices whose minimum eigenvalue is 0: use inputs of 32x32 or more in NB201.
"""

from __future__ import annotations

import torch
from torch import nn

from archfit.errors import ArchfitError
from archfit.proxies import register_proxy
from archfit.proxies.base import Batch, Proxy, hooks

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


@register_proxy("meco")
class Meco(Proxy):
    needs = "inputs"

    def __init__(self, samples: int = 1) -> None:
        self.samples = int(samples)

    def score(self, model: nn.Module, batch: Batch) -> float:
        if not 1 <= self.samples <= len(batch.x):
            raise ArchfitError(f"meco: samples {self.samples} must be between 1 and the batch size {len(batch.x)}")
        total = torch.zeros((), dtype=torch.float64)

        def layer(module, inputs, output):
            nonlocal total
            maps = output.detach()[: self.samples].double()
            maps = maps.reshape(maps.shape[0], maps.shape[1], -1)
            if maps.shape[2] < 2 or maps.shape[1] < 2:
                return
            for fea in maps:
                corr = torch.nan_to_num(torch.corrcoef(fea), nan=0.0, posinf=0.0, neginf=0.0)
                total += torch.linalg.eigvalsh(corr)[0] / self.samples

        model.train()
        with torch.no_grad(), hooks([m for m in model.modules() if isinstance(m, _CONVS)], post=layer):
            model(batch.x)
        return float(total)
