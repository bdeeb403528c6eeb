"""Read NASLib's precomputed zero-cost proxy files (NAS-Bench-Suite-Zero, Krishnakumar et al., NeurIPS
2022): ``{"cifar10": {ARCH: {"val_accuracy": %, "<proxy>": {"score": s, "time": seconds}, ...}}}``.

Returns the archs, their validation accuracy (%) and a ``FeatureTable`` of the proxy scores (12
columns: flops, params and ten zero-cost proxies) after a signed log; a missing or non-finite score is
replaced by its column's median (NAS-Bench-201's file lacks one synflow score and has one non-finite
value). ``ARCH`` is a tuple string of op indices per edge (NAS-Bench-201) or NASLib's compact DARTS
form (``archfit.predict.darts_compact``).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archfit.errors import ArchfitError
from archfit.io import read_json
from archfit.predict.encoding import FeatureTable, signed_log
from archfit.space.base import Arch

PROXIES = ("flops", "params", "synflow", "grasp", "fisher", "grad_norm", "l2_norm", "plain", "snip", "jacov",
           "nwot", "epe_nas")
NASLIB_NB201_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_NB201_EDGES = ("n1.in0", "n2.in0", "n3.in0", "n2.in1", "n3.in1", "n3.in2")  # (1,2),(1,3),(1,4),(2,3),(2,4),(3,4)


@dataclass
class NaslibData:
    keys: list[str]  # the file's ARCH strings
    archs: list[Any]  # Arch (nb201) or compact genotype tuples (darts)
    accuracy: np.ndarray  # val_accuracy, %
    table: FeatureTable  # keyed like the encoder's ``key`` of each arch
    imputed: int  # scores replaced by the column median


def nb201_arch(text: str) -> Arch:
    """``"(0, 2, 3, 2, 3, 1)"`` (NASLib op indices per edge) → nb201 ``Arch``."""
    try:
        ops = ast.literal_eval(text)
        if len(ops) != 6:
            raise ValueError
        return Arch({name: NASLIB_NB201_OPS[int(i)] for name, i in zip(NASLIB_NB201_EDGES, ops)})
    except (ValueError, SyntaxError, TypeError, IndexError):
        raise ArchfitError(f"NASLib NAS-Bench-201 arch {text!r} must be 6 op indices 0-4 like '(0, 2, 3, 2, 3, 1)'") from None


def read_naslib(path: str | Path, space: str, dataset: str = "cifar10") -> NaslibData:
    """``space`` is ``"nb201"`` or ``"darts"``; every defect is one ``ArchfitError`` naming the file."""
    from archfit.predict.darts_compact import compact_key, parse_compact

    if space not in ("nb201", "darts"):
        raise ArchfitError(f"NASLib file space {space!r} must be 'nb201' or 'darts'")
    data = read_json(Path(path), "NASLib zero-cost file")
    entries = data.get(dataset) if isinstance(data, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ArchfitError(f"{path}: expected {{{dataset!r}: {{ARCH: {{...}}}}}} with at least one architecture")
    keys, archs, accuracy, rows = [], [], [], []
    for text, entry in entries.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("val_accuracy"), (int, float)):
            raise ArchfitError(f"{path}: arch {text!r} has no numeric 'val_accuracy'")
        arch = nb201_arch(text) if space == "nb201" else parse_compact(text)
        keys.append(text)
        archs.append(arch)
        accuracy.append(float(entry["val_accuracy"]))
        rows.append([_score(entry.get(name)) for name in PROXIES])
    x = np.array(rows, dtype=np.float64)
    missing = ~np.isfinite(x)
    if missing.all(axis=0).any():
        raise ArchfitError(f"{path}: proxy {PROXIES[int(missing.all(axis=0).argmax())]!r} has no finite score")
    x = np.where(missing, np.nanmedian(np.where(missing, np.nan, x), axis=0), x)
    x = signed_log(x)
    key = (lambda a: a.key) if space == "nb201" else compact_key
    table = FeatureTable(list(PROXIES), {key(a): row for a, row in zip(archs, x)})
    return NaslibData(keys, archs, np.array(accuracy), table, int(missing.sum()))


def _score(value: Any) -> float:
    score = value.get("score") if isinstance(value, dict) else None
    return float(score) if isinstance(score, (int, float)) and math.isfinite(score) else float("nan")
