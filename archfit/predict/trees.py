"""scikit-learn regressors behind the ``Predictor`` interface, on the encoder's feature rows.

- ``gp``: Gaussian process, Matérn-5/2 kernel with one length scale per feature plus white noise,
  hyper-parameters by marginal likelihood; the posterior standard deviation is the spread.
- ``rf``: random forest; the spread is the standard deviation across trees.
- ``gbdt``: gradient-boosted trees; ``members`` boosters on different row subsamples, their spread.
Anchors on NAS-Bench-201 (100 training archs): one-hot random forest τ .458, GP .447; a random forest
on 12 zero-cost proxy features .752 (NAS-Bench-Suite-Zero, Krishnakumar et al. 2022).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from archfit.predict import register_predictor
from archfit.predict.base import Predictor, Standardizer


@register_predictor("gp")
class GPPredictor(Predictor):
    """``ard``: one length scale per feature (else one shared); ``restarts`` of the optimiser."""

    def __init__(self, ard: bool = False, restarts: int = 0) -> None:
        self.ard, self.restarts = ard, restarts

    def _fit(self, archs: list[Any], y: np.ndarray, seed: int, unlabelled: list[Any]) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        x = self.encoder_.features(archs).astype(np.float64)
        self.scaler_ = Standardizer().fit(x)
        scale = np.full(x.shape[1], np.sqrt(x.shape[1])) if self.ard else np.sqrt(x.shape[1])
        kernel = ConstantKernel() * Matern(length_scale=scale, length_scale_bounds=(1e-2, 1e4), nu=2.5) \
            + WhiteKernel(1e-2, (1e-6, 1e1))
        self.model_ = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=self.restarts,
                                               random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_.fit(self.scaler_(x), y)

    def _predict(self, archs: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self.model_.predict(self.scaler_(self.encoder_.features(archs).astype(np.float64)), return_std=True)
        return mean, std


@register_predictor("rf")
class ForestPredictor(Predictor):
    """``trees`` trees; ``max_features`` is the share of features tried per split (1.0: all)."""

    def __init__(self, trees: int = 200, max_features: float = 1.0, extra: bool = False) -> None:
        self.trees, self.max_features, self.extra = trees, max_features, extra

    def _fit(self, archs: list[Any], y: np.ndarray, seed: int, unlabelled: list[Any]) -> None:
        from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

        kind = ExtraTreesRegressor if self.extra else RandomForestRegressor
        self.model_ = kind(self.trees, max_features=self.max_features, random_state=seed, n_jobs=1)
        self.model_.fit(self.encoder_.features(archs), y)

    def _predict(self, archs: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        x = self.encoder_.features(archs)
        per_tree = np.stack([tree.predict(x) for tree in self.model_.estimators_])
        return per_tree.mean(axis=0), per_tree.std(axis=0)


@register_predictor("gbdt")
class BoostingPredictor(Predictor):
    """``members`` boosters of ``trees`` depth-``depth`` trees at learning rate ``lr``, each on a
    ``subsample`` share of the rows and ``max_features`` of the features per split."""

    def __init__(self, members: int = 3, trees: int = 400, depth: int = 3, lr: float = 0.03, subsample: float = 0.7,
                 max_features: float = 0.5) -> None:
        self.members, self.trees, self.depth, self.lr = members, trees, depth, lr
        self.subsample, self.max_features = subsample, max_features

    def _fit(self, archs: list[Any], y: np.ndarray, seed: int, unlabelled: list[Any]) -> None:
        from sklearn.ensemble import GradientBoostingRegressor

        x = self.encoder_.features(archs)
        self.models_ = [GradientBoostingRegressor(n_estimators=self.trees, learning_rate=self.lr, max_depth=self.depth,
                                                  subsample=self.subsample, max_features=self.max_features,
                                                  random_state=seed + m).fit(x, y) for m in range(self.members)]

    def _predict(self, archs: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        x = self.encoder_.features(archs)
        predictions = np.stack([model.predict(x) for model in self.models_])
        return predictions.mean(axis=0), predictions.std(axis=0)
