"""Datasets by name or path: ``load_data("digits")``, ``load_data("fashion-mnist")``, ``load_data("/my/cifar")``."""

from __future__ import annotations

from pathlib import Path

from archfit.data.base import DataModule, Split, balanced_subset
from archfit.errors import ArchfitError

BUILTIN = ("digits", "mnist1d")
NAMED = ("fashion-mnist", "mnist")  # IDX data sets found where their Debian packages install them
MAX_IMAGE_SIZE = 512  # pixels per side; bounds memory of a resized data set


def load_data(spec: str, image_size: int | None = None, train_subset: int | None = None,
              subset_seed: int = 0) -> DataModule:
    """A built-in name, a named IDX data set, or a folder: IDX files, CIFAR-10 python batches, or images.

    ``image_size`` (pixels per side) resizes image data: IDX by area averaging (None keeps 28x28), image
    folders bilinearly (None means 32). ``train_subset`` keeps a seeded, class-balanced subset of the
    training split (for benchmarks on a CPU budget); valid and test splits are untouched.
    """
    from archfit.data import builtin, folders, idx

    if image_size is not None and not 4 <= image_size <= MAX_IMAGE_SIZE:
        raise ArchfitError(f"--image-size {image_size} must be between 4 and {MAX_IMAGE_SIZE} pixels")
    if spec in BUILTIN:
        data = getattr(builtin, spec)()
    elif spec in NAMED:
        data = idx.load_idx(idx.resolve(spec), image_size, name=spec if image_size is None else f"{spec}@{image_size}")
    else:
        path = Path(spec)
        if not path.exists():
            raise ArchfitError(f"data {spec!r} is neither a built-in dataset {list(BUILTIN + NAMED)} nor an existing folder")
        if not path.is_dir():
            raise ArchfitError(f"data path {spec!r} must be a folder (IDX files, CIFAR-10 python batches or one "
                               "folder per class)")
        if idx.is_idx_folder(path):
            data = idx.load_idx(path, image_size)
        elif (path / "test_batch").exists() or any(path.glob("data_batch_*")):
            data = folders.cifar10(path)
        else:
            data = folders.image_folder(path, image_size or 32)
    if train_subset is not None:
        data = balanced_subset(data, train_subset, subset_seed)
    return data


__all__ = ["BUILTIN", "NAMED", "DataModule", "Split", "load_data"]
