"""``ensemble``: the average of several registered predictors (by default extremely randomised trees and
gradient boosting, whose errors on NAS-Bench-201 are only partly shared). The spread combines each
member's own spread with their disagreement: sqrt(mean of variances + variance of means)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from archfit.errors import ArchfitError
from archfit.predict import create_predictor, register_predictor
from archfit.predict.base import Predictor

DEFAULT_MEMBERS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("rf", {"trees": 200, "max_features": 0.5, "extra": True}), ("gbdt", {"members": 1}))


@register_predictor("ensemble")
class EnsemblePredictor(Predictor):
    """``members``: ``[[name, {constructor arguments}], ...]`` (JSON-friendly)."""

    def __init__(self, members: Sequence[Sequence[Any]] = DEFAULT_MEMBERS) -> None:
        self.members = [(str(m[0]), dict(m[1]) if len(m) > 1 else {}) for m in members]
        if not self.members or any(name == "ensemble" for name, _ in self.members):
            raise ArchfitError(f"ensemble members {members!r} must name at least one other predictor")

    def _fit(self, archs: list[Any], y: np.ndarray, seed: int, unlabelled: list[Any]) -> None:
        self.models_ = [create_predictor(name, **args).fit(archs, y, self.encoder_, seed, unlabelled)
                        for name, args in self.members]

    def _predict(self, archs: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        outputs = [model.predict(archs) for model in self.models_]
        means = np.stack([m for m, _ in outputs])
        variances = np.stack([s**2 for _, s in outputs])
        return means.mean(axis=0), np.sqrt(variances.mean(axis=0) + means.var(axis=0))
