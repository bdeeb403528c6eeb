"""Train each candidate from scratch and score it on the validation split (the test split is never seen)."""

from __future__ import annotations

import time

import torch

from archfit.data.base import DataModule
from archfit.estimate.base import Estimate, Estimator
from archfit.space.base import Arch, Space
from archfit.train import TrainConfig, accuracy, train


class TrainEstimator(Estimator):
    """Seeded: the same arch and config always give the same weights and the same accuracy."""

    metric = "valid_acc"

    def __init__(self, space: Space, data: DataModule, config: TrainConfig) -> None:
        self.space = space
        self.data = data
        self.config = config

    def estimate(self, arch: Arch) -> Estimate:
        start = time.perf_counter()
        torch.manual_seed(self.config.seed)
        model = self.space.build(arch)
        stats = train(model, self.data.train, self.config)
        metrics = {"valid_acc": accuracy(model, self.data.valid), "train_loss": stats.final_loss}
        return Estimate(metrics, {"epochs": self.config.epochs}, time.perf_counter() - start)

    def describe(self) -> str:
        return f"train from scratch, {self.config.epochs} epochs, scored on the validation split"
