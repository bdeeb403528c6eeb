"""Look an architecture's metric up in a table of trained results (NAS-Bench-201-style CSV).

The table is any CSV with an ``arch`` column of arch strings the space can parse (``space.parse``)
and a numeric metric column (``--column``, default ``cifar10_test_acc``, in the table's own units,
e.g. % accuracy). The path comes from the user; nothing is downloaded. Isomorphic encodings compute
the same function, so one query answers for the whole class: the value of a class is the table row of
its canonical encoding. A table must cover every valid class of the space, or it is refused.
"""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

from archfit.errors import ArchfitError
from archfit.estimate.base import Estimate, Estimator
from archfit.space.base import Arch, Space

DEFAULT_COLUMN = "cifar10_test_acc"


def read_table(path: str | Path, column: str, space: Space) -> dict[str, float]:
    """``canonical arch key → value`` for every row whose arch is the canonical encoding of its class."""
    parse = getattr(space, "parse", None)
    if parse is None:
        raise ArchfitError(f"space {space.name!r} has no arch-string format; a tabular estimator needs one (e.g. nb201)")
    path = Path(path)
    try:
        handle = path.open(newline="")
    except OSError as exc:
        raise ArchfitError(f"--table {path}: cannot read it ({exc.strerror}); expected a CSV file") from None
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for needed in ("arch", column):
            if needed not in header:
                numeric = [h for h in header if h not in ("arch", "index", "isomorphism_class")]
                raise ArchfitError(f"--table {path} has no column {needed!r}; its columns are {header} "
                                   f"(metric columns: {numeric})")
        values: dict[str, float] = {}
        choices = space.choices
        for line, row in enumerate(reader, start=2):
            arch = parse(row["arch"] or "")
            try:
                value = float(row[column])
            except (TypeError, ValueError):
                raise ArchfitError(f"--table {path} line {line}: {column}={row[column]!r} is not a number") from None
            if not math.isfinite(value):
                raise ArchfitError(f"--table {path} line {line}: {column}={row[column]!r} is not finite")
            if any(value not in choices[name] for name, value in arch.items()):
                continue  # a row of a larger space (e.g. the full table for a restricted op set)
            if space.is_valid(arch) and space.canonical(arch) == arch:
                values[arch.key] = value
    return values


class TabularEstimator(Estimator):
    """One query = one table lookup; ``metric`` is the column name (maximised)."""

    def __init__(self, space: Space, table: str | Path, column: str = DEFAULT_COLUMN) -> None:
        self.space = space
        self.table = Path(table)
        self.metric = column
        self.values_ = read_table(self.table, column, space)
        self._check_coverage()

    def _check_coverage(self) -> None:
        enumerate_all = getattr(self.space, "all_canonical", None)
        if enumerate_all is None:
            return
        classes = enumerate_all()
        missing = [arch for arch in classes if arch.key not in self.values_]
        if missing:
            example = self.space.format(missing[0]) if hasattr(self.space, "format") else missing[0].to_json()
            raise ArchfitError(f"--table {self.table} does not cover space {self.space.name!r}: {len(missing)} of "
                               f"{len(classes)} architecture classes have no row (e.g. {example})")

    def lookup(self, arch: Arch) -> float:
        """The table value of ``arch``'s isomorphism class."""
        key = self.space.canonical(arch).key
        if key not in self.values_:
            raise ArchfitError(f"arch {arch.to_json()} is not in --table {self.table}")
        return self.values_[key]

    def optimum(self) -> float:
        """The best value any query can return (the maximum over valid classes)."""
        return max(self.values_.values())

    def estimate(self, arch: Arch) -> Estimate:
        start = time.perf_counter()
        value = self.lookup(arch)
        return Estimate({self.metric: value}, {"table": self.table.name, "column": self.metric},
                        time.perf_counter() - start)

    def describe(self) -> str:
        return f"table lookup: column {self.metric!r} of {self.table}"
