"""Device latency models: predict an architecture's latency (ms) on one device from a few measured ones.

- ``lut`` (per-operation lookup table, as nn-Meter/HW-NAS-Bench-style kernel tables): latency = a
  constant + one term per (edge, operation), fitted by least squares (a tiny ridge keeps it defined
  with fewer samples than terms) on the one-hot of the choices.
- ``hlut`` (hierarchical lookup table): the same terms plus one term per operation shared by every
  edge (its count in the arch); the per-edge terms are shrunk towards the shared ones by a ridge whose
  strength leave-one-out picks. With 20 samples it learns "a 3x3 conv costs c ms" instead of 30 free terms.
- ``gbdt``: ``hlut`` (or ``lut``) plus gradient-boosted trees on its residual (ms), from the one-hot
  and the base's prediction: the part that is not additive (operations whose cost depends on their
  neighbours, or on what the runtime fuses). Below ``min_samples`` there is too little to learn a
  residual from (``lut`` interpolates <= 31 samples exactly), so it is the base model.
- ``transfer`` (few-sample transfer to a new device, HELP's setting, Lee et al. NeurIPS 2021): the mean
  of three linear fits on the ~20 samples of the new device: a ridge on the log of the other devices'
  measured latencies, a ridge on ``priors`` (denoised models of the other devices, e.g. ``hlut`` fitted
  on all their archs), and ``hlut`` on the one-hot. Averaging is steadier than any one of them.
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
ALPHAS = tuple(float(a) for a in np.logspace(-3, 3, 13))  # ridge strengths leave-one-out chooses from


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


@register_latency_model("hlut")
class HierarchicalTableLatency(LatencyModel):
    """``lut`` plus one shared term per operation (scaled by ``shared_scale``, so the ridge barely shrinks
    it); ridge strength from ``alphas`` by leave-one-out (sklearn's efficient ``RidgeCV``)."""

    def __init__(self, shared_scale: float = 10.0, alphas: Sequence[float] = ALPHAS) -> None:
        self.shared_scale, self.alphas = shared_scale, tuple(alphas)

    def features(self, archs: Sequence[Arch]) -> np.ndarray:
        """One-hot, then ``shared_scale`` x the count of each value over the choices that offer it."""
        x = self.onehot(archs)
        return np.hstack([x, self.shared_scale * x @ self._grouping()])

    def _grouping(self) -> np.ndarray:
        values = [repr(value) for choice in self.space_.choices.values() for value in choice]
        shared = list(dict.fromkeys(values))  # first-seen order
        grouping = np.zeros((len(values), len(shared)))
        grouping[np.arange(len(values)), [shared.index(v) for v in values]] = 1.0
        return grouping

    def _fit(self, archs: list[Arch], y: np.ndarray) -> None:
        from sklearn.linear_model import RidgeCV

        self.model_ = RidgeCV(alphas=self.alphas).fit(self.features(archs), y)

    def predict(self, archs: Sequence[Arch]) -> np.ndarray:
        return self.model_.predict(self.features(archs))


@register_latency_model("gbdt")
class BoostedLatency(LatencyModel):
    """``base`` (``hlut`` or ``lut``) plus boosted residual (ms); ``trees`` depth-``depth`` trees at rate ``lr``;
    fewer than ``min_samples`` measured archs: the base alone. The residual is additive in ms, never relative:
    a base that predicts <= 0 ms for a measured arch made y / base - 1 ~1e6 and ruined whole fits (raspi4)."""

    def __init__(self, trees: int = 200, depth: int = 3, lr: float = 0.05, base: str = "hlut",
                 min_samples: int = 50) -> None:
        self.trees, self.depth, self.lr, self.base, self.min_samples = trees, depth, lr, base, min_samples

    def _features(self, archs: Sequence[Arch]) -> tuple[np.ndarray, np.ndarray]:
        base = np.maximum(self.base_.predict(archs), self.floor_)
        return np.hstack([self.onehot(archs), np.log(base)[:, None]]), base

    def _fit(self, archs: list[Arch], y: np.ndarray) -> None:
        from sklearn.ensemble import GradientBoostingRegressor

        if self.base not in ("hlut", "lut"):
            raise ArchfitError(f"latency model 'gbdt': base={self.base!r} is not one of ['hlut', 'lut']")
        self.base_ = (HierarchicalTableLatency() if self.base == "hlut" else LookupTableLatency()).fit(archs, y, self.space_)
        self.floor_ = max(float(y[y > 0].min(initial=2e-6)) / 2, 1e-6)
        self.model_ = None
        if len(y) < self.min_samples:
            return
        x = self._features(archs)[0]
        self.model_ = GradientBoostingRegressor(n_estimators=self.trees, max_depth=self.depth, learning_rate=self.lr,
                                                subsample=0.8, random_state=0).fit(x, y - self.base_.predict(archs))

    def predict(self, archs: Sequence[Arch]) -> np.ndarray:
        x, base = self._features(archs)
        if self.model_ is None:
            return base
        return np.maximum(self.base_.predict(archs) + self.model_.predict(x), self.floor_)


@register_latency_model("transfer")
class TransferLatency(LatencyModel):
    """``sources``: measured latency (ms) per arch on other devices, e.g. ``[DeviceLatencyTable, ...]``;
    ``priors``: fitted ``LatencyModel``s of other devices (denoised sources; optional); ``alphas`` the ridge
    strengths tried by the ridge on ``sources`` (leave-one-out picks one; the other members use ``ALPHAS``)."""

    def __init__(self, sources: Sequence[Callable[[Arch], float]] = (), priors: Sequence[LatencyModel] = (),
                 alphas: Sequence[float] = (1e-3, 1e-2, 0.1, 1, 10)) -> None:
        self.sources, self.priors, self.alphas = list(sources), list(priors), tuple(alphas)

    def _x(self, archs: Sequence[Arch]) -> np.ndarray:
        return np.log(np.maximum(np.array([[source(a) for source in self.sources] for a in archs]), 1e-3))

    def _priors(self, archs: Sequence[Arch]) -> np.ndarray:
        return np.stack([prior.predict(archs) for prior in self.priors], axis=1)

    def _fit(self, archs: list[Arch], y: np.ndarray) -> None:
        from sklearn.linear_model import RidgeCV

        if not self.sources:
            raise ArchfitError("latency model 'transfer' needs sources: other devices' measured latencies")
        self.measured_ = RidgeCV(alphas=self.alphas).fit(self._x(archs), np.log(np.maximum(y, 1e-3)))
        self.prior_ = RidgeCV(alphas=ALPHAS).fit(self._priors(archs), y) if self.priors else None
        self.table_ = HierarchicalTableLatency().fit(archs, y, self.space_)

    def predict(self, archs: Sequence[Arch]) -> np.ndarray:
        members = [np.exp(self.measured_.predict(self._x(archs))), self.table_.predict(archs)]
        if self.prior_ is not None:
            members.append(self.prior_.predict(self._priors(archs)))
        return np.mean(members, axis=0)


def within(predicted: np.ndarray, measured: np.ndarray, tolerance: float = 0.10) -> float:
    """Share of archs whose prediction is within ±``tolerance`` (relative) of the measured latency."""
    measured = np.asarray(measured, dtype=np.float64)
    return float(np.mean(np.abs(np.asarray(predicted) - measured) <= tolerance * np.abs(measured)))
