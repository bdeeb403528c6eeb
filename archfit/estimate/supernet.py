"""Score candidates with a trained supernet: inherit weights, recalibrate BatchNorm, evaluate on valid.

Each estimate extracts the physical sub-network (so the supernet itself is never modified and the
order of estimates does not matter), recomputes its BatchNorm statistics on a few fixed training
batches and measures validation accuracy: milliseconds to a fraction of a second per candidate.
"""

from __future__ import annotations

import time

from archfit.data.base import DataModule
from archfit.estimate.base import Estimate, Estimator
from archfit.space.base import Arch
from archfit.supernet.supernet import Supernet
from archfit.train import accuracy
from archfit.train.bn import calibration_batches, recalibrate_bn


class SupernetEstimator(Estimator):
    """``estimate(arch)``: valid accuracy (fraction) of ``arch`` with inherited, BN-recalibrated weights."""

    metric = "valid_acc"
    # Inherited weights score candidates on a small validation split, so many tie at the top (on digits 4-6
    # of 24 share the best count of 288); the proxy cannot separate them, and stand-alone accuracy grows with
    # FLOPs within a budget (docs/supernet.md), so a tie goes to the larger arch the budget allows.
    larger_on_tie = True

    def __init__(self, supernet: Supernet, data: DataModule, bn_batches: int = 4, bn_batch_size: int = 128,
                 seed: int = 0, label: str = "") -> None:
        self.supernet, self.data, self.label = supernet, data, label
        self.bn_batches, self.bn_batch_size = bn_batches, bn_batch_size
        self.batches = calibration_batches(data.train.x, bn_batches, bn_batch_size, seed)

    def inherit(self, arch: Arch):
        """The sub-network with the supernet's weights and recalibrated BatchNorm statistics (eval mode)."""
        model = self.supernet.extract(arch)
        recalibrate_bn(model, self.batches)
        return model.eval()

    def estimate(self, arch: Arch) -> Estimate:
        start = time.perf_counter()
        model = self.inherit(arch)
        metrics = {"valid_acc": accuracy(model, self.data.valid)}
        return Estimate(metrics, {"supernet": self.label, "bn_batches": len(self.batches)}, time.perf_counter() - start)

    def describe(self) -> str:
        return (f"weights inherited from a supernet{f' ({self.label})' if self.label else ''}, BatchNorm recalibrated "
                f"on {len(self.batches)} x {self.bn_batch_size} training samples, scored on the validation split")
