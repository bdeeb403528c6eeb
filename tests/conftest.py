"""Shared fixtures: small spaces and data so every test runs in seconds on a CPU."""

from __future__ import annotations

import os

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))

TINY_SPACE_ARGS = {"max_depth": 1, "stage_channels": [8, 12], "kernels": [3, 5], "expansions": [1, 2],
                   "widths": [0.5, 1.0], "stem_channels": 8, "head_channels": 16}


@pytest.fixture(scope="session")
def digits():
    from archfit.data import load_data

    return load_data("digits")


@pytest.fixture()
def tiny_space():
    from archfit.space import create_space

    return create_space("chain", input_shape=(1, 8, 8), num_classes=10, **TINY_SPACE_ARGS)
