"""Throughput of the search loop on 1 vs 2 workers, for local processes and Ray.

    python bench/scaling.py [--out bench/results/scaling.json] [--table ../shared/nasbench201/nb201_cifar10.csv]
                            [--tabular-trials 200] [--train-trials 20]

Two searches, each with the ``random`` strategy (its asks do not depend on results, so every executor
evaluates the same archs) and a cost cache warmed beforehand (FLOP counting is the driver's own work,
reported separately, not executor overhead):
- tabular: a 200-trial search of the NAS-Bench-201 space whose estimate is a ~µs lookup in the real
  table (``--table``, default ``../shared/nasbench201/nb201_cifar10.csv`` from the project root; read
  from that path, never copied or downloaded), no budget. Wall time here is almost all overhead:
  ``overhead ms/trial = (wall - sum of estimate seconds / workers) / trials``.
- train: a 20-trial search training each candidate for one epoch on digits (one torch thread/worker).
``store ms/trial`` is the cost of the RUNNING + COMPLETE transactions (WAL, synchronous=FULL) alone.
Scaling efficiency = (trials/s with 2 workers) / (2 x trials/s with 1 worker).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from archfit.cost import CostModel  # noqa: E402
from archfit.cost.budget import Budget  # noqa: E402
from archfit.data import load_data  # noqa: E402
from archfit.estimate import TrainEstimator  # noqa: E402
from archfit.errors import ArchfitError  # noqa: E402
from archfit.estimate.tabular import TabularEstimator  # noqa: E402
from archfit.io import atomic_write_json  # noqa: E402
from archfit.run.executors import create_executor  # noqa: E402
from archfit.run.search import Search  # noqa: E402
from archfit.run.store import Store  # noqa: E402
from archfit.space import create_space  # noqa: E402
from archfit.strategy import create_strategy  # noqa: E402
from archfit.train import TrainConfig  # noqa: E402

TRAIN_BUDGET = Budget.parse(max_flops="1M")  # the default of archfit search on digits
TABLE_BUDGET = Budget()  # tabular searches have no default budget (the table fixes the data)
DEFAULT_TABLE = ROOT.parent / "shared" / "nasbench201" / "nb201_cifar10.csv"


def warm_costs(space, cost: CostModel, budget: Budget, trials: int, seed: int) -> float:
    """Compute the cost of every arch the random strategy will ask (plus margin); seconds spent."""
    start = time.perf_counter()
    strategy = create_strategy("random")
    from archfit.strategy.base import Problem

    strategy.start(Problem(space, "valid_acc", lambda a: budget.fits(cost(a)), cost, "flops", seed))
    seen: set[str] = set()
    for _ in range(100 * trials):  # until the run's distinct archs (plus margin) are costed: a search skips
        arch = space.canonical(strategy.ask())  # isomorphic duplicates, which are frequent in nb201
        cost(arch)
        seen.add(arch.key)
        if len(seen) >= int(trials * 1.1) + 5:
            break
    return time.perf_counter() - start


def store_overhead_ms(space, n: int, folder: Path) -> float:
    """Milliseconds per trial for the two store transactions of a trial (start RUNNING, finish COMPLETE)."""
    from archfit.run.trial import TrialState

    store = Store.create(folder / "overhead.sqlite", {"bench": True})
    rng = np.random.default_rng(0)
    archs = list({a.key: a for a in (space.sample(rng) for _ in range(n * 2))}.values())[:n]
    start = time.perf_counter()
    for told, arch in enumerate(archs):
        number = store.start(arch, None, asked_after=told)
        store.finish(number, TrialState.COMPLETE, {"valid_acc": 0.5}, {}, 0.0, told=told)
    seconds = time.perf_counter() - start
    store.close()
    return seconds / len(archs) * 1000


def run_one(space, cost, budget: Budget, estimator, executor_spec: str, trials: int, folder: Path,
            seed: int) -> dict:
    setup_start = time.perf_counter()
    executor = create_executor(executor_spec, estimator)
    warm = [executor.submit(space.sample(np.random.default_rng(i))) for i in range(executor.workers)]
    while warm:  # workers started and holding the estimator: start-up is reported apart from throughput
        done = executor.wait_any(set(warm))
        warm = [f for f in warm if f not in done]
    setup = time.perf_counter() - setup_start
    store = Store.create(folder / f"{executor_spec.replace(':', '_')}-{time.time_ns()}.sqlite", {"bench": True})
    search = Search(space, create_strategy("random"), executor, store, budget, cost, estimator.metric, trials, seed)
    try:
        start = time.perf_counter()
        result = search.run()
        wall = time.perf_counter() - start
    finally:
        executor.close()
        store.close()
    estimate_s = sum(t.seconds for t in result)
    workers = executor.workers
    return {"executor": executor_spec, "workers": workers, "trials": len(result), "wall_s": wall,
            "startup_s": setup, "trials_per_s": len(result) / wall, "estimate_s_total": estimate_s,
            "overhead_ms_per_trial": max(0.0, wall - estimate_s / workers) / len(result) * 1000,
            "failed": sum(t.state.value != "complete" for t in result)}


def efficiency(rows: list[dict]) -> None:
    base = {r["executor"].split(":")[0]: r["trials_per_s"] for r in rows if r["workers"] == 1}
    for row in rows:
        one = base.get(row["executor"].split(":")[0])
        row["speedup_vs_1"] = row["trials_per_s"] / one if one else None
        row["efficiency"] = row["speedup_vs_1"] / row["workers"] if one else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "scaling.json")
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE,
                        help="NAS-Bench-201 CSV for the tabular search (default: ../shared/nasbench201/nb201_cifar10.csv)")
    parser.add_argument("--tabular-trials", type=int, default=200)
    parser.add_argument("--train-trials", type=int, default=20)
    parser.add_argument("--executors", default="local,processes:1,processes:2,ray:1,ray:2")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.table.is_file():
        parser.exit(2, f"error: --table {args.table} does not exist; expected the NAS-Bench-201 CSV "
                       "(e.g. ../shared/nasbench201/nb201_cifar10.csv), which is never downloaded\n")
    torch.set_num_threads(1)
    specs = args.executors.split(",")
    data = load_data("digits")
    report: dict = {"machine": {"cpus": os.cpu_count(), "load_avg_1min_at_start": os.getloadavg()[0]},
                    "units": {"wall_s": "s", "trials_per_s": "trials/s", "overhead_ms_per_trial": "ms/trial",
                              "store_ms_per_trial": "ms/trial"}}
    with tempfile.TemporaryDirectory(prefix="archfit-scaling-") as tmp:
        folder = Path(tmp)
        tab_space = create_space("nb201")  # 15,625 cells, 6,466 classes, CIFAR-10 network
        try:
            table = TabularEstimator(tab_space, args.table)
        except ArchfitError as exc:
            parser.exit(2, f"error: {exc}\n")
        report["table"] = {"path": str(args.table), "column": table.metric, "classes": len(table.values_)}
        tab_cost = CostModel(tab_space)
        report["tabular_cost_warmup_s"] = warm_costs(tab_space, tab_cost, TABLE_BUDGET, args.tabular_trials, args.seed)
        report["store_ms_per_trial"] = store_overhead_ms(tab_space, args.tabular_trials, folder)
        report["tabular"] = [run_one(tab_space, tab_cost, TABLE_BUDGET, table, spec, args.tabular_trials, folder,
                                     args.seed) for spec in specs]
        efficiency(report["tabular"])
        train_space = create_space("chain", input_shape=list(data.input_shape), num_classes=data.num_classes,
                                   max_depth=1)
        train_cost = CostModel(train_space)
        warm_costs(train_space, train_cost, TRAIN_BUDGET, args.train_trials, args.seed)
        trainer = TrainEstimator(train_space, data, TrainConfig(epochs=1, seed=args.seed))
        report["train"] = [run_one(train_space, train_cost, TRAIN_BUDGET, trainer, spec, args.train_trials, folder,
                                   args.seed) for spec in specs if spec != "local"]
        efficiency(report["train"])
    report["machine"]["load_avg_1min_at_end"] = os.getloadavg()[0]
    print(f"store (RUNNING + COMPLETE transactions): {report['store_ms_per_trial']:.2f} ms/trial")
    header = f"{'search':9} {'executor':13} {'trials':>6} {'wall s':>8} {'trials/s':>9} {'speedup':>8} " \
             f"{'effic.':>7} {'overhead ms/trial':>18} {'startup s':>10}"
    print(header)
    for kind in ("tabular", "train"):
        for r in report[kind]:
            speed = f"{r['speedup_vs_1']:.2f}x" if r["speedup_vs_1"] else "-"
            eff = f"{r['efficiency']:.0%}" if r["efficiency"] else "-"
            print(f"{kind:9} {r['executor']:13} {r['trials']:6d} {r['wall_s']:8.2f} {r['trials_per_s']:9.2f} "
                  f"{speed:>8} {eff:>7} {r['overhead_ms_per_trial']:18.2f} {r['startup_s']:10.2f}")
    print(f"load average (1 min) at start/end: {report['machine']['load_avg_1min_at_start']:.1f}/"
          f"{report['machine']['load_avg_1min_at_end']:.1f} on {os.cpu_count()} CPUs")
    atomic_write_json(args.out, report)


if __name__ == "__main__":
    main()
