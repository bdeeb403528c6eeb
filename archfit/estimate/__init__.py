"""Estimators: ``estimate(arch) -> Estimate``."""

from archfit.estimate.base import Estimate, Estimator
from archfit.estimate.train import TrainEstimator

__all__ = ["Estimate", "Estimator", "TrainEstimator"]
