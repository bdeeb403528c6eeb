"""Datasets by name or path: ``load_data("digits")``, ``load_data("mnist1d")``, ``load_data("/my/cifar")``."""

from __future__ import annotations

from pathlib import Path

from archfit.data.base import DataModule, Split
from archfit.errors import ArchfitError

BUILTIN = ("digits", "mnist1d")


def load_data(spec: str, image_size: int = 32) -> DataModule:
    """A built-in dataset name, a folder of CIFAR-10 python batches, or an image-folder tree."""
    from archfit.data import builtin, folders

    if spec in BUILTIN:
        return getattr(builtin, spec)()
    path = Path(spec)
    if not path.exists():
        raise ArchfitError(f"data {spec!r} is neither a built-in dataset {list(BUILTIN)} nor an existing folder")
    if not path.is_dir():
        raise ArchfitError(f"data path {spec!r} must be a folder (CIFAR-10 python batches or one folder per class)")
    if (path / "test_batch").exists() or any(path.glob("data_batch_*")):
        return folders.cifar10(path)
    return folders.image_folder(path, image_size)


__all__ = ["BUILTIN", "DataModule", "Split", "load_data"]
