"""Zero-cost proxies scored on NAS-Bench-201 architectures, cached per (arch, proxy) so a study resumes.

Which archs: a seeded sample of a NAS-Bench-201 table's rows, or the 725 archs of NASLib's
``zc_nasbench201.json`` (NAS-Bench-Suite-Zero), whose own precomputed scores can be read instead of
computing ours. Each arch's network is built by the ``nb201`` space at a small, stated setting
(``ScoreSetting``: channels, cells per stage, input size) with the same initialisation seed for every
arch, and scored on one fixed minibatch. The cache is a JSON file keyed by the setting: a cache made
at another setting is refused rather than mixed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from archfit.errors import ArchfitError
from archfit.estimate.tabular import parse_row, table_rows
from archfit.io import atomic_write_json, read_json
from archfit.proxies import Batch, create_proxy, data_batch, random_batch, score
from archfit.space import create_space

# NASLib's NAS-Bench-201 encoding: op indices into this list, edges (1,2),(1,3),(1,4),(2,3),(2,4),(3,4) of
# nodes 1..4, i.e. (to, from) = (1,0),(2,0),(3,0),(2,1),(3,1),(3,2) in the arch string's 0-based nodes.
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_EDGES = ((1, 0), (2, 0), (3, 0), (2, 1), (3, 1), (3, 2))
# NASLib's proxy names → ours (the rest keep their names; l2_norm, plain and epe_nas have no file here).
NASLIB_NAMES = {"nwot": "naswot"}
# Published (Kendall tau, Spearman rho) on NAS-Bench-201 CIFAR-10, VKDNW (CVPR 2025) re-run.
PUBLISHED = {"flops": (0.623, 0.799), "synflow": (0.561, 0.758), "jacov": (0.616, 0.800),
             "naswot": (0.571, 0.762), "zico": (0.607, 0.802), "AZ-NAS": (0.712, 0.892), "VKDNW": (0.750, 0.919)}


def naslib_arch_string(key: str) -> str:
    """NASLib's ``"(0, 2, 3, 2, 3, 1)"`` → the NAS-Bench-201 arch string."""
    try:
        ops = [NASLIB_OPS[int(v)] for v in key.strip("()").split(",")]
    except (ValueError, IndexError):
        ops = []
    if len(ops) != len(NASLIB_EDGES):
        raise ArchfitError(f"NASLib arch {key!r} must be 6 op indices 0-4 like '(0, 2, 3, 2, 3, 1)'")
    edge = dict(zip(NASLIB_EDGES, ops))
    return "+".join("|" + "|".join(f"{edge[(to, src)]}~{src}" for src in range(to)) + "|" for to in (1, 2, 3))


def read_naslib(path: Path, dataset: str = "cifar10") -> dict[str, dict[str, float]]:
    """``{arch string: {proxy: score, ..., "val_accuracy": %}}`` from a NASLib zero-cost JSON; proxy
    names mapped to ours (``nwot`` → ``naswot``); an arch missing a proxy simply lacks that key."""
    data = read_json(Path(path), "NASLib zero-cost scores {dataset: {arch: {proxy: {score, time}}}}")
    if not isinstance(data, dict) or not isinstance(data.get(dataset), dict):
        raise ArchfitError(f"{path}: no {dataset!r} object at the top level; expected NASLib's zc JSON layout")
    out: dict[str, dict[str, float]] = {}
    for key, entry in data[dataset].items():
        row = {NASLIB_NAMES.get(k, k): float(v["score"]) for k, v in entry.items() if isinstance(v, dict)}
        if "val_accuracy" in entry:
            row["val_accuracy"] = float(entry["val_accuracy"])
        out[naslib_arch_string(key)] = row
    if len(out) < 3:
        raise ArchfitError(f"{path}: {len(out)} archs under {dataset!r}; rank correlations need at least 3")
    return out


