"""Per-epoch checkpoints of a differentiable search: one safetensors file (supernet, both optimisers'
tensors, method tensors) and one JSON file (epoch, history, optimiser scalars), each written atomically;
the JSON is written last and names the tensors file's epoch, so a kill between the two is detected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from archfit.errors import ArchfitError
from archfit.io import atomic_write_json, load_tensors, read_json, save_tensors

TENSORS, META = "search_state.safetensors", "search_state.json"


def optimizer_parts(optimizer: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], dict]:
    """An optimiser's state as (tensors, JSON): tensors keyed ``prefix.param.name``."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def restore_optimizer(optimizer: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor],
                      meta: dict) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in meta["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save(folder: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    save_tensors(folder / TENSORS, {**tensors, "_epoch": torch.tensor(meta["epoch"])})
    atomic_write_json(folder / META, meta)


def load(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    """The last complete checkpoint in ``folder``, or None when there is none."""
    if not (folder / META).exists():
        return None
    meta = read_json(folder / META, "a differentiable-search checkpoint")
    tensors = load_tensors(folder / TENSORS)
    if int(tensors.pop("_epoch", torch.tensor(-1))) != meta.get("epoch"):
        raise ArchfitError(f"{folder / TENSORS} does not match {folder / META} (epoch differs); "
                           "delete both to restart the search")
    return tensors, meta
