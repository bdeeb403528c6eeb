"""Device latency models: predict an architecture's latency (ms) on one device from a few measured ones.

- ``lut`` (per-operation lookup table, as nn-Meter/HW-NAS-Bench-style kernel tables): latency = a
  constant + one term per (edge, operation), fitted by least squares (a tiny ridge keeps it defined
  with fewer samples than terms) on the one-hot of the choices.
- ``gbdt``: the lookup table plus gradient-boosted trees on its relative residual, from the one-hot and
  the table's prediction: the part that is not additive (e.g. operations whose cost depends on their
  neighbours, or on what the runtime fuses).
- ``transfer`` (few-sample transfer to a new device, HELP's setting, Lee et al. NeurIPS 2021): the
  measured latencies of the same arch on other devices are the features; a ridge regression in log
  space, its strength chosen by leave-one-out, maps them to the new device from ~10-20 samples.
All: ``fit(archs, latency_ms, space)`` then ``predict(archs) -> ms``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np

from archfit.errors import ArchfitError
from archfit.predict import register_latency_model
from archfit.space.base import Arch, Space

_ONEHOT: dict[tuple[str, str], np.ndarray] = {}


class LatencyModel(ABC):
    name: ClassVar[str] = ""

    def fit(self, archs: Sequence[Arch], latency_ms: Sequence[float], space: Space) -> LatencyModel:
        y = np.asarray(latency_ms, dtype=np.float64)
        if len(archs) != len(y) or len(y) < 2 or not np.isfinite(y).all():
            raise ArchfitError(f"latency model {self.name!r}: needs >= 2 archs with finite latencies "
                               f"(got {len(archs)} archs, {len(y)} values)")
        self.space_ = space
        self._fit(list(archs), y)
        return self

    def onehot(self, archs: Sequence[Arch]) -> np.ndarray:
        space = repr((self.space_.name, sorted(self.space_.params().items())))
        rows = []
        for arch in archs:  # cached: a benchmark predicts every arch of the table after every fit
            row = _ONEHOT.get((space, arch.key))
            if row is None:
                row = _ONEHOT[space, arch.key] = self.space_.encode(arch).astype(np.float64)
            rows.append(row)
        return np.stack(rows)

    @abstractmethod
    def _fit(self, archs: list[Arch], y: np.ndarray) -> None: ...

    @abstractmethod
    def predict(self, archs: Sequence[Arch]) -> np.ndarray:
        """Predicted latency in ms per arch."""


@register_latency_model("lut")
class LookupTableLatency(LatencyModel):
    """Additive per (edge, operation); ``ridge`` is the L2 weight on the terms (not the constant)."""

    def __init__(self, ridge: float = 1e-3) -> None:
        self.ridge = ridge

    def _fit(self, archs: list[Arch], y: np.ndarray) -> None:
        x = self.onehot(archs)
        self.intercept_ = float(y.mean())
        gram = x.T @ (x - x.mean(axis=0)) + self.ridge * np.eye(x.shape[1])
        self.terms_ = np.linalg.solve(gram, (x - x.mean(axis=0)).T @ (y - self.intercept_))
        self.intercept_ -= float(x.mean(axis=0) @ self.terms_)

    def predict(self, archs: Sequence[Arch]) -> np.ndarray:
        return self.intercept_ + self.onehot(archs) @ self.terms_


@register_latency_model("gbdt")
class BoostedLatency(LatencyModel):
    """``lut`` times (1 + boosted correction); ``trees`` depth-``depth`` trees at rate ``lr``."""

    def __init__(self, trees: int = 200, depth: int = 3, lr: float = 0.05, ridge: float = 1e-3) -> None:
        self.trees, self.depth, self.lr, self.ridge = trees, depth, lr, ridge

    def _features(self, archs: Sequence[Arch]) -> tuple[np.ndarray, np.ndarray]:
        base = np.maximum(self.lut_.predict(archs), 1e-6)
        return np.hstack([self.onehot(archs), np.log(base)[:, None]]), base

    def _fit(self, archs: list[Arch], y: np.ndarray) -> None:
        from sklearn.ensemble import GradientBoostingRegressor

        self.lut_ = LookupTableLatency(self.ridge).fit(archs, y, self.space_)
        x, base = self._features(archs)
        self.model_ = GradientBoostingRegressor(n_estimators=self.trees, max_depth=self.depth, learning_rate=self.lr,
                                                subsample=0.8, random_state=0).fit(x, y / base - 1)

    def predict(self, archs: Sequence[Arch]) -> np.ndarray:
        x, base = self._features(archs)
        return base * (1 + self.model_.predict(x))


@register_latency_model("transfer")
class TransferLatency(LatencyModel):
    """``sources``: measured latency (ms) per arch on other devices, e.g. ``[DeviceLatencyTable, ...]``;
    ``alphas`` the ridge strengths tried (leave-one-out picks one)."""

    def __init__(self, sources: Sequence[Callable[[Arch], float]] = (), alphas: Sequence[float] = (1e-3, 1e-2, 0.1, 1, 10)) -> None:
        self.sources, self.alphas = list(sources), tuple(alphas)

    def _x(self, archs: Sequence[Arch]) -> np.ndarray:
        return np.log(np.maximum(np.array([[source(a) for source in self.sources] for a in archs]), 1e-3))

    def _fit(self, archs: list[Arch], y: np.ndarray) -> None:
        from sklearn.linear_model import RidgeCV

        if not self.sources:
            raise ArchfitError("latency model 'transfer' needs sources: other devices' measured latencies")
        self.model_ = RidgeCV(alphas=self.alphas).fit(self._x(archs), np.log(np.maximum(y, 1e-3)))

    def predict(self, archs: Sequence[Arch]) -> np.ndarray:
        return np.exp(self.model_.predict(self._x(archs)))


def within(predicted: np.ndarray, measured: np.ndarray, tolerance: float = 0.10) -> float:
    """Share of archs whose prediction is within ±``tolerance`` (relative) of the measured latency."""
    measured = np.asarray(measured, dtype=np.float64)
    return float(np.mean(np.abs(np.asarray(predicted) - measured) <= tolerance * np.abs(measured)))