def read_truth(table: Path, column: str) -> dict[str, float]:
    """``{arch string: value}`` of a NAS-Bench-201-style table (every string checked by the space)."""
    space = create_space("nb201")
    truth = {}
    for line, text, value in table_rows(table, column):
        truth[space.format(parse_row(space, table, line, text))] = value
    if len(truth) < 3:
        raise ArchfitError(f"--table {table} has {len(truth)} rows; rank correlations need at least 3")
    return truth


def sample_archs(archs: Sequence[str], sample: int | None, seed: int) -> list[str]:
    """A seeded random order of ``archs`` (the first ``sample`` of it): a partial run is a uniform sample."""
    order = np.random.default_rng(seed).permutation(len(archs))
    picks = [archs[i] for i in order]
    return picks if sample is None else picks[:sample]


@dataclass(frozen=True)
class ScoreSetting:
    """How each arch is scored: the network (nb201 with ``channels`` in the first stage, ``cells`` per
    stage, ``image_size``² inputs), the minibatch (``data``: ``"random"`` or a ``load_data`` name, ``batch``
    examples) and the seed of both the batch and every network's initialisation."""

    channels: int = 8
    cells: int = 1
    image_size: int = 16
    batch: int = 16
    data: str = "random"
    seed: int = 0

    def make_batch(self) -> Batch:
        if self.data == "random":
            return random_batch((3, self.image_size, self.image_size), 10, self.batch, self.seed)
        from archfit.data import load_data

        module = load_data(self.data, image_size=self.image_size)
        return data_batch(module.train.x, module.train.y, module.num_classes, self.batch, self.seed,
                          source=f"{self.data} train split at {self.image_size}x{self.image_size}")


class ScoreCache:
    """``{arch: {proxy: score}}`` and seconds, in a JSON file written atomically every ``every`` archs."""

    def __init__(self, path: Path | None, setting: ScoreSetting, every: int = 5) -> None:
        self.path, self.setting, self.every = path, setting, every
        self.scores: dict[str, dict[str, float]] = {}
        self.seconds: dict[str, dict[str, float]] = {}
        if path is not None and Path(path).exists():
            data = read_json(Path(path), "a proxy score cache")
            if data.get("setting") != asdict(setting):
                raise ArchfitError(f"--cache {path} was made with setting {data.get('setting')}; this run uses "
                                   f"{asdict(setting)} (use another --cache file)")
            self.scores, self.seconds = data["scores"], data["seconds"]
        self._dirty = 0

    def put(self, arch: str, proxy: str, value: float, seconds: float) -> None:
        self.scores.setdefault(arch, {})[proxy] = value
        self.seconds.setdefault(arch, {})[proxy] = seconds

    def arch_done(self) -> None:
        self._dirty += 1
        if self._dirty >= self.every:
            self.flush()

    def flush(self) -> None:
        if self.path is not None and self._dirty:
            atomic_write_json(Path(self.path), {"setting": asdict(self.setting), "scores": self.scores,
                                                "seconds": self.seconds})
        self._dirty = 0


def compute_scores(archs: Sequence[str], proxies: Sequence[str], setting: ScoreSetting, cache: ScoreCache,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, list[float]]:
    """Every proxy for every arch (cached ones are not recomputed), single-threaded; returns
    ``{proxy: [score per arch, in ``archs`` order]}``."""
    for name in proxies:
        create_proxy(name)  # unknown names fail before any work
    batch = setting.make_batch()
    space = create_space("nb201", input_shape=tuple(batch.input_shape), num_classes=batch.num_classes,
                         channels=setting.channels, cells=setting.cells)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for done, arch in enumerate(archs, start=1):
            missing = [p for p in proxies if p not in cache.scores.get(arch, {})]
            if missing:
                torch.manual_seed(setting.seed)
                model = space.build(space.parse(arch))
                for name in missing:
                    start = time.process_time()
                    cache.put(arch, name, score(name, model, batch, setting.seed), time.process_time() - start)
                cache.arch_done()
            if progress:
                progress(done, len(archs))
    finally:
        torch.set_num_threads(threads)
        cache.flush()
    return {p: [cache.scores[a][p] for a in archs] for p in proxies}

