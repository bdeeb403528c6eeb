"""``gcn``: a small graph convolutional network over the cell graph (after Wen et al., "Neural Predictor
for Neural Architecture Search", ECCV 2020), trained as an ensemble of ``members`` networks.

Each layer propagates along the DAG's edges both ways, ``h' = relu((Âf h Wf + Âb h Wb) / 2)`` with
row-normalised adjacencies with self-loops; the graph's embedding is the mean over nodes, joined by the
encoder's extra feature columns when it has some (standardised), then a linear head. Targets are
standardised; full-batch Adam on one intra-op thread (tens to hundreds of archs of 8 nodes).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
from torch import nn

from archfit.predict import register_predictor
from archfit.predict.base import Predictor, Standardizer


def normalised(adjacency: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward and backward propagation matrices (row-normalised, with self-loops) of a batch of DAGs."""
    a = torch.as_tensor(adjacency, dtype=torch.float32)
    eye = torch.eye(a.shape[-1]).expand_as(a)
    forward, backward = a.transpose(1, 2) + eye, a + eye
    return forward / forward.sum(-1, keepdim=True), backward / backward.sum(-1, keepdim=True)


class CellGCN(nn.Module):
    """``layers`` bidirectional graph convolutions of ``width`` units; ``graph_embedding`` is the node mean."""

    def __init__(self, types: int, width: int, layers: int, extra: int = 0) -> None:
        super().__init__()
        sizes = [types] + [width] * layers
        self.forward_w = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.backward_w = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.head = nn.Sequential(nn.Linear(width + extra, width), nn.ReLU(), nn.Linear(width, 1))

    def nodes(self, fwd: torch.Tensor, bwd: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        for wf, wb in zip(self.forward_w, self.backward_w):
            h = torch.relu((fwd @ wf(h) + bwd @ wb(h)) / 2)
        return h

    def graph_embedding(self, fwd: torch.Tensor, bwd: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.nodes(fwd, bwd, h).mean(dim=1)

    def forward(self, fwd: torch.Tensor, bwd: torch.Tensor, h: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.graph_embedding(fwd, bwd, h), extra], dim=1)).squeeze(-1)


def one_thread(function):
    """Run ``function`` on one intra-op thread (tiny models: more threads only add synchronisation)."""
    def wrapped(*args, **kwargs):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return function(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    return wrapped


@register_predictor("gcn")
class GCNPredictor(Predictor):
    """``members`` GCNs of ``layers`` x ``width``, ``epochs`` of full-batch Adam at ``lr``."""

    def __init__(self, members: int = 3, width: int = 64, layers: int = 3, epochs: int = 300, lr: float = 3e-3,
                 weight_decay: float = 1e-4) -> None:
        self.members, self.width, self.layers = members, width, layers
        self.epochs, self.lr, self.weight_decay = epochs, lr, weight_decay

    def _inputs(self, archs: list[Any]) -> tuple[torch.Tensor, ...]:
        adjacency, nodes = self.encoder_.graph(archs)
        fwd, bwd = normalised(adjacency)
        extra = np.zeros((len(archs), 0))
        if getattr(self.encoder_, "extra", None) is not None:
            extra = self.encoder_.extra.rows([self.encoder_.key(a) for a in archs])
            if not hasattr(self, "extra_scaler_"):
                self.extra_scaler_ = Standardizer().fit(extra)
            extra = self.extra_scaler_(extra)
        return fwd, bwd, torch.as_tensor(nodes), torch.as_tensor(extra, dtype=torch.float32)

    @one_thread
    def _fit(self, archs: list[Any], y: np.ndarray, seed: int, unlabelled: list[Any]) -> None:
        self.__dict__.pop("extra_scaler_", None)
        inputs = self._inputs(archs)
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std()) or 1.0
        target = torch.as_tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32)
        self.models_ = []
        for member in range(self.members):
            torch.manual_seed(seed * 1000 + member)
            model = CellGCN(inputs[2].shape[-1], self.width, self.layers, inputs[3].shape[1])
            optimiser = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            for _ in range(self.epochs):
                optimiser.zero_grad()
                loss = ((model(*inputs) - target) ** 2).mean()
                loss.backward()
                optimiser.step()
            self.models_.append(model.eval())

    @one_thread
    def _predict(self, archs: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        inputs = self._inputs(archs)
        with torch.no_grad():
            out = torch.stack([model(*inputs) for model in self.models_]).numpy() * self.y_scale_ + self.y_mean_
        return out.mean(axis=0), out.std(axis=0)
