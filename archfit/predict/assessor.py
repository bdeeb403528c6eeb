"""``assessor``: the semi-supervised assessor of Tang et al. ("A Semi-Supervised Assessor of Neural
Architectures", CVPR 2020, arXiv 2005.06821), small and on CPU.

1. A graph auto-encoder (a ``CellGCN`` encoder; decoders for the adjacency, ``zᵢ W zⱼ``, and each node's
   operation) is trained on the labelled archs plus up to ``max_unlabelled`` unlabelled ones: no
   labels needed, so the embedding sees far more of the space than the labels do.
2. The archs become nodes of a relation graph: each is joined to its ``k`` nearest neighbours in the
   embedding (Euclidean, standardised).
3. A two-layer graph network on that relation graph (each layer: own features and the mean of the
   neighbours') regresses the metric from the labelled nodes; the unlabelled ones carry information
   between them. An unseen arch is placed into the graph by its neighbours among the fitted nodes.
``members`` regressors with different seeds give the spread.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from archfit.predict import register_predictor
from archfit.predict.base import Predictor, Standardizer
from archfit.predict.gcn import CellGCN, normalised, one_thread


class _Relational(nn.Module):
    def __init__(self, dims: int, width: int) -> None:
        super().__init__()
        self.first, self.second = nn.Linear(2 * dims, width), nn.Linear(2 * width, 1)

    def hidden(self, own: torch.Tensor, neighbours: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.first(torch.cat([own, neighbours], dim=1)))

    def out(self, own: torch.Tensor, neighbours: torch.Tensor) -> torch.Tensor:
        return self.second(torch.cat([own, neighbours], dim=1)).squeeze(-1)


@register_predictor("assessor")
class SemiSupervisedAssessor(Predictor):
    """Auto-encoder of ``width`` x ``layers`` for ``ae_epochs``; relation graph of ``k`` neighbours;
    ``members`` regressors of ``width`` hidden units for ``epochs``."""

    def __init__(self, k: int = 10, width: int = 32, layers: int = 3, ae_epochs: int = 200, epochs: int = 300,
                 members: int = 3, max_unlabelled: int = 2000, lr: float = 3e-3) -> None:
        self.k, self.width, self.layers, self.ae_epochs, self.epochs = k, width, layers, ae_epochs, epochs
        self.members, self.max_unlabelled, self.lr = members, max_unlabelled, lr

    def _embed(self, archs: list[Any]) -> torch.Tensor:
        adjacency, nodes = self.encoder_.graph(archs)
        fwd, bwd = normalised(adjacency)
        with torch.no_grad():
            z = self.autoencoder_.graph_embedding(fwd, bwd, torch.as_tensor(nodes)).numpy()
        if getattr(self.encoder_, "extra", None) is not None:
            z = np.hstack([z, self.encoder_.extra.rows([self.encoder_.key(a) for a in archs])])
        if not hasattr(self, "scaler_"):
            self.scaler_ = Standardizer().fit(z)
        return torch.as_tensor(self.scaler_(z), dtype=torch.float32)

    def _train_autoencoder(self, archs: list[Any], seed: int) -> None:
        adjacency, nodes = self.encoder_.graph(archs)
        fwd, bwd = normalised(adjacency)
        h, a = torch.as_tensor(nodes), torch.as_tensor(adjacency)
        torch.manual_seed(seed)
        self.autoencoder_ = CellGCN(h.shape[-1], self.width, self.layers)
        bilinear, classify = nn.Linear(self.width, self.width, bias=False), nn.Linear(self.width, h.shape[-1])
        params = list(self.autoencoder_.parameters()) + list(bilinear.parameters()) + list(classify.parameters())
        optimiser = torch.optim.Adam(params, lr=self.lr)
        for _ in range(self.ae_epochs):
            optimiser.zero_grad()
            z = self.autoencoder_.nodes(fwd, bwd, h)
            logits = bilinear(z) @ z.transpose(1, 2)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, a) + \
                nn.functional.cross_entropy(classify(z).flatten(0, 1), h.argmax(-1).flatten())
            loss.backward()
            optimiser.step()

    def _neighbours(self, queries: torch.Tensor, query_keys: list[str]) -> torch.Tensor:
        """Mean-aggregation matrix (len(queries) x fitted nodes): the k nearest fitted nodes, itself excluded."""
        distance = torch.cdist(queries, self.reference_)
        position = {key: i for i, key in enumerate(self.reference_keys_)}
        for row, key in enumerate(query_keys):
            if key in position:
                distance[row, position[key]] = float("inf")
        k = min(self.k, self.reference_.shape[0] - 1)
        index = distance.topk(k, largest=False).indices
        return torch.zeros(len(queries), self.reference_.shape[0]).scatter_(1, index, 1.0 / k)

    @one_thread
    def _fit(self, archs: list[Any], y: np.ndarray, seed: int, unlabelled: list[Any]) -> None:
        for name in ("scaler_",):
            self.__dict__.pop(name, None)
        keys = {self.encoder_.key(a) for a in archs}
        pool = [a for a in unlabelled if self.encoder_.key(a) not in keys]
        if len(pool) > self.max_unlabelled:
            picks = np.random.default_rng(seed).choice(len(pool), self.max_unlabelled, replace=False)
            pool = [pool[i] for i in sorted(picks)]
        reference = archs + pool
        self._train_autoencoder(reference, seed)
        self.reference_ = self._embed(reference)
        self.reference_keys_ = [self.encoder_.key(a) for a in reference]
        mix = self._neighbours(self.reference_, self.reference_keys_)
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std()) or 1.0
        target = torch.as_tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32)
        labelled = torch.arange(len(archs))
        self.models_, self.hidden_ = [], []
        for member in range(self.members):
            torch.manual_seed(seed * 1000 + member + 1)
            model = _Relational(self.reference_.shape[1], self.width)
            optimiser = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=1e-4)
            for _ in range(self.epochs):
                optimiser.zero_grad()
                hidden = model.hidden(self.reference_, mix @ self.reference_)
                out = model.out(hidden[labelled], (mix @ hidden)[labelled])
                ((out - target) ** 2).mean().backward()
                optimiser.step()
            with torch.no_grad():
                self.hidden_.append(model.hidden(self.reference_, mix @ self.reference_))
            self.models_.append(model)

    @one_thread
    def _predict(self, archs: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        outs = []
        with torch.no_grad():
            for start in range(0, len(archs), 2000):
                chunk = archs[start:start + 2000]
                z = self._embed(chunk)
                mix = self._neighbours(z, [self.encoder_.key(a) for a in chunk])
                outs.append(torch.stack([model.out(model.hidden(z, mix @ self.reference_), mix @ hidden)
                                         for model, hidden in zip(self.models_, self.hidden_)]))
        out = torch.cat(outs, dim=1).numpy() * self.y_scale_ + self.y_mean_
        return out.mean(axis=0), out.std(axis=0)
