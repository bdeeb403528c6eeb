"""IDX (MNIST-format) data: synthetic files written here; damaged files are one-line errors."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archfit.data import load_data
from archfit.data.idx import FILES, load_idx
from archfit.errors import ArchfitError


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(str(path) + (".gz" if gz else ""), "wb").write(data)


def make_folder(root: Path, n_train: int = 60, n_test: int = 20, side: int = 8, gz: bool = False) -> Path:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    y_train, y_test = np.arange(n_train) % 3, np.arange(n_test) % 3
    # class-dependent brightness, so the data is learnable and resizing keeps the class signal
    x_train = (y_train[:, None, None] * 80 + rng.integers(0, 40, (n_train, side, side))).astype(np.uint8)
    x_test = (y_test[:, None, None] * 80 + rng.integers(0, 40, (n_test, side, side))).astype(np.uint8)
    for name, arr in zip(FILES, (x_train, y_train, x_test, y_test)):
        write_idx(root / name, arr, gz)
    return root


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_loads_with_official_test_split(tmp_path, gz):
    data = load_data(str(make_folder(tmp_path / "d", gz=gz)))
    assert data.input_shape == (1, 8, 8) and data.num_classes == 3
    assert len(data.test) == 20 and len(data.train) + len(data.valid) == 60
    # standardised with train statistics
    assert abs(float(data.train.x.mean())) < 1e-4


def test_image_size_is_area_resize(tmp_path):
    folder = make_folder(tmp_path / "d", side=8)
    small = load_idx(folder, image_size=4)
    full = load_idx(folder)
    assert small.input_shape == (1, 4, 4)
    # area averaging: each output pixel is the mean of a 2x2 block (same standardisation up to the mean/std)
    raw = full.test.x[0, 0].numpy()
    pooled = raw.reshape(4, 2, 4, 2).mean(axis=(1, 3))
    got = small.test.x[0, 0].numpy()
    assert np.corrcoef(pooled.ravel(), got.ravel())[0, 1] > 0.999


def test_train_subset_is_class_balanced_and_seeded(tmp_path):
    folder = str(make_folder(tmp_path / "d", n_train=300))
    a = load_data(folder, train_subset=30, subset_seed=1)
    b = load_data(folder, train_subset=30, subset_seed=1)
    c = load_data(folder, train_subset=30, subset_seed=2)
    assert len(a.train) == 30 and np.bincount(a.train.y.numpy()).tolist() == [10, 10, 10]
    assert (a.train.x == b.train.x).all() and not (a.train.x == c.train.x).all()
    assert len(a.valid) == len(load_data(folder).valid)  # valid and test untouched
    with pytest.raises(ArchfitError, match="--train-subset 100000"):
        load_data(folder, train_subset=100000)


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 60, 8, 8) + b"\x00" * 100), "truncated"),
    (lambda p: p.write_bytes(b"\x12\x34\x08\x03"), "bad magic"),
    (lambda p: p.write_bytes(b"\x00\x00\x08\x02" + struct.pack(">2I", 60, 8)), "dimensions; expected 3"),
    (lambda p: p.write_bytes(b"\x00\x00\x0d\x03" + struct.pack(">3I", 60, 8, 8)), "not 0x08"),
])
def test_damaged_image_file_is_named(tmp_path, damage, message):
    folder = make_folder(tmp_path / "d")
    damage(folder / FILES[0])
    with pytest.raises(ArchfitError, match=message) as info:
        load_idx(folder)
    assert FILES[0] in str(info.value) and "\n" not in str(info.value)


def test_label_count_mismatch_is_named(tmp_path):
    folder = make_folder(tmp_path / "d")
    write_idx(folder / FILES[1], np.arange(59) % 3)
    with pytest.raises(ArchfitError, match="59 labels but train-images-idx3-ubyte holds 60 images"):
        load_idx(folder)


def test_missing_file_names_the_four_files(tmp_path):
    folder = make_folder(tmp_path / "d")
    (folder / FILES[3]).unlink()
    with pytest.raises(ArchfitError, match="t10k-labels-idx1-ubyte"):
        load_data(str(folder))


def test_named_dataset_without_package_names_the_package(monkeypatch, tmp_path):
    from archfit.data import idx

    monkeypatch.setitem(idx.PACKAGES, "fashion-mnist", ("dataset-fashion-mnist", tmp_path / "absent"))
    with pytest.raises(ArchfitError, match="apt-get install dataset-fashion-mnist") as info:
        load_data("fashion-mnist")
    for name in FILES:
        assert name in str(info.value)


def test_cli_damaged_idx_exits_2_and_writes_nothing(tmp_path):
    folder = make_folder(tmp_path / "d")
    (folder / FILES[2]).write_bytes(b"garbage")
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "archfit", "search", "--data", str(folder), "--out", str(out),
                           "--trials", "1", "--epochs", "1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and FILES[2] in proc.stderr
    assert not out.exists()
