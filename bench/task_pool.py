"""The benches' shared driver: tasks in spawned worker processes, records written after every task."""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from pathlib import Path

from archfit.io import atomic_write_json


def run_tasks(worker: Callable[[dict], dict | list[dict]], tasks: list[dict], jobs: int, out: Path,
              settings: dict, table: Callable[[list[dict]], str]) -> list[dict]:
    """Run ``worker`` over ``tasks`` in ``jobs`` spawned processes (one thread each is the worker's job).

    After every finished task the records so far go to ``out`` atomically with ``"complete": false``, so
    a long run can be read (and summarised) while it goes; at the end the table is printed and stored.
    """
    start, records = time.perf_counter(), []
    with mp.get_context("spawn").Pool(jobs) as pool:
        for result in pool.imap_unordered(worker, tasks):
            records.extend(result if isinstance(result, list) else [result])
            atomic_write_json(out, {"settings": settings, "records": records, "complete": False,
                                    "seconds": time.perf_counter() - start})
    atomic_write_json(out, {"settings": settings, "records": records, "complete": True,
                            "seconds": time.perf_counter() - start, "table": table(records)})
    print(table(records))
    print(f"{len(records)} records in {time.perf_counter() - start:.0f} s -> {out}")
    return records
