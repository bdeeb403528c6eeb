"""``archfit bench``: strategies and cheap predictors measured on ground truth (a tabular benchmark).

``archfit bench nb201 --table PATH``: every strategy x seeds on the NAS-Bench-201 table (a query is
charged once per isomorphism class); prints best value, regret and improvement over the random-average
architecture after 10/25/50/100/200 queries; writes OUT/bench.json, OUT/details.json, OUT/report.html.
``archfit bench proxies --table PATH``: Kendall tau and Spearman rho of #params, FLOPs and synflow.
``archfit bench predictors`` / ``archfit bench latency``: see ``archfit.cli.bench_predictors``.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from archfit.errors import ArchfitError
from archfit.estimate.tabular import DEFAULT_COLUMN
from archfit.io import parse_json_object

DEFAULT_STRATEGIES = "random,evolution,local,bananas,optuna:tpe"


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="benchmark strategies and predictors on ground truth", description=__doc__)
    kinds = p.add_subparsers(dest="bench", metavar="BENCHMARK", required=True, parser_class=type(p))
    n = kinds.add_parser("nb201", help="strategies on the NAS-Bench-201 table")
    n.add_argument("--table", type=Path, required=True, help="NAS-Bench-201-style CSV (arch + metric columns)")
    n.add_argument("--column", default=DEFAULT_COLUMN, help=f"metric column, maximised (default {DEFAULT_COLUMN})")
    n.add_argument("--strategies", default=DEFAULT_STRATEGIES, help=f"comma-separated (default {DEFAULT_STRATEGIES})")
    n.add_argument("--queries", type=int, default=200, help="charged queries per run (default 200)")
    n.add_argument("--seeds", type=int, default=30, help="runs per strategy, seeds 0..N-1 (default 30)")
    n.add_argument("--out", type=Path, help="output folder (default runs/bench-nb201-<timestamp>)")
    n.add_argument("--no-progress", action="store_true")
    n.add_argument("--strategy-args", default="{}", metavar="JSON",
                   help='constructor arguments of every listed strategy, e.g. \'{"predictor": "rf"}\' for bananas')
    n.add_argument("--latency-table", type=Path, help="CSV of measured latency per arch (<device>_ms columns)")
    n.add_argument("--device", help="device column of --latency-table (e.g. raspi4)")
    n.add_argument("--max-latency-ms", type=float, help="latency budget on --device, ms: archs over it are infeasible")
    n.set_defaults(run=run_nb201)
    x = kinds.add_parser("proxies", help="rank correlation of #params, FLOPs, synflow with the table")
    x.add_argument("--table", type=Path, required=True, help="NAS-Bench-201-style CSV (arch + metric columns)")
    x.add_argument("--column", default=DEFAULT_COLUMN, help=f"metric column (default {DEFAULT_COLUMN})")
    x.add_argument("--sample", default="2000", help="rows to score: a count (seeded uniform sample) or 'all'")
    x.add_argument("--seed", type=int, default=0, help="seed of the sample and of the networks' initialisation")
    x.add_argument("--out", type=Path, help="also write OUT/proxies.json and OUT/report.html")
    x.set_defaults(run=run_proxies)
    from archfit.cli.bench_predictors import add_parsers

    add_parsers(kinds)


def _command() -> str:
    return "archfit " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _progress(enabled: bool):
    def report(name: str, seed: int, seconds: float) -> None:
        print(f"  {name:12s} seed {seed:3d}  {seconds:6.2f} s", file=sys.stderr, flush=True)

    return report if enabled else None


def run_nb201(args) -> int:
    from archfit.benchmark.report import tabular_tables, write_tabular_report
    from archfit.benchmark.tabular import (
        bench_json,
        checkpoints_for,
        feasible_optimum,
        random_average,
        run_benchmark,
    )
    from archfit.estimate.tabular import TabularEstimator
    from archfit.io import atomic_write_json
    from archfit.space import create_space

    if args.queries < 1 or args.seeds < 1:
        raise ArchfitError(f"--queries {args.queries} and --seeds {args.seeds} must be >= 1")
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    if not strategies:
        raise ArchfitError(f"--strategies {args.strategies!r} names no strategy")
    out = args.out or Path("runs") / time.strftime("bench-nb201-%Y%m%d-%H%M%S")
    space = create_space("nb201")
    estimator = TabularEstimator(space, args.table, args.column)
    strategy_args = parse_json_object("--strategy-args", args.strategy_args)
    feasible, budget = _latency_budget(args, space)
    start = time.perf_counter()
    results = run_benchmark(space, estimator, strategies, args.queries, args.seeds, _progress(not args.no_progress),
                            feasible, {name: strategy_args for name in strategies})
    seconds = time.perf_counter() - start
    checkpoints = checkpoints_for(args.queries)
    optimum = estimator.optimum() if feasible is None else feasible_optimum(space, estimator, feasible)
    data = bench_json(optimum, results, checkpoints)
    average = random_average(space, estimator.lookup)
    details = {"command": _command(), "table": str(args.table), "column": args.column, "queries": args.queries,
               "seeds": args.seeds, "optimum": data["optimum"], "random_average": average,
               "protocol": "one charge per isomorphism class; repeats free; best after N charged queries",
               "wall_seconds": seconds, "strategy_args": strategy_args, "budget": budget,
               "strategies": {name: {"seconds_per_seed": sum(r.seconds) / len(r.seconds), "exhausted_runs": r.exhausted,
                                     "regret": {str(q): data["optimum"] - data["strategies"][name][str(q)]["mean"]
                                                for q in checkpoints},
                                     "relative_improvement_pct": {
                                         str(q): 100 * (data["strategies"][name][str(q)]["mean"] - average) / average
                                         for q in checkpoints}}
                              for name, r in results.items()}}
    atomic_write_json(out / "bench.json", data)
    atomic_write_json(out / "details.json", details)
    write_tabular_report(out, {**data, **{k: details[k] for k in ("random_average", "seeds", "queries")}},
                         results, args.column, details["command"])
    print(tabular_tables({**data, "random_average": average}, args.column))
    print(f"\n{len(strategies)} strategies x {args.seeds} seeds x {args.queries} queries in {seconds:.0f} s wall; "
          f"bench.json, details.json and report.html in {out}")
    return 0


def _latency_budget(args, space):
    """``(feasible, description)`` from --latency-table/--device/--max-latency-ms; ``(None, None)`` without them."""
    flags = {"--latency-table": args.latency_table, "--device": args.device, "--max-latency-ms": args.max_latency_ms}
    given = [flag for flag, value in flags.items() if value is not None]
    if not given:
        return None, None
    if len(given) < len(flags):
        raise ArchfitError(f"{', '.join(given)} also needs {', '.join(f for f in flags if f not in given)}")
    if not args.max_latency_ms > 0:
        raise ArchfitError(f"--max-latency-ms {args.max_latency_ms} must be > 0")
    from archfit.predict.latency_table import DeviceLatencyTable

    table = DeviceLatencyTable(args.latency_table, args.device, space)
    bound = float(args.max_latency_ms)
    return (lambda arch: table.latency_ms(arch) <= bound), {
        "latency_table": str(args.latency_table), "device": args.device, "max_latency_ms": bound,
        "optimum": "best value among the classes (canonical encodings) within the budget"}


def run_proxies(args) -> int:
    from archfit.benchmark.proxies import study_proxies
    from archfit.benchmark.report import proxy_table, write_proxy_report
    from archfit.io import atomic_write_json
    from archfit.space import create_space

    if args.sample == "all":
        sample = None
    else:
        try:
            sample = int(args.sample)
        except ValueError:
            raise ArchfitError(f"--sample {args.sample!r} must be a row count or 'all'") from None
        if sample < 3:
            raise ArchfitError(f"--sample {sample} must be >= 3 rows (rank correlations need several points)")
    space = create_space("nb201")
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            print(f"  {done}/{total} archs, {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)

    study = study_proxies(space, args.table, args.column, sample, args.seed, progress)
    print(proxy_table(study))
    if args.out:
        atomic_write_json(args.out / "proxies.json", {
            "command": _command(), "table": str(args.table), "column": args.column, "seed": args.seed,
            "rows_scored": len(study.rows), "table_rows": study.table_rows, "correlations": study.correlations(),
            "seconds": study.seconds, "rows": study.rows, "metric": study.metric, "proxies": study.proxies})
        write_proxy_report(args.out, study, _command())
        print(f"proxies.json and report.html in {args.out}")
    return 0
