"""``Predictor``: learn an architecture's metric from a few measured ones; rank the rest.

One interface for every model (after scikit-learn: the constructor only stores hyper-parameters,
fitted state ends in ``_``): ``fit(archs, y, encoder, seed, unlabelled)`` then ``predict(archs)``
returning the predictive mean and a spread (standard deviation across an ensemble or the posterior),
both in the units of ``y``. The ``encoder`` turns archs into what the model reads (feature rows, cell
graphs, free statistics), so one predictor works in any space an encoder exists for. ``unlabelled``
archs are optional extra inputs that only semi-supervised or pre-trained models use (no labels).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from archfit.errors import ArchfitError


class Predictor(ABC):
    """Subclasses implement ``_fit`` and ``_predict`` on the encoder's outputs."""

    name: ClassVar[str] = ""

    def fit(self, archs: Sequence[Any], y: Sequence[float], encoder: Any, seed: int = 0,
            unlabelled: Sequence[Any] | None = None) -> Predictor:
        y = np.asarray(y, dtype=np.float64)
        if len(archs) != len(y):
            raise ArchfitError(f"predictor {self.name!r}: {len(archs)} archs but {len(y)} targets")
        if len(y) < 2 or not np.isfinite(y).all():
            raise ArchfitError(f"predictor {self.name!r}: needs at least 2 finite targets, got {len(y)}")
        self.encoder_ = encoder
        self._fit(list(archs), y, int(seed), list(unlabelled or []))
        return self

    def predict(self, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` per arch, in the targets' units."""
        if not hasattr(self, "encoder_"):
            raise ArchfitError(f"predictor {self.name!r}: call fit before predict")
        if len(archs) == 0:
            return np.zeros(0), np.zeros(0)
        return self._predict(list(archs))

    @abstractmethod
    def _fit(self, archs: list[Any], y: np.ndarray, seed: int, unlabelled: list[Any]) -> None: ...

    @abstractmethod
    def _predict(self, archs: list[Any]) -> tuple[np.ndarray, np.ndarray]: ...


class Standardizer:
    """Column-wise centring and scaling (constant columns are left at scale 1)."""

    def fit(self, x: np.ndarray) -> Standardizer:
        self.mean_ = x.mean(axis=0)
        scale = x.std(axis=0)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean_) / self.scale_
