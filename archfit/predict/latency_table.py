"""``DeviceLatencyTable``: measured inference latency (ms) of every architecture on one real device.

The CSV has an ``arch`` column of arch strings the space can parse and one ``<device>_ms`` column per
device (e.g. HW-NAS-Bench/HELP's NAS-Bench-201 latencies: ``raspi4_ms``, ``pixel2_ms``, ...). Latency is
per encoding, not per isomorphism class: the network computes every edge's operation, even one that
cannot reach the output. The path comes from the user; nothing is downloaded.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from archfit.errors import ArchfitError
from archfit.estimate.tabular import parse_row, table_rows
from archfit.space.base import Arch, Space

SUFFIX = "_ms"


def table_devices(path: str | Path) -> list[str]:
    """Device names of a latency table: its ``<device>_ms`` columns without the suffix."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ArchfitError(f"--latency-table {path}: cannot read it as a CSV file ({exc})") from None
    if "arch" not in header:
        raise ArchfitError(f"--latency-table {path} has no 'arch' column; its columns are {header}")
    return [h[: -len(SUFFIX)] for h in header if h.endswith(SUFFIX)]


def read_latency_columns(path: str | Path, space: Space) -> tuple[list[Arch], dict[str, np.ndarray]]:
    """Every arch of the table (file order) and each device's latencies (ms) in that order, read once."""
    devices = table_devices(path)
    archs: list[Arch] = []
    columns: dict[str, list[float]] = {d: [] for d in devices}
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            archs.append(parse_row(space, path, line, row["arch"] or ""))
            for device in devices:
                try:
                    columns[device].append(float(row[device + SUFFIX]))  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    raise ArchfitError(f"--latency-table {path} line {line}: {device}{SUFFIX}="
                                       f"{row[device + SUFFIX]!r} is not a number") from None
    return archs, {d: np.array(v) for d, v in columns.items()}


class DeviceLatencyTable:
    """``latency_ms(arch)`` on ``device`` (a column ``<device>_ms`` of the CSV at ``path``)."""

    def __init__(self, path: str | Path, device: str, space: Space | None = None) -> None:
        from archfit.space import create_space

        self.path, self.device = Path(path), device
        self.space = space or create_space("nb201")
        devices = table_devices(self.path)
        if device not in devices:
            raise ArchfitError(f"--device {device!r} is not in --latency-table {self.path}; available: {devices}")
        self.column = device + SUFFIX
        self.values_: dict[str, float] = {}
        self.archs_: list[Arch] = []  # in file order
        for line, text, value in table_rows(self.path, self.column):
            if value < 0:
                raise ArchfitError(f"--latency-table {self.path} line {line}: {self.column}={value} is negative")
            arch = parse_row(self.space, self.path, line, text)
            if arch.key not in self.values_:
                self.archs_.append(arch)
            self.values_[arch.key] = value
        if not self.values_:
            raise ArchfitError(f"--latency-table {self.path} has no rows")

    def latency_ms(self, arch: Arch) -> float:
        """Measured latency of this encoding, in ms; a one-line error if the table lacks it."""
        value = self.values_.get(arch.key)
        if value is None:
            text = self.space.format(arch) if hasattr(self.space, "format") else arch.to_json()
            raise ArchfitError(f"arch {text} is not in --latency-table {self.path}")
        return value

    def __call__(self, arch: Arch) -> float:
        return self.latency_ms(arch)
