"""Shared helpers of the NAS-Bench-201 tests: synthetic tables written from a formula, the real CSV's path."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

from archfit.space.nb201 import EDGE_NAMES, OPS, format_arch, is_connected, isomorphism_string
from archfit.space.base import Arch

ROOT = Path(__file__).resolve().parents[1]
REAL_TABLE = ROOT.parent / "shared" / "nasbench201" / "nb201_cifar10.csv"

# A smooth synthetic metric with interactions: conv 3x3 is best on most edges, a skip from input to
# output helps, and one interaction term makes the optimum unique (n3.in2 = nor_conv_1x1 with n1.in0 conv).
_GAIN = {"none": 0.0, "skip_connect": 0.4, "nor_conv_1x1": 0.8, "nor_conv_3x3": 1.0, "avg_pool_3x3": 0.3}


def synthetic_value(ops: tuple[str, ...]) -> float:
    if not is_connected(ops):
        return 10.0
    value = 80.0 + sum(_GAIN[op] * (1.0 + 0.1 * k) for k, op in enumerate(ops))
    value += 1.5 if ops[3] == "skip_connect" else 0.0
    value += 0.7 if ops[5] == "nor_conv_1x1" and ops[0] == "nor_conv_3x3" else 0.0
    return round(value, 4)


def write_table(path: Path, ops_set: tuple[str, ...] = OPS, column: str = "cifar10_test_acc",
                drop: int = 0, extra_rows: list[dict] | None = None) -> Path:
    """All encodings over ``ops_set`` (minus the first ``drop`` rows), in NAS-Bench-201 CSV format."""
    rows = []
    for index, ops in enumerate(itertools.product(ops_set, repeat=len(EDGE_NAMES))):
        arch = Arch(dict(zip(EDGE_NAMES, ops)))
        rows.append({"index": index, "arch": format_arch(arch), "isomorphism_class": isomorphism_string(ops),
                     column: synthetic_value(ops)})
    rows = rows[drop:] + (extra_rows or [])
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["index", "arch", "isomorphism_class", column])
        writer.writeheader()
        writer.writerows(rows)
    return path
