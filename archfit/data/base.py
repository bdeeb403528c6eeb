"""``DataModule``: fixed train/valid/test splits held as tensors (all built-in data fits in memory)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from archfit.errors import ArchfitError


@dataclass
class Split:
    x: torch.Tensor  # float32, (N, *input_shape), standardised with the training split's statistics
    y: torch.Tensor  # int64 class indices, (N,)

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class DataModule:
    """A classification task: three disjoint splits, the sample shape and the class count."""

    name: str
    train: Split
    valid: Split
    test: Split
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])

    def describe(self) -> str:
        return (f"{self.name}: input {self.input_shape}, {self.num_classes} classes, "
                f"{len(self.train)}/{len(self.valid)}/{len(self.test)} train/valid/test")


def make_module(name: str, x_fit: np.ndarray, y_fit: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                valid_fraction: float = 0.2, split_seed: int = 0) -> DataModule:
    """Split ``x_fit`` into train/valid (stratified, seeded), standardise all three with train stats."""
    if len(x_fit) < 10 or len(x_test) < 1:
        raise ArchfitError(f"data {name!r} has {len(x_fit)} training and {len(x_test)} test samples; too few")
    x_train, x_valid, y_train, y_valid = train_test_split(
        x_fit, y_fit, test_size=valid_fraction, random_state=split_seed, stratify=_stratify(y_fit))
    mean, std = float(x_train.mean()), float(x_train.std()) or 1.0
    classes = int(max(y_fit.max(), y_test.max())) + 1

    def split(x: np.ndarray, y: np.ndarray) -> Split:
        return Split(torch.from_numpy(((x - mean) / std).astype(np.float32)), torch.from_numpy(y.astype(np.int64)))

    return DataModule(name, split(x_train, y_train), split(x_valid, y_valid), split(x_test, y_test), classes)


def holdout(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.2, split_seed: int = 0):
    """A stratified, seeded test split for data that ships without one."""
    return train_test_split(x, y, test_size=test_fraction, random_state=split_seed, stratify=_stratify(y))


def _stratify(y: np.ndarray) -> np.ndarray | None:
    counts = np.bincount(y)
    return y if counts[counts > 0].min() >= 2 else None


def balanced_subset(data: DataModule, n: int, seed: int = 0) -> DataModule:
    """``data`` with a seeded, class-balanced subset of ``n`` training samples (valid and test untouched).

    Each class gets ``n // classes`` samples (the remainder goes to the first classes), or all it has; the
    standardisation of the full training split is kept, so accuracies compare across subset sizes.
    """
    if not 10 <= n <= len(data.train):
        raise ArchfitError(f"--train-subset {n} must be between 10 and the {len(data.train)} training samples")
    rng = np.random.default_rng(seed)
    y = data.train.y.numpy()
    classes = np.unique(y)
    quota = {c: n // len(classes) + (1 if i < n % len(classes) else 0) for i, c in enumerate(classes)}
    picked = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:quota[c]] for c in classes])
    short = n - len(picked)  # classes with fewer samples than their quota: fill from the rest
    if short > 0:
        rest = np.setdiff1d(np.arange(len(y)), picked)
        picked = np.concatenate([picked, rng.permutation(rest)[:short]])
    picked = np.sort(picked)
    train = Split(data.train.x[picked], data.train.y[picked])
    return DataModule(f"{data.name}[train {n}, seed {seed}]", train, data.valid, data.test, data.num_classes)
