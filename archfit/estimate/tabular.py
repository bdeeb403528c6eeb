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
from collections.abc import Iterator
from pathlib import Path

from archfit.errors import ArchfitError
from archfit.estimate.base import Estimate, Estimator
from archfit.space.base import Arch, Space
from archfit.space.capabilities import Enumerable, TextForm

DEFAULT_COLUMN = "cifar10_test_acc"


def table_rows(path: str | Path, column: str) -> Iterator[tuple[int, str, float]]:
    """``(line, arch string, finite value)`` per data row of a CSV table; every defect is one ``ArchfitError``.

    UTF-8 with or without a byte-order mark, any line endings. The first defect stops the read (a
    table is ground truth: a half-read one would silently change results).
    """
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ArchfitError(f"--table {path}: cannot read it ({exc.strerror}); expected a CSV file") from None
    line = 1
    try:
        with handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            for needed in ("arch", column):
                if needed not in header:
                    numeric = [h for h in header if h not in ("arch", "index", "isomorphism_class")]
                    raise ArchfitError(f"--table {path} has no column {needed!r}; its columns are {header} "
                                       f"(metric columns: {numeric})")
                if header.count(needed) > 1:
                    raise ArchfitError(f"--table {path} has {header.count(needed)} columns named {needed!r}; "
                                       "expected one")
            for line, row in enumerate(reader, start=2):
                text = row[column]
                try:
                    value = float(text)  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    raise ArchfitError(f"--table {path} line {line}: {column}={text!r} is not a number") from None
                if not math.isfinite(value):
                    raise ArchfitError(f"--table {path} line {line}: {column}={text!r} is not finite")
                yield line, row["arch"] or "", value
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ArchfitError(f"--table {path} line {line + 1}: not a UTF-8 CSV text table "
                           f"({str(exc).splitlines()[0][:120]})") from None
    except OSError as exc:  # e.g. a folder, or a read error
        raise ArchfitError(f"--table {path}: cannot read it ({exc.strerror or exc}); expected a CSV file") from None


def parse_row(space: Space, path: str | Path, line: int, text: str) -> Arch:
    """The arch of one table row; a malformed string names the table and line."""
    try:
        return space.parse(text)  # type: ignore[attr-defined]  (read_table checked TextForm)
    except ArchfitError as exc:
        raise ArchfitError(f"--table {path} line {line}: {exc}") from None


def read_table(path: str | Path, column: str, space: Space) -> dict[str, float]:
    """``canonical arch key → value`` for every row whose arch is the canonical encoding of its class."""
    if not isinstance(space, TextForm):
        raise ArchfitError(f"space {space.name!r} has no arch-string format; a tabular estimator needs one (e.g. nb201)")
    values: dict[str, float] = {}
    first_line: dict[str, int] = {}
    choices = space.choices
    for line, text, value in table_rows(path, column):
        arch = parse_row(space, path, line, text)
        if any(v not in choices[name] for name, v in arch.items()):
            continue  # a row of a larger space (e.g. the full table for a restricted op set)
        if space.is_valid(arch) and space.canonical(arch) == arch:
            if arch.key in values and values[arch.key] != value:
                raise ArchfitError(f"--table {path} line {line}: arch {text.strip()!r} is also on line "
                                   f"{first_line[arch.key]} with {column}={values[arch.key]} (here {value}); "
                                   "expected one value per architecture")
            first_line.setdefault(arch.key, line)
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
        if not isinstance(self.space, Enumerable):
            return
        classes = self.space.all_canonical()
        missing = [arch for arch in classes if arch.key not in self.values_]
        if missing:
            example = self.space.format(missing[0]) if isinstance(self.space, TextForm) else missing[0].to_json()
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
