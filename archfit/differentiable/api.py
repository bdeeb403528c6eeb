"""The library entry point of differentiable search (the job layer wires ``archfit search --method`` to it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from archfit.data.base import DataModule
from archfit.differentiable.loop import BilevelLoop, DiffSettings
from archfit.differentiable.method import Method, create_method, method_class
from archfit.errors import ArchfitError
from archfit.io import atomic_write_bytes, atomic_write_json
from archfit.space.base import Arch, Space


@dataclass(frozen=True)
class DiffOutcome:
    """The derived ``arch`` (canonical, valid, of the searched space) and how the search got there."""

    arch: Arch
    alpha_history: list[list[list[float]]]  # per epoch, (edges, ops) scores the method derives from
    wall_s: float  # search + derivation seconds (summed over resumed runs)
    extras: dict[str, Any] = field(default_factory=dict)


def searched_spaces(method: str) -> tuple[str, ...]:
    """The spaces a differentiable method searches: ``chain`` for ProxylessNAS, the NB201 and DARTS cell
    spaces for the rest."""
    return method_class(method).spaces


def build_supernet(space: Space, method: Method) -> torch.nn.Module:
    """The supernet of ``space``: mixed NB201 or DARTS cells, or (for ``proxyless``) mixed ``chain`` blocks."""
    from archfit.space.chain import ChainSpace
    from archfit.space.darts import DartsSpace
    from archfit.space.nb201 import Nb201Space

    if isinstance(space, Nb201Space) and "nb201" in method.spaces:
        from archfit.differentiable.supernet import Nb201Supernet

        return Nb201Supernet(space, method.partial)
    if isinstance(space, DartsSpace) and "darts" in method.spaces:
        from archfit.differentiable.darts_supernet import DartsSupernet

        return DartsSupernet(space, method.partial)
    if isinstance(space, ChainSpace) and "chain" in method.spaces:
        from archfit.differentiable.chain_supernet import ChainSupernet

        return ChainSupernet(space, method.width)
    raise ArchfitError(f"differentiable method {method.name!r} does not search space {space.name!r}; expected "
                       f"one of {list(searched_spaces(method.name))}")


def differentiable_search(space: Space, data: DataModule, method: str, settings: DiffSettings | None = None,
                          out: Path | None = None, resume: bool = False,
                          progress: Callable[[dict[str, Any]], None] | None = None) -> DiffOutcome:
    """Search ``space`` on ``data`` with ``method``; with ``out``, checkpoint per epoch there (``resume``
    continues from the last one) and write ``differentiable.json``, ``alpha.png`` and ``cell.png``."""
    settings = settings or DiffSettings()
    if tuple(data.input_shape) != tuple(space.input_shape):
        raise ArchfitError(f"data input shape {data.input_shape} differs from space {space.name!r} input "
                           f"shape {space.input_shape}")
    searcher = create_method(method, **settings.method_params)
    torch.manual_seed(settings.seed)
    supernet = build_supernet(space, searcher)
    loop = BilevelLoop(supernet, searcher, data, settings, Path(out) if out is not None else None, progress)
    ops = loop.run(resume)
    to_arch = getattr(supernet, "to_arch", None)
    arch = to_arch(ops) if to_arch else space.validate(Arch(dict(zip(supernet.edge_names, ops))))
    extras = {"method": method, "edges": list(supernet.edge_names), "ops": list(supernet.ops),
              "derived_ops": ops, "repaired_edges": getattr(loop, "repaired", 0), "epoch_losses": loop.losses,
              "supernet_valid_acc": loop.supernet_accuracy(), "settings": settings.__dict__,
              **searcher.extras()}
    if hasattr(space, "format"):
        extras["arch_string"] = space.format(arch)
    outcome = DiffOutcome(arch, loop.history, loop.wall_s, extras)
    if out is not None:
        write_outputs(Path(out), outcome, supernet)
    return outcome


def write_outputs(out: Path, outcome: DiffOutcome, supernet: torch.nn.Module) -> None:
    from archfit.differentiable import plots

    atomic_write_json(out / "differentiable.json", {"arch": dict(outcome.arch), "wall_s": outcome.wall_s,
                                                    "alpha_history": outcome.alpha_history, **outcome.extras})
    if outcome.alpha_history:
        atomic_write_bytes(out / "alpha.png", plots.alpha_plot(outcome.alpha_history, list(supernet.edge_names),
                                                               list(supernet.ops)))
    if hasattr(supernet, "edges"):  # a cell space: draw the derived cell (DARTS: cell.png normal, cell_reduce.png)
        groups = getattr(supernet, "cell_groups", {"cell": slice(None)})
        for k, (name, rows) in enumerate(groups.items()):
            atomic_write_bytes(out / ("cell.png" if k == 0 else f"cell_{name}.png"),
                               plots.cell_plot(supernet.edges[rows], outcome.extras["derived_ops"][rows]))
