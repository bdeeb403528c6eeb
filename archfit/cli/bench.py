"""``archfit bench``: strategies and cheap predictors measured on ground truth (a tabular benchmark).

``archfit bench nb201 --table PATH``: every strategy x seeds on the NAS-Bench-201 table (a query is
charged once per isomorphism class); prints best value, regret and improvement over the random-average
architecture after 10/25/50/100/200 queries; writes OUT/bench.json, OUT/details.json, OUT/report.html.
``archfit bench proxies --table PATH``: Kendall tau and Spearman rho of zero-cost proxies and their rank
aggregate, with bootstrap intervals (``--naslib FILE --precomputed``: NASLib's scores, no compute).
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
DEFAULT_AGGREGATE = "synflow,jacov,naswot,flops"


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
    x = kinds.add_parser("proxies", help="rank correlation of zero-cost proxies with the table")
    x.add_argument("--table", type=Path, required=True, help="NAS-Bench-201-style CSV (arch + metric columns)")
    x.add_argument("--column", default=DEFAULT_COLUMN, help=f"metric column (default {DEFAULT_COLUMN})")
    x.add_argument("--naslib", type=Path, help="NASLib zc_nasbench201 JSON: score its archs (not a table sample)")
    x.add_argument("--precomputed", action="store_true", help="use the --naslib file's scores; compute nothing")
    x.add_argument("--sample", default="1000", help="archs to score: a count (seeded sample) or 'all' (default 1000)")
    x.add_argument("--proxies", help="comma-separated (default: every registered proxy, or all NASLib's)")
    x.add_argument("--aggregate", help=f"proxies whose ranks are aggregated (default {DEFAULT_AGGREGATE})")
    x.add_argument("--rule", default="log-rank", help="aggregation rule: log-rank (AZ-NAS) or rank")
    x.add_argument("--data", default="random", help="minibatch source: 'random' or a data set name "
                   "(e.g. fashion-mnist) (default random)")
    x.add_argument("--batch", type=int, default=16, help="minibatch size (default 16)")
    x.add_argument("--image-size", type=int, default=16, help="input height = width in pixels (default 16)")
    x.add_argument("--channels", type=int, default=8, help="nb201 network: first-stage channels (default 8)")
    x.add_argument("--cells", type=int, default=1, help="nb201 network: cells per stage (default 1)")
    x.add_argument("--cache", type=Path, help="JSON cache of scores per (arch, proxy) (default OUT/scores.json)")
    x.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs (default 1000)")
    x.add_argument("--seed", type=int, default=0, help="seed of the sample, batch, initialisation, bootstrap")
    x.add_argument("--out", type=Path, help="output folder (default runs/bench-proxies-<timestamp>)")
    x.add_argument("--json", type=Path, help="where the results JSON goes (default OUT/proxies.json)")
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


def _interval(record: dict, key: str) -> str:
    ci = record.get(f"{key}_ci95")
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""


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
    from archfit.benchmark.proxies import PUBLISHED, ScoreSetting
    from archfit.benchmark.proxies_report import proxy_table, write_report
    from archfit.benchmark.proxies_study import run_study, study_json
    from archfit.io import atomic_write_json
    from archfit.proxies.aggregate import RULES

    sample = None
    if args.sample != "all":
        try:
            sample = int(args.sample)
        except ValueError:
            raise ArchfitError(f"--sample {args.sample!r} must be a row count or 'all'") from None
        if sample < 8:
            raise ArchfitError(f"--sample {sample} must be >= 8 archs (rank correlations need several points)")
    if args.rule not in RULES:
        raise ArchfitError(f"--rule {args.rule!r} must be one of {list(RULES)}")
    if args.batch < 2 or args.bootstrap < 0 or args.channels < 1 or args.cells < 1:
        raise ArchfitError(f"--batch {args.batch} must be >= 2, --bootstrap {args.bootstrap} >= 0, "
                           f"--channels {args.channels} and --cells {args.cells} >= 1")
    split = lambda text: [s.strip() for s in text.split(",") if s.strip()] if text else None
    proxies = split(args.proxies)
    members = split(args.aggregate) or DEFAULT_AGGREGATE.split(",")
    out = args.out or Path("runs") / time.strftime("bench-proxies-%Y%m%d-%H%M%S")
    setting = ScoreSetting(args.channels, args.cells, args.image_size, args.batch, args.data, args.seed)
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 25 == 0 or done == total:
            print(f"  {done}/{total} archs, {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)

    study = run_study(args.table, args.column, sample, proxies, members, args.rule, setting,
                      args.cache or out / "scores.json", args.naslib, args.precomputed, args.bootstrap, progress)
    seconds = time.perf_counter() - start
    table = proxy_table(study.results)
    print(f"rank correlation with {args.column} over {len(study.archs)} archs; scores {study.source}\n{table}")
    if study.selection:
        held = study.selection["held_out"]
        print(f"\naggregate chosen on half the archs ({'+'.join(study.selection['members'])}, {args.rule}): held-out "
              f"τ {held['kendall_tau']:.3f} {_interval(held, 'kendall_tau')}, ρ {held['spearman_rho']:.3f} "
              f"{_interval(held, 'spearman_rho')}, "
              f"n {held['n']}")
    meta = {"command": _command(), "table": str(args.table), "column": args.column, "naslib": str(args.naslib),
            "precomputed": args.precomputed, "setting": vars(setting) if not args.precomputed else None,
            "aggregate": {"members": members, "rule": args.rule}, "published_tau_rho": PUBLISHED,
            "wall_seconds": seconds}
    atomic_write_json(args.json or out / "proxies.json", study_json(study, meta))
    sections = {f"All proxies ({study.source})": study.results}
    if study.selection:
        sections["Aggregate chosen on a held-out split"] = {
            f"aggregate({'+'.join(study.selection['members'])}) held-out": study.selection["held_out"]}
    write_report(out, f"archfit bench proxies — {args.column}", [f"Command: {_command()}", table.splitlines()[0]],
                 sections, study.scores, study.truth, args.column)
    print(f"{len(study.archs)} archs in {seconds:.0f} s wall; results in {args.json or out / 'proxies.json'}, "
          f"report in {out / 'report.html'}")
    return 0
