"""A deep ensemble of small MLP regressors, trained as one batched model (members differ by their
seeded initialisation and bootstrap resample), whose spread across members is the uncertainty a
predictor-guided strategy needs. Tiny data (tens to hundreds of points): full-batch Adam, CPU.
``MLPPredictor`` (``"mlp"``) puts it behind the ``Predictor`` interface, warm-starting each refit.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch

from archfit.predict import register_predictor
from archfit.predict.base import Predictor


class MLPEnsemble:
    """``members`` MLPs with ``layers`` hidden layers of ``width`` ReLU units; targets are standardised."""

    def __init__(self, members: int = 5, width: int = 32, layers: int = 2, epochs: int = 300, lr: float = 0.01,
                 weight_decay: float = 1e-4, bootstrap: bool = True) -> None:
        self.members = members
        self.width = width
        self.layers = layers
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.bootstrap = bootstrap

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int, warm: MLPEnsemble | None = None,
            epochs: int | None = None) -> MLPEnsemble:
        """Train on (x, y); ``warm`` starts from another fitted ensemble's weights (same shapes).

        Runs on one intra-op thread: at these sizes more threads only add synchronisation (tens of times
        slower on a loaded machine)."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._fit(x, y, seed, warm, epochs)
        finally:
            torch.set_num_threads(threads)

    def _fit(self, x: np.ndarray, y: np.ndarray, seed: int, warm: MLPEnsemble | None, epochs: int | None) -> MLPEnsemble:
        generator = torch.Generator().manual_seed(seed)
        xt = torch.as_tensor(x, dtype=torch.float32)
        yt = torch.as_tensor(y, dtype=torch.float32)
        self.mean_, self.scale_ = float(yt.mean()), float(yt.std()) if len(yt) > 1 else 1.0
        self.scale_ = self.scale_ if self.scale_ > 1e-12 else 1.0
        target = (yt - self.mean_) / self.scale_
        n, dims = xt.shape
        if self.bootstrap:  # a weight per (member, sample): how often the sample is in its resample
            picks = torch.randint(n, (self.members, n), generator=generator)
            weights = torch.zeros(self.members, n).scatter_add_(1, picks, torch.ones(self.members, n))
        else:
            weights = torch.ones(self.members, n)
        sizes = [dims] + [self.width] * self.layers + [1]
        self.shapes_ = [((self.members, a, b), (self.members, 1, b)) for a, b in itertools.pairwise(sizes)]
        chunks = []  # all weights and biases live in one flat vector: one Adam update per step
        for (w_shape, b_shape), fan_in in zip(self.shapes_, sizes[:-1]):
            bound = (3.0 / fan_in) ** 0.5  # unit-variance activations at initialisation
            chunks += [((torch.rand(w_shape, generator=generator) * 2 - 1) * bound).flatten(), torch.zeros(b_shape).flatten()]
        theta = torch.cat(chunks)
        if warm is not None and warm.theta_.shape == theta.shape:
            theta = warm.theta_.detach().clone()
        self.theta_ = theta.requires_grad_()
        batch = xt.expand(self.members, n, dims)
        weights = weights / weights.sum()
        m, v = torch.zeros_like(self.theta_), torch.zeros_like(self.theta_)
        beta1, beta2 = 0.9, 0.999
        for step in range(1, (epochs or self.epochs) + 1):
            residual = self._forward(batch).squeeze(-1) - target
            (grad,) = torch.autograd.grad((weights * residual**2).sum(), self.theta_)
            # Adam with L2 weight decay, written out on the flat vector: torch.optim's per-step
            # overhead (hooks, per-parameter dispatch) costs more than this whole update at these sizes.
            with torch.no_grad():
                grad = grad.add(self.theta_, alpha=self.weight_decay)
                m.mul_(beta1).add_(grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denominator = (v / (1 - beta2**step)).sqrt_().add_(1e-8)
                self.theta_.addcdiv_(m, denominator, value=-self.lr / (1 - beta1**step))
        return self

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        h, offset = batch, 0
        for i, (w_shape, b_shape) in enumerate(self.shapes_):
            w_size, b_size = w_shape[0] * w_shape[1] * w_shape[2], b_shape[0] * b_shape[2]
            weight = self.theta_[offset:offset + w_size].view(w_shape)
            bias = self.theta_[offset + w_size:offset + w_size + b_size].view(b_shape)
            offset += w_size + b_size
            h = torch.baddbmm(bias, h, weight)
            if i + 1 < len(self.shapes_):
                h = torch.relu(h)
        return h

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions of every member, shape (members, len(x)), in the targets' units."""
        with torch.no_grad():
            xt = torch.as_tensor(x, dtype=torch.float32)
            out = self._forward(xt.expand(self.members, *xt.shape)).squeeze(-1)
        return out.numpy() * self.scale_ + self.mean_


@register_predictor("mlp")
class MLPPredictor(Predictor):
    """The BANANAS predictor: an ``MLPEnsemble`` on the encoder's feature rows; mean and spread across
    members. With ``refit_epochs`` set, every fit after the first continues from the previous weights
    for that many epochs (same feature width), as BANANAS does between rounds."""

    def __init__(self, members: int = 5, width: int = 32, layers: int = 2, epochs: int = 300,
                 refit_epochs: int | None = None, lr: float = 0.01, weight_decay: float = 1e-4,
                 bootstrap: bool = True) -> None:
        self.members, self.width, self.layers, self.epochs = members, width, layers, epochs
        self.refit_epochs, self.lr, self.weight_decay, self.bootstrap = refit_epochs, lr, weight_decay, bootstrap

    def _fit(self, archs: list[Any], y: np.ndarray, seed: int, unlabelled: list[Any]) -> None:
        previous = getattr(self, "ensemble_", None) if self.refit_epochs is not None else None
        ensemble = MLPEnsemble(self.members, self.width, self.layers, self.epochs, self.lr, self.weight_decay,
                               self.bootstrap)
        epochs = self.refit_epochs if previous is not None else self.epochs
        self.ensemble_ = ensemble.fit(self.encoder_.features(archs), y, seed=seed, warm=previous, epochs=epochs)

    def members_predict(self, archs: list[Any]) -> np.ndarray:
        """Every member's prediction, shape (members, len(archs))."""
        return self.ensemble_.predict(self.encoder_.features(archs))

    def _predict(self, archs: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        predictions = self.members_predict(archs)
        return predictions.mean(axis=0), predictions.std(axis=0)
