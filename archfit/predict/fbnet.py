"""``fbnet``: the predictor of FBNetV3 (Dai et al., CVPR 2021), small: pre-train on free statistics,
fine-tune on the few labels.

An MLP over the encoder's feature rows is first trained to regress the archs' free statistics
(``encoder.statistics``: log FLOPs and log params of the built network, plus any feature-table
columns such as zero-cost proxy scores — all computable without training) on the labelled plus up to
``max_unlabelled`` unlabelled archs; then a new head is attached and the whole network is fine-tuned on
the labels at a lower learning rate. ``members`` such networks give the spread.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
from torch import nn

from archfit.predict import register_predictor
from archfit.predict.base import Predictor, Standardizer
from archfit.predict.gcn import one_thread


def _adam(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float) -> None:
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    for _ in range(epochs):
        optimiser.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        optimiser.step()


@register_predictor("fbnet")
class FBNetPredictor(Predictor):
    """Body of ``layers`` x ``width`` ReLU units; ``pre_epochs`` at ``lr``, then ``epochs`` at ``lr``/``finetune_ratio``."""

    def __init__(self, members: int = 3, width: int = 64, layers: int = 2, pre_epochs: int = 300, epochs: int = 300,
                 lr: float = 3e-3, finetune_ratio: float = 3.0, max_unlabelled: int = 3000) -> None:
        self.members, self.width, self.layers = members, width, layers
        self.pre_epochs, self.epochs, self.lr, self.finetune_ratio = pre_epochs, epochs, lr, finetune_ratio
        self.max_unlabelled = max_unlabelled

    def _x(self, archs: list[Any]) -> torch.Tensor:
        return torch.as_tensor(self.scaler_(self.encoder_.features(archs).astype(np.float64)), dtype=torch.float32)

    @one_thread
    def _fit(self, archs: list[Any], y: np.ndarray, seed: int, unlabelled: list[Any]) -> None:
        keys = {self.encoder_.key(a) for a in archs}
        pool = [a for a in unlabelled if self.encoder_.key(a) not in keys]
        if len(pool) > self.max_unlabelled:
            picks = np.random.default_rng(seed).choice(len(pool), self.max_unlabelled, replace=False)
            pool = [pool[i] for i in sorted(picks)]
        every = archs + pool
        self.scaler_ = Standardizer().fit(self.encoder_.features(every).astype(np.float64))
        stats = self.encoder_.statistics(every)
        stats_t = torch.as_tensor(Standardizer().fit(stats)(stats), dtype=torch.float32)
        x_all, x = self._x(every), self._x(archs)
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std()) or 1.0
        target = torch.as_tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32).unsqueeze(1)
        self.models_ = []
        for member in range(self.members):
            torch.manual_seed(seed * 1000 + member)
            sizes = [x.shape[1]] + [self.width] * self.layers
            body = nn.Sequential(*(m for a, b in itertools.pairwise(sizes) for m in (nn.Linear(a, b), nn.ReLU())))
            _adam(nn.Sequential(body, nn.Linear(self.width, stats_t.shape[1])), x_all, stats_t, self.pre_epochs, self.lr)
            model = nn.Sequential(body, nn.Linear(self.width, 1))
            _adam(model, x, target, self.epochs, self.lr / self.finetune_ratio)
            self.models_.append(model.eval())

    @one_thread
    def _predict(self, archs: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        x = self._x(archs)
        with torch.no_grad():
            out = torch.stack([model(x).squeeze(1) for model in self.models_]).numpy() * self.y_scale_ + self.y_mean_
        return out.mean(axis=0), out.std(axis=0)
