"""NAS-Bench-201 tabular benchmark of the search strategies (the harness of ``archfit bench nb201``).

    PYTHONPATH=. python bench/nb201.py --out bench/results/nb201
    PYTHONPATH=. python bench/nb201.py --strategies bananas,optuna:tpe \
        --perturb noise:0.3:1,rank,target:90,params:6 --out bench/results/nb201_robust

Prints best value (mean ± std over seeds), regret and improvement over the random-average architecture
after 10/25/50/100/200 charged queries; writes OUT/bench.json (the issue's shape), OUT/details.json and
OUT/report.html. ``--perturb`` runs the same protocol on derived copies of the column (seeded noise,
rank, distance to a target, a parameter-count penalty: ``archfit.benchmark.derived``) to check that
the strategies' defaults are not tuned to one column. With several comma-separated transforms each
gets OUT/<transform>/ and OUT/robustness.json holds every strategy's means side by side.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archfit.benchmark.derived import derived  # noqa: E402
from archfit.benchmark.report import markdown_table, tabular_tables, write_tabular_report  # noqa: E402
from archfit.benchmark.tabular import bench_json, checkpoints_for, random_average, run_benchmark  # noqa: E402
from archfit.cli.bench import DEFAULT_STRATEGIES  # noqa: E402
from archfit.errors import ArchfitError  # noqa: E402
from archfit.estimate.tabular import DEFAULT_COLUMN, TabularEstimator  # noqa: E402
from archfit.io import atomic_write_json  # noqa: E402
from archfit.space import create_space  # noqa: E402

DEFAULT_TABLE = ROOT.parent / "shared" / "nasbench201" / "nb201_cifar10.csv"


def run_column(space, estimator: TabularEstimator, args, strategies: list[str], perturb: str | None,
               out: Path) -> dict:
    """One column (the table's or a derived one): run, write OUT's files, print the tables; the bench data."""
    wall, cpu = time.perf_counter(), time.process_time()
    results = run_benchmark(space, estimator, strategies, args.queries, args.seeds,
                            lambda name, seed, s: print(f"  {name:12s} seed {seed:3d} {s:6.2f} s", file=sys.stderr))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    checkpoints = checkpoints_for(args.queries)
    data = bench_json(estimator.optimum(), results, checkpoints)
    average = random_average(space, estimator.lookup)
    command = "PYTHONPATH=. python bench/nb201.py " + " ".join(sys.argv[1:])
    details = {"command": command, "column": estimator.metric, "perturb": perturb, "queries": args.queries,
               "seeds": args.seeds, "optimum": data["optimum"], "random_average": average,
               "wall_seconds": wall, "cpu_seconds": cpu,
               "seconds_per_seed": {n: sum(r.seconds) / len(r.seconds) for n, r in results.items()},
               "exhausted_runs": {n: r.exhausted for n, r in results.items()}}
    atomic_write_json(out / "bench.json", data)
    atomic_write_json(out / "details.json", details)
    write_tabular_report(out, {**data, "random_average": average, "seeds": args.seeds, "queries": args.queries},
                         results, estimator.metric, command)
    print(tabular_tables({**data, "random_average": average}, estimator.metric))
    print(f"\n{len(strategies)} strategies x {args.seeds} seeds x {args.queries} queries: {wall:.0f} s wall, "
          f"{cpu:.0f} s CPU (this process); per seed: "
          + ", ".join(f"{n} {v:.2f} s" for n, v in details["seconds_per_seed"].items()))
    return {**data, "wall_seconds": wall}


def side_by_side(columns: dict[str, dict]) -> str:
    """Mean best per column and strategy, with the optimum, one row each (Markdown)."""
    first = next(iter(columns.values()))
    checkpoints = list(next(iter(first["strategies"].values())))
    rows = [[spec, f"{data['optimum']:.3f}", name] + [f"{points[q]['mean']:.3f}" for q in checkpoints]
            for spec, data in columns.items() for name, points in data["strategies"].items()]
    return markdown_table(["column", "optimum", "strategy"] + [f"@{q}" for q in checkpoints], rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE)
    parser.add_argument("--column", default=DEFAULT_COLUMN)
    parser.add_argument("--strategies", default=DEFAULT_STRATEGIES)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--perturb", help="comma-separated: noise:SIGMA[:SEED] | rank | target:T | params:LAMBDA")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "nb201")
    args = parser.parse_args()
    try:
        space = create_space("nb201")
        base = TabularEstimator(space, args.table, args.column)
        strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
        specs = [s.strip() for s in (args.perturb or "").split(",") if s.strip()]
        estimators = {spec: derived(base, spec) for spec in specs} or {None: base}  # all checked before any run
    except ArchfitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    columns = {}
    for spec, estimator in estimators.items():
        out = args.out / spec.replace(":", "_") if len(estimators) > 1 else args.out
        print(f"\n== {estimator.metric} ==")
        columns[spec or args.column] = run_column(space, estimator, args, strategies, spec, out)
    if len(columns) > 1:
        atomic_write_json(args.out / "robustness.json", {
            "command": "PYTHONPATH=. python bench/nb201.py " + " ".join(sys.argv[1:]), "column": args.column,
            "queries": args.queries, "seeds": args.seeds,
            "columns": {spec: {"optimum": data["optimum"], "wall_seconds": data["wall_seconds"],
                               "strategies": {n: {q: p["mean"] for q, p in points.items()}
                                              for n, points in data["strategies"].items()}}
                        for spec, data in columns.items()}})
        print("\nmean best per derived column (same defaults)\n" + side_by_side(columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
