"""Markdown tables and the HTML report (with PNG plots) of the predictor and latency-model benchmarks."""

from __future__ import annotations

from pathlib import Path

from archfit.benchmark.report import markdown_table
from archfit.report.html import Report
from archfit.report.plots import curves_plot


def predictors_table(results: dict, details: dict) -> str:
    sizes = [str(n) for n in details["sizes"]]
    rows = [[label] + [f"{points[n]['kendall_tau_mean']:.3f} [{points[n]['ci95'][0]:.3f}, {points[n]['ci95'][1]:.3f}]"
                       for n in sizes] for label, points in results.items()]
    return (f"Kendall tau on all unseen archs ({details['dataset']}, label {details['label']}; mean over "
            f"{details['seeds']} seeds [bootstrap 95% CI])\n" + markdown_table(["predictor:features"] + [f"N={n}" for n in sizes], rows))


def write_predictors_report(out: Path, results: dict, details: dict) -> Path:
    report = Report("Learned predictors: rank correlation on unseen architectures")
    report.add_text(f"Dataset {details['dataset']} ({details['archs']} archs), label {details['label']}. "
                    f"{details['protocol']}. Command: {details['command']}", note=True)
    sizes = [int(n) for n in details["sizes"]]
    curves = {label: (sizes, [points[str(n)]["kendall_tau_mean"] for n in sizes],
                      [(points[str(n)]["ci95"][1] - points[str(n)]["ci95"][0]) / 2 for n in sizes])
              for label, points in results.items()}
    report.add_figure("kendall_tau", curves_plot(curves, "training archs", "Kendall tau (unseen archs)"),
                      "Kendall tau vs training-set size (band: half the bootstrap 95% interval)")
    report.add_table(["predictor:features"] + [f"N={n}" for n in sizes],
                     [[label] + [f"{points[str(n)]['kendall_tau_mean']:.3f} [{points[str(n)]['ci95'][0]:.3f}, "
                                 f"{points[str(n)]['ci95'][1]:.3f}] ({points[str(n)]['seconds_per_fit']:.1f} s)"
                                 for n in sizes] for label, points in results.items()])
    return report.write(out)


def latency_table(study: dict) -> str:
    columns = [(model, n) for model, points in next(iter(study["devices"].values())).items() for n in points]
    ceilings = study.get("noise_ceiling") or {}
    rows = [[device] + [f"{100 * data[m][n]['within_10pct_mean']:.1f}" for m, n in columns]
            + ([_ceiling(ceilings.get(device))] if ceilings else []) for device, data in study["devices"].items()]
    return (f"% of all {study['archs']} archs predicted within ±10% of measured latency (mean over {study['seeds']} "
            "seeds; model@N measured archs of that device; transfer: device left out; ceiling: best model fitted "
            f"on {study.get('ceiling_train')} archs, scored on the rest / model-free double-difference estimate)\n"
            + markdown_table(["device"] + [f"{m}@{n}" for m, n in columns] + (["ceiling"] if ceilings else []), rows))


def _ceiling(ceiling: dict | None) -> str:
    if not ceiling:
        return ""
    double = ceiling.get("double_difference")
    return f"{100 * ceiling['within_10pct']:.1f}" + (f" / {100 * double['implied_within_10pct']:.1f}" if double else "")
