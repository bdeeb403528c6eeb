"""User data from folders: CIFAR-10 python batches and image-folder trees (one sub-folder per class)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from archfit.data.base import DataModule, holdout, make_module
from archfit.errors import ArchfitError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """CIFAR batches are pickles; allow only what a batch holds (dicts, lists, numpy arrays)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise ArchfitError(f"refusing to load {module}.{name} from a CIFAR batch: only arrays are allowed")
        return super().find_class(module, name)


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as handle:
            batch = _ArrayOnlyUnpickler(handle, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except ArchfitError:
        raise
    except Exception as exc:  # malformed file: any decoding error is the user's data, not our bug
        raise ArchfitError(f"{path} is not a CIFAR-10 python batch ({type(exc).__name__}: {exc})") from None
    if len(data) != len(labels):
        raise ArchfitError(f"{path}: {len(data)} images but {len(labels)} labels")
    return data, labels


def cifar10(folder: Path) -> DataModule:
    """``data_batch_1..5`` + ``test_batch`` (the python version of CIFAR-10): 3x32x32, 10 classes."""
    train = sorted(folder.glob("data_batch_*"))
    test = folder / "test_batch"
    if not train or not test.is_file():
        raise ArchfitError(f"{folder} has no data_batch_* and test_batch files of CIFAR-10 python batches")
    parts = [_read_batch(p) for p in train]
    x_fit = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
    y_fit = np.concatenate([p[1] for p in parts])
    x_test, y_test = _read_batch(test)
    return make_module(f"cifar10:{folder}", x_fit, y_fit, x_test.astype(np.float32) / 255.0, y_test)


def image_folder(folder: Path, image_size: int = 32) -> DataModule:
    """Class-per-sub-folder images, resized to ``image_size`` squared RGB; 20% test, 20% valid."""
    from PIL import Image, UnidentifiedImageError

    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if len(classes) < 2:
        raise ArchfitError(f"{folder} must hold one sub-folder of images per class (found {len(classes)})")
    images, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ArchfitError(f"class folder {folder / name} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        for path in files:
            try:
                with Image.open(path) as img:
                    img = img.convert("RGB").resize((image_size, image_size), Image.BILINEAR)
                    images.append(np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0)
            except (UnidentifiedImageError, OSError) as exc:
                raise ArchfitError(f"{path} is not a readable image ({exc})") from None
            labels.append(label)
    x, y = np.stack(images), np.asarray(labels, dtype=np.int64)
    x_fit, x_test, y_fit, y_test = holdout(x, y)
    return make_module(f"images:{folder}", x_fit, y_fit, x_test, y_test)
