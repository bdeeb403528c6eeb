"""Trials on disk: one SQLite file per run (WAL, synchronous=NORMAL, one writer: the driver).

WAL with synchronous=NORMAL keeps every committed transaction through a kill of the process (the crash
harness checks it) and never corrupts the file; only a power loss or OS crash can drop the last few
commits, whose trials a resumed run then simply evaluates again. It costs ~0.2 ms per trial here, FULL
~15 ms (an fsync on every commit).

A trial is written as RUNNING before its estimate starts and updated to COMPLETE or FAILED after, in
one transaction each, so a SIGKILL at any moment leaves either a finished trial or a RUNNING one that
a resumed run evaluates again. Archs are unique per store: a duplicate is never evaluated twice.

Each trial also records the driver's event order: ``asked_after`` (how many results the strategy had
been told when this arch was asked) and ``told`` (its position among the results told). With several
asynchronous workers these depend on completion timing; recording them lets a resumed run replay the
exact ask/tell interleaving of the interrupted one (see ``archfit.run.search``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from archfit.cost.budget import Cost
from archfit.errors import ArchfitError
from archfit.space.base import Arch
from archfit.trial import Trial, TrialState

FORMAT = "archfit-store/1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    number INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, arch TEXT NOT NULL, state TEXT NOT NULL,
    cost TEXT, metrics TEXT, fidelity TEXT, seconds REAL, error TEXT, started REAL, finished REAL,
    asked_after INTEGER, told INTEGER
);
"""
_COLUMNS = "number, arch, state, cost, metrics, fidelity, seconds, error"


def partial_path(path: Path) -> Path:
    """Where ``Store.create`` builds a store before renaming it to ``path``."""
    return path.with_name(f".{path.name}.partial")


class Store:
    """``Store.create(path, meta)`` for a new run, ``Store.open(path)`` to resume or read one."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        columns = {row[1] for row in connection.execute("PRAGMA table_info(trials)")}
        missing = [c for c in ("asked_after", "told") if c not in columns]
        if missing:  # a store written before the event log: its order is unknown (NULL), replay goes by number
            with connection:
                for column in missing:
                    connection.execute(f"ALTER TABLE trials ADD COLUMN {column} INTEGER")

    @classmethod
    def create(cls, path: Path, meta: dict[str, Any]) -> Store:
        """Built under a temporary name and renamed into place: a kill leaves no store or a whole one."""
        if path.exists():
            raise ArchfitError(f"{path} already exists; resume it or choose another run folder")
        partial = partial_path(path)
        for stale in (partial, partial.with_name(partial.name + "-wal"), partial.with_name(partial.name + "-shm")):
            stale.unlink(missing_ok=True)  # left by a create that was killed
        db = cls._connect(partial)
        with db:
            db.executescript(_SCHEMA)
            db.executemany("INSERT INTO meta VALUES (?, ?)",
                           [(k, json.dumps(v)) for k, v in {"format": FORMAT, **meta}.items()])
        db.close()  # checkpoints the WAL into the file and removes it
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, path)
        return cls(cls._connect(path), path)

    @classmethod
    def open(cls, path: Path) -> Store:
        if not path.is_file():
            raise ArchfitError(f"{path} does not exist: not an archfit run folder")
        cls._check(path)  # read-only first: a damaged or foreign file is reported, never written to
        try:
            return cls(cls._connect(path), path)
        except sqlite3.DatabaseError as exc:
            raise ArchfitError(f"{path} is not a usable archfit run store ({exc})") from None

    @staticmethod
    def _check(path: Path) -> None:
        """Integrity (``PRAGMA quick_check``) and format, through a read-only connection."""
        fmt: Any = None
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            try:
                check = db.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    raise ArchfitError(f"{path} is a damaged SQLite store ({str(check)[:120]}); refusing to write to it")
                row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
                columns = {r[1] for r in db.execute("PRAGMA table_info(trials)")}
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            raise ArchfitError(f"{path} is not an archfit run store ({exc})") from None
        try:
            fmt = json.loads(row[0]) if row else None
        except (TypeError, ValueError):
            fmt = row[0]
        if fmt != FORMAT or not {"number", "key", "arch", "state"} <= columns:
            raise ArchfitError(f"{path} is not an archfit run store (format {fmt!r}, expected {FORMAT!r})")

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(str(path), timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a killed process loses nothing committed
        return db

    def close(self) -> None:
        self._db.close()

    # -- meta --------------------------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        try:
            return {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}
        except (TypeError, ValueError, sqlite3.DatabaseError) as exc:
            raise ArchfitError(f"{self.path}: damaged run metadata ({exc})") from None

    def set_meta(self, key: str, value: Any) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    # -- trials ------------------------------------------------------------------------------------
    def start(self, arch: Arch, cost: Cost | None, asked_after: int | None = None) -> int:
        """Record ``arch`` as RUNNING and return its trial number (reused if a crash left it RUNNING)."""
        with self._db:
            row = self._db.execute("SELECT number, state FROM trials WHERE key = ?", (arch.key,)).fetchone()
            if row is not None:
                if row[1] == TrialState.COMPLETE.value:
                    raise ArchfitError(f"trial {row[0]} ({arch.key}) is already complete")
                self._db.execute("UPDATE trials SET state = ?, started = ?, told = NULL WHERE number = ?",
                                 (TrialState.RUNNING.value, time.time(), row[0]))
                return int(row[0])
            cursor = self._db.execute(
                "INSERT INTO trials (key, arch, state, cost, started, asked_after) VALUES (?, ?, ?, ?, ?, ?)",
                (arch.key, arch.to_json(), TrialState.RUNNING.value,
                 json.dumps(cost.to_dict()) if cost else None, time.time(), asked_after))
            return int(cursor.lastrowid)

    def finish(self, number: int, state: TrialState, metrics: dict[str, float], fidelity: dict[str, Any],
               seconds: float, error: str | None = None, told: int | None = None) -> None:
        """Record the result; ``told`` (its position among results told to the strategy) in the same transaction."""
        with self._db:
            self._db.execute(
                "UPDATE trials SET state = ?, metrics = ?, fidelity = ?, seconds = ?, error = ?, finished = ?, "
                "told = ? WHERE number = ?",
                (state.value, json.dumps(metrics), json.dumps(fidelity), seconds, error, time.time(), told, number))

    def order(self) -> dict[int, tuple[int | None, int | None]]:
        """Trial number -> (asked_after, told): the recorded ask/tell interleaving (None where unknown)."""
        return {int(n): (a, t) for n, a, t in self._db.execute("SELECT number, asked_after, told FROM trials")}

    def trial(self, number: int) -> Trial:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM trials WHERE number = ?", (number,)).fetchone()
        if row is None:
            raise KeyError(number)
        return self._parse(row)

    def trials(self, state: TrialState | None = None) -> list[Trial]:
        """All trials in order of their numbers, optionally only those in ``state``."""
        query = f"SELECT {_COLUMNS} FROM trials"
        rows = (self._db.execute(query + " WHERE state = ? ORDER BY number", (state.value,)) if state
                else self._db.execute(query + " ORDER BY number"))
        return [self._parse(row) for row in rows]

    def _parse(self, row: tuple) -> Trial:
        try:
            return Trial.from_row(*row)
        except (TypeError, ValueError, KeyError, AttributeError, ArchfitError) as exc:
            raise ArchfitError(f"{self.path}: trial {row[0]} is damaged ({str(exc)[:160]})") from None
