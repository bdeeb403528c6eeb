import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from archfit import ArchfitError
from archfit.data import load_data


def test_digits_splits_are_fixed_disjoint_and_standardised(digits):
    assert digits.input_shape == (1, 8, 8) and digits.num_classes == 10
    assert (len(digits.train), len(digits.valid), len(digits.test)) == (1149, 288, 360)
    assert abs(float(digits.train.x.mean())) < 1e-4 and abs(float(digits.train.x.std()) - 1) < 1e-3
    again = load_data("digits")
    assert torch.equal(again.test.x, digits.test.x) and torch.equal(again.valid.y, digits.valid.y)
    rows = {tuple(x.flatten().tolist()) for x in digits.test.x}
    assert not any(tuple(x.flatten().tolist()) in rows for x in digits.valid.x[:50])


def test_mnist1d_is_generated_locally():
    data = load_data("mnist1d")
    assert data.input_shape == (1, 40) and data.num_classes == 10
    assert (len(data.train), len(data.valid), len(data.test)) == (3200, 800, 1000)


def write_batch(path, n, seed, payload=None):
    rng = np.random.default_rng(seed)
    batch = payload or {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                        b"labels": rng.integers(0, 10, n).tolist()}
    with open(path, "wb") as handle:
        pickle.dump(batch, handle)


def test_cifar10_python_batches(tmp_path):
    for i in range(1, 3):
        write_batch(tmp_path / f"data_batch_{i}", 30, i)
    write_batch(tmp_path / "test_batch", 20, 9)
    data = load_data(str(tmp_path))
    assert data.input_shape == (3, 32, 32) and len(data.train) + len(data.valid) == 60 and len(data.test) == 20


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/archfit-pwned",))


def test_cifar_loader_never_runs_pickled_code(tmp_path):
    write_batch(tmp_path / "data_batch_1", 0, 0, payload={b"data": Evil(), b"labels": []})
    write_batch(tmp_path / "test_batch", 5, 1)
    if os.path.exists("/tmp/archfit-pwned"):
        os.remove("/tmp/archfit-pwned")
    with pytest.raises(ArchfitError, match="refusing to load posix.system"):
        load_data(str(tmp_path))
    assert not os.path.exists("/tmp/archfit-pwned")


def test_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        for i in range(8):
            Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(tmp_path / label / f"{i}.png")
    data = load_data(str(tmp_path), image_size=16)
    assert data.input_shape == (3, 16, 16) and data.num_classes == 2
    assert len(data.train) + len(data.valid) + len(data.test) == 16


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "is neither a built-in dataset"),
    (lambda p: p.write_text("x"), "must be a folder"),
    (lambda p: (p.mkdir(), (p / "only").mkdir()), "one sub-folder of images per class"),
    (lambda p: (p.mkdir(), (p / "a").mkdir(), (p / "b").mkdir(), (p / "a" / "x.png").write_text("no")),
     "is not a readable image"),
    (lambda p: (p.mkdir(), (p / "data_batch_1").write_bytes(b"garbage"), (p / "test_batch").write_bytes(b"x")),
     "is not a CIFAR-10 python batch"),
])
def test_bad_data_paths(tmp_path, setup, message):
    path = tmp_path / "d"
    setup(path)
    with pytest.raises(ArchfitError, match=message):
        load_data(str(path))
