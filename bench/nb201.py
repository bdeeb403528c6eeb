"""NAS-Bench-201 tabular benchmark of the search strategies (the harness of ``archfit bench nb201``).

    PYTHONPATH=. python bench/nb201.py --table ../shared/nasbench201/nb201_cifar10.csv --out bench/results/nb201
    PYTHONPATH=. python bench/nb201.py --table ... --perturb noise:0.2:1 --out bench/results/nb201_noise

Prints best value (mean ± std over seeds), regret and improvement over the random-average architecture
after 10/25/50/100/200 charged queries; writes OUT/bench.json (the issue's shape), OUT/details.json and
OUT/report.html. ``--perturb`` runs the same protocol on a transformed copy of the column (seeded noise
or a rank transform) to check that the strategies' defaults are not tuned to one column.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archfit.benchmark.report import tabular_tables, write_tabular_report  # noqa: E402
from archfit.benchmark.tabular import (bench_json, checkpoints_for, perturbed, random_average,  # noqa: E402
                                       run_benchmark)
from archfit.cli.bench import DEFAULT_STRATEGIES  # noqa: E402
from archfit.estimate.tabular import DEFAULT_COLUMN, TabularEstimator  # noqa: E402
from archfit.io import atomic_write_json  # noqa: E402
from archfit.space import create_space  # noqa: E402

DEFAULT_TABLE = ROOT.parent / "shared" / "nasbench201" / "nb201_cifar10.csv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE)
    parser.add_argument("--column", default=DEFAULT_COLUMN)
    parser.add_argument("--strategies", default=DEFAULT_STRATEGIES)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--perturb", help="noise:SIGMA[:SEED] | rank")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "nb201")
    args = parser.parse_args()
    space = create_space("nb201")
    estimator = TabularEstimator(space, args.table, args.column)
    if args.perturb:
        estimator = perturbed(estimator, args.perturb)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    wall, cpu = time.perf_counter(), time.process_time()
    results = run_benchmark(space, estimator, strategies, args.queries, args.seeds,
                            lambda name, seed, s: print(f"  {name:12s} seed {seed:3d} {s:6.2f} s", file=sys.stderr))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    checkpoints = checkpoints_for(args.queries)
    data = bench_json(estimator.optimum(), results, checkpoints)
    average = random_average(space, estimator.lookup)
    command = "PYTHONPATH=. python bench/nb201.py " + " ".join(sys.argv[1:])
    details = {"command": command, "column": estimator.metric, "perturb": args.perturb, "queries": args.queries,
               "seeds": args.seeds, "optimum": data["optimum"], "random_average": average,
               "wall_seconds": wall, "cpu_seconds": cpu,
               "seconds_per_seed": {n: sum(r.seconds) / len(r.seconds) for n, r in results.items()},
               "exhausted_runs": {n: r.exhausted for n, r in results.items()}}
    atomic_write_json(args.out / "bench.json", data)
    atomic_write_json(args.out / "details.json", details)
    write_tabular_report(args.out, {**data, "random_average": average, "seeds": args.seeds, "queries": args.queries},
                         results, estimator.metric, command)
    print(tabular_tables({**data, "random_average": average}, estimator.metric))
    print(f"\n{len(strategies)} strategies x {args.seeds} seeds x {args.queries} queries: {wall:.0f} s wall, "
          f"{cpu:.0f} s CPU (this process); per seed: "
          + ", ".join(f"{n} {v:.2f} s" for n, v in details["seconds_per_seed"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
