"""From a width configuration to a physically smaller model, and back from disk.

``extract`` prunes, with Torch-Pruning, every channel a width configuration drops (the lowest-ranked
ones), so the small model inherits the trained weights and computes exactly what the masked supernet
computed. On disk a slimmed model is its out-channel counts (``slim.json``) plus safetensors weights:
``load_slimmed`` rebuilds the original model from its definition, shrinks each group to the recorded
count with Torch-Pruning, and loads the weights strictly — no pickled code.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from archfit.compress.groups import build_graph
from archfit.errors import ArchfitError
from archfit.io import atomic_write_json, load_tensors, read_json, save_tensors

if TYPE_CHECKING:
    from archfit.space.model_width import ModelWidthSpace

SLIM_FILE, WEIGHTS_FILE, CHECK_FILE = "slim.json", "model.safetensors", "check.safetensors"
_ROOTS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def extract(model: nn.Module, space: ModelWidthSpace, widths: Mapping[str, int]) -> nn.Module:
    """A pruned deep copy of ``model`` (the space's model or a copy of it, e.g. a trained width supernet)
    keeping ``space.group(name).kept(width)`` channels of each group (missing groups: full width)."""
    small = copy.deepcopy(model)
    graph = build_graph(small, space.input_shape)
    modules = dict(small.named_modules())
    for group in space.groups:
        width = widths.get(group.name, group.channels)
        if width == group.channels:
            continue
        kept = set(group.kept(width))
        drop = [c for c in range(group.channels) if c not in kept]
        root = modules[group.name]
        graph.get_pruning_group(root, graph.get_pruner_of_module(root).prune_out_channels, drop).prune()
    return small


def out_channels(model: nn.Module) -> dict[str, int]:
    """Out-channels (out-features) of every Conv/Linear layer: the architecture of a slimmed model."""
    return {name: int(m.out_channels if hasattr(m, "out_channels") else m.out_features)
            for name, m in model.named_modules() if isinstance(m, _ROOTS)}


def shrink_to(model: nn.Module, input_shape: tuple[int, ...], counts: dict[str, int]) -> nn.Module:
    """Prune ``model`` in place so each Conv/Linear has ``counts[name]`` outputs (trailing channels go;
    the weights are meant to be overwritten by a saved state dict)."""
    graph = build_graph(model, input_shape)
    names = {module: name for name, module in model.named_modules()}
    roots = [group[0].dep.target.module for group in graph.get_all_groups(root_module_types=_ROOTS)]
    for root in roots:
        name = names[root]
        have = graph.get_out_channels(root)
        want = counts.get(name, have)
        if not 0 < want <= have:
            raise ArchfitError(f"slimmed width {want} of {name!r} is not in 1..{have}")
        if want < have:
            graph.get_pruning_group(root, graph.get_pruner_of_module(root).prune_out_channels,
                                    list(range(want, have))).prune()
    got = out_channels(model)
    wrong = sorted(n for n, c in counts.items() if got.get(n) != c)
    if wrong:
        raise ArchfitError(f"cannot rebuild the slimmed model: layer {wrong[0]!r} has {got.get(wrong[0])} "
                           f"outputs, the saved configuration says {counts[wrong[0]]}")
    return model


def save_slimmed(folder: Path, model: nn.Module, input_shape: tuple[int, ...], record: dict[str, Any],
                 seed: int = 0) -> None:
    """Weights, check tensors, then ``slim.json`` last (its presence marks a complete save)."""
    generator = torch.Generator().manual_seed(seed)
    example = torch.randn(4, *input_shape, generator=generator)
    model.eval()
    with torch.no_grad():
        logits = model(example)
    save_tensors(folder / WEIGHTS_FILE, model.state_dict())
    save_tensors(folder / CHECK_FILE, {"input": example, "logits": logits})
    atomic_write_json(folder / SLIM_FILE, {**record, "input_shape": list(input_shape),
                                           "out_channels": out_channels(model)})


def load_slimmed(folder: Path, tolerance: float = 1e-4) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model saved by ``save_slimmed`` and check its output on the saved check input.

    The returned record is ``slim.json`` plus ``check_diff``: the max |logit difference| on the check input."""
    from archfit.compress.spec import build_model

    record = read_json(folder / SLIM_FILE, "an archfit slim file with 'model' and 'out_channels'")
    if not isinstance(record, dict) or not {"model", "out_channels", "input_shape"} <= set(record):
        raise ArchfitError(f"{folder / SLIM_FILE} lacks 'model', 'out_channels' or 'input_shape'")
    input_shape = tuple(record["input_shape"])
    model = build_model(record["model"], record.get("model_args", {}))
    shrink_to(model, input_shape, record["out_channels"])
    state = load_tensors(folder / WEIGHTS_FILE)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = str(exc).splitlines()
        raise ArchfitError(f"{folder / WEIGHTS_FILE} does not match the slimmed model: "
                           f"{(lines[1] if len(lines) > 1 else lines[0]).strip()[:300]}") from None
    model.eval()
    check = load_tensors(folder / CHECK_FILE)
    with torch.no_grad():
        diff = float((model(check["input"]) - check["logits"]).abs().max())
    if not diff <= tolerance:
        raise ArchfitError(f"rebuilt slimmed model differs from the saved one: max |diff| {diff:.3g} > {tolerance}")
    return model, {**record, "check_diff": diff}
