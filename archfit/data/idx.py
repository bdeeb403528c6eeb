"""MNIST-format (IDX) image data: MNIST, Fashion-MNIST, KMNIST folders and the Debian dataset packages.

The IDX format (LeCun et al.) is a big-endian header — two zero bytes, a type code (0x08 = uint8), the
number of dimensions — then one uint32 per dimension, then the raw values. A folder holds four files:
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
``t10k-labels-idx1-ubyte``, each optionally gzipped. The official 10k ``t10k`` set is the test split;
the validation split is carved from train (stratified, seeded) by ``make_module``.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch

from archfit.data.base import DataModule, make_module
from archfit.errors import ArchfitError

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# Named data sets: Debian package -> folder its files install to (``dpkg -L <package>``).
PACKAGES = {
    "fashion-mnist": ("dataset-fashion-mnist", Path("/usr/share/datasets/fashion-mnist")),
    "mnist": ("dataset-mnist", Path("/usr/share/datasets/mnist")),
}
MAX_ITEMS = 1_000_000  # a header claiming more samples than this is damaged, not data
MAX_SIDE = 512  # pixels; an IDX image larger than this is not MNIST-style data


def is_idx_folder(folder: Path) -> bool:
    """True when ``folder`` holds at least one of the four standard IDX files (plain or gzipped)."""
    return any(_find(folder, name) is not None for name in FILES)


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """The uint8 array of one IDX file; any damage is one ``ArchfitError`` naming the file."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise ArchfitError(f"{path}: cannot be read as {'gzip' if opener is gzip.open else 'a file'} ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ArchfitError(f"{path}: bad magic number {raw[:4].hex() or 'empty'}; expected 0000 08 0{ndim} (IDX uint8)")
    if raw[2] != 0x08:
        raise ArchfitError(f"{path}: value type 0x{raw[2]:02x} is not 0x08 (unsigned byte)")
    if raw[3] != ndim:
        raise ArchfitError(f"{path}: {raw[3]} dimensions; expected {ndim}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ArchfitError(f"{path}: truncated header ({len(raw)} bytes; expected {header})")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if dims[0] > MAX_ITEMS or any(d < 1 or d > MAX_SIDE for d in dims[1:]):
        raise ArchfitError(f"{path}: dimensions {list(dims)} out of range (at most {MAX_ITEMS} items, sides 1..{MAX_SIDE})")
    size = int(np.prod(dims))
    if len(raw) - header != size:
        raise ArchfitError(f"{path}: truncated or padded: {len(raw) - header} bytes of data for dimensions "
                           f"{list(dims)} ({size} expected)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def resolve(spec: str) -> Path | None:
    """The folder of a named IDX data set (``fashion-mnist``, ``mnist``), or None if ``spec`` is no such name."""
    if spec not in PACKAGES:
        return None
    package, folder = PACKAGES[spec]
    if not all(_find(folder, name) for name in FILES):
        raise ArchfitError(f"data {spec!r} needs the Debian package {package} (apt-get install {package}) or a "
                           f"folder with {', '.join(FILES)} (optionally .gz); none found in {folder}")
    return folder


def load_idx(folder: Path, image_size: int | None = None, name: str | None = None) -> DataModule:
    """The four IDX files of ``folder`` as a DataModule of 1xHxW images in [0, 1], standardised.

    ``image_size`` resizes by area averaging (``adaptive_avg_pool2d``: exact 2x2 means for 28 -> 14), which
    keeps CPU budgets small without aliasing; None keeps the files' own size.
    """
    paths = [_find(folder, n) for n in FILES]
    missing = [n for n, p in zip(FILES, paths) if p is None]
    if missing:
        raise ArchfitError(f"{folder} lacks {', '.join(missing)} (an IDX folder needs {', '.join(FILES)}, "
                           "optionally .gz)")
    x_fit, y_fit, x_test, y_test = (_read_idx(p, 3 if "images" in p.name else 1) for p in paths)
    for images, labels, pi, pl in ((x_fit, y_fit, paths[0], paths[1]), (x_test, y_test, paths[2], paths[3])):
        if len(images) != len(labels):
            raise ArchfitError(f"{pl}: {len(labels)} labels but {pi.name} holds {len(images)} images")
    if x_fit.shape[1:] != x_test.shape[1:]:
        raise ArchfitError(f"{paths[2]}: images are {list(x_test.shape[1:])} but train images are {list(x_fit.shape[1:])}")
    if max(int(y_fit.max(initial=0)), int(y_test.max(initial=0))) > 255 or len(np.unique(y_fit)) < 2:
        raise ArchfitError(f"{paths[1]}: labels must span at least 2 classes")
    x_fit, x_test = _resize(x_fit, image_size), _resize(x_test, image_size)
    return make_module(name or f"idx:{folder}", x_fit, y_fit.astype(np.int64), x_test, y_test.astype(np.int64))


def _resize(images: np.ndarray, image_size: int | None) -> np.ndarray:
    x = images.astype(np.float32)[:, None] / 255.0
    if image_size is None or image_size == images.shape[1] == images.shape[2]:
        return x
    pooled = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(x), (image_size, image_size))
    return pooled.numpy()
