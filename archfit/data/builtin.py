"""Data that needs no files: scikit-learn's digits and locally generated MNIST-1D."""

from __future__ import annotations

import numpy as np

from archfit.data.base import DataModule, holdout, make_module


def digits() -> DataModule:
    """scikit-learn ``load_digits``: 1,797 8x8 grey images (1x8x8), 10 classes; 20% test, 20% valid."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.images.astype(np.float32)[:, None] / 16.0
    x_fit, x_test, y_fit, y_test = holdout(x, bunch.target)
    return make_module("digits", x_fit, y_fit, x_test, y_test)


def mnist1d() -> DataModule:
    """MNIST-1D generated with the ``mnist1d`` package's default arguments (no download): 1x40
    signals, 10 classes, its own 4,000/1,000 train/test split; 20% of train held out as valid."""
    from mnist1d.data import get_dataset_args, make_dataset

    data = make_dataset(get_dataset_args())
    x, x_test = data["x"].astype(np.float32)[:, None], data["x_test"].astype(np.float32)[:, None]
    return make_module("mnist1d", x, np.asarray(data["y"]), x_test, np.asarray(data["y_test"]))
