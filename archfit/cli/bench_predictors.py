"""``archfit bench predictors`` and ``archfit bench latency``: learned predictors and device latency models
measured on ground truth (see ``archfit.benchmark.predictors`` and ``archfit.benchmark.latency_models``).

``archfit bench predictors --table nb201_cifar10.csv`` or ``--naslib zc_nasbench201_cifar10.json``:
Kendall τ on every unseen arch per predictor x training size x seed; OUT/predictors.json
(``{"<predictor>:<features>": {N: {"kendall_tau_mean", "ci95", ...}}}``), OUT/details.json, OUT/report.html.
``archfit bench latency --latency-table nb201_latency.csv``: share within ±10% per device and model, and
each device's noise ceiling; OUT/latency_models.json.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from archfit.errors import ArchfitError
from archfit.estimate.tabular import DEFAULT_COLUMN
from archfit.io import parse_json_object

DEFAULT_PREDICTORS = "mlp,gp,rf,gbdt,gcn,assessor,fbnet"


def add_parsers(kinds) -> None:
    p = kinds.add_parser("predictors", help="learned predictors: Kendall tau on unseen archs vs training size")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--table", type=Path, help="NAS-Bench-201-style CSV (arch + metric columns)")
    source.add_argument("--naslib", type=Path, help="NASLib zero-cost JSON (labels: val_accuracy; proxies as features)")
    p.add_argument("--naslib-space", default="nb201", choices=("nb201", "darts"), help="space of the --naslib file")
    p.add_argument("--column", default=DEFAULT_COLUMN, help=f"metric column of --table (default {DEFAULT_COLUMN})")
    p.add_argument("--predictors", default=DEFAULT_PREDICTORS, help=f"comma-separated (default {DEFAULT_PREDICTORS})")
    p.add_argument("--predictor-args", default="{}", metavar="JSON",
                   help='constructor arguments per predictor, e.g. \'{"rf": {"trees": 500}}\'')
    p.add_argument("--features", default="path+onehot",
                   help="comma-separated feature sets, each '+'-joined parts: path, onehot, counts, zc "
                        "(zc: the --naslib file's 12 proxy scores; DARTS: onehot, counts, zc)")
    p.add_argument("--sizes", default="25,50,100,200", help="training-set sizes (default 25,50,100,200)")
    p.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 per size (default 10)")
    p.add_argument("--out", type=Path, help="output folder (default runs/bench-predictors-<timestamp>)")
    p.set_defaults(run=run_predictors)
    lat = kinds.add_parser("latency", help="device latency models: share within ±10%% per device")
    lat.add_argument("--latency-table", type=Path, required=True, help="CSV with arch and <device>_ms columns")
    lat.add_argument("--devices", help="comma-separated devices (default: every <device>_ms column)")
    lat.add_argument("--models", default="lut,hlut,gbdt", help="latency models fitted per device (default lut,hlut,gbdt)")
    lat.add_argument("--sizes", default="20,100", help="measured archs per fit (default 20,100)")
    lat.add_argument("--transfer-samples", type=int, default=20, help="samples of a left-out device (default 20)")
    lat.add_argument("--seeds", type=int, default=10, help="seeds per setting (default 10)")
    lat.add_argument("--ceiling-train", type=int, default=12000,
                     help="archs the noise-ceiling oracle is fitted on, the rest scored (default 12000; 0: none)")
    lat.add_argument("--out", type=Path, help="output folder (default runs/bench-latency-<timestamp>)")
    lat.set_defaults(run=run_latency)


def _command() -> str:
    return "archfit " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _ints(flag: str, text: str, minimum: int) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ArchfitError(f"{flag} {text!r} must be comma-separated integers") from None
    if not values or min(values) < minimum:
        raise ArchfitError(f"{flag} {text!r} must list integers >= {minimum}")
    return values


def _names(flag: str, text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise ArchfitError(f"{flag} {text!r} names nothing")
    return names


def _say(line: str) -> None:
    print("  " + line, file=sys.stderr, flush=True)


def run_predictors(args) -> int:
    from archfit.benchmark.predictors import naslib_dataset, nb201_csv_dataset, predictor_study
    from archfit.benchmark.predictors_report import predictors_table, write_predictors_report
    from archfit.io import atomic_write_json

    if args.seeds < 1:
        raise ArchfitError(f"--seeds {args.seeds} must be >= 1")
    sizes, predictors = _ints("--sizes", args.sizes, 2), _names("--predictors", args.predictors)
    features = _names("--features", args.features)
    params = parse_json_object("--predictor-args", args.predictor_args)
    if any(not isinstance(v, dict) for v in params.values()):
        raise ArchfitError(f"--predictor-args {args.predictor_args!r} must map predictor names to JSON objects")
    if args.table is not None:
        dataset = nb201_csv_dataset(args.table, args.column, features)
    else:
        dataset = naslib_dataset(args.naslib, args.naslib_space, features)
    out = args.out or Path("runs") / time.strftime("bench-predictors-%Y%m%d-%H%M%S")
    start = time.perf_counter()
    results = predictor_study(dataset, predictors, sizes, args.seeds, params, _say)
    details = {"command": _command(), "dataset": dataset.name, "label": dataset.label, "archs": len(dataset.archs),
               "sizes": sizes, "seeds": args.seeds, "wall_seconds": time.perf_counter() - start,
               "protocol": "N archs uniform per seed; Kendall tau of the predicted mean on ALL other archs; "
                           "bootstrap 95% interval of the mean over seeds"}
    atomic_write_json(out / "predictors.json", results)
    atomic_write_json(out / "details.json", details)
    write_predictors_report(out, results, details)
    print(predictors_table(results, details))
    print(f"\npredictors.json, details.json and report.html in {out} ({details['wall_seconds']:.0f} s wall)")
    return 0


def run_latency(args) -> int:
    from archfit.benchmark.latency_models import latency_study
    from archfit.benchmark.predictors_report import latency_table
    from archfit.io import atomic_write_json

    if args.seeds < 1 or args.transfer_samples < 2 or args.ceiling_train < 0:
        raise ArchfitError(f"--seeds {args.seeds} must be >= 1, --transfer-samples {args.transfer_samples} >= 2 "
                           f"and --ceiling-train {args.ceiling_train} >= 0")
    devices = _names("--devices", args.devices) if args.devices else None
    out = args.out or Path("runs") / time.strftime("bench-latency-%Y%m%d-%H%M%S")
    study = latency_study(args.latency_table, devices, _ints("--sizes", args.sizes, 2), args.seeds,
                          _names("--models", args.models), args.transfer_samples, _say, args.ceiling_train)
    study["command"] = _command()
    atomic_write_json(out / "latency_models.json", study)
    print(latency_table(study))
    print(f"\nlatency_models.json in {out} ({study['seconds']:.0f} s)")
    return 0
