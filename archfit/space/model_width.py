"""The width choices of any PyTorch model as a ``Space``: what ``archfit slim`` searches.

One choice per channel group that Torch-Pruning's dependency graph finds (channels that must change
together: residual adds, concatenations, grouped convs, squeeze-excitation gates); its values are the
kept channel counts, ascending, the last being the full width. ``build(arch)`` is the physically
narrower model with the original's weights (``compress.extract``): the channels kept are the group's
top-ranked ones by L1 magnitude. ``exact_cost`` gives its FLOPs and parameters without building it.

Because it is a ``Space``, the core's strategies (``strategy/``), cost model (``cost/model.py``) and
sampling rules (``supernet/sampler*.py``) run over it unchanged. ``check`` proves the space sound
before anything is trained: every group, narrowed, must still run and compute what its channel masks
compute — models whose channels are sliced or indexed along the way fail it and are refused, naming
the layers involved.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from archfit.compress.costs import ExactCounts
from archfit.compress.groups import DEFAULT_RATIOS, LeftOut, WidthGroup, find_groups
from archfit.errors import ArchfitError
from archfit.space.base import Arch, Space


class ModelWidthSpace(Space):
    """Per-group kept channels of ``model`` (held, never modified). Make one with ``width_space``."""

    name = "model_width"

    def __init__(self, model: nn.Module, input_shape: tuple[int, ...], groups: list[WidthGroup],
                 left_out: list[LeftOut], kept_layers: list[str], settings: dict[str, Any]) -> None:
        self.model, self._input_shape = model, tuple(input_shape)
        self.groups, self.left_out, self.kept_layers = groups, left_out, kept_layers
        self.settings = settings
        self._counts: ExactCounts | None = None

    # -- Space ---------------------------------------------------------------------------------------
    @property
    def choices(self) -> dict[str, tuple[int, ...]]:
        return {g.name: g.choices for g in self.groups}

    def params(self) -> dict[str, Any]:
        """The discovery settings (the model itself is an object, so the registry cannot rebuild this space)."""
        return {"input_shape": list(self._input_shape), **self.settings}

    def build(self, arch: Mapping[str, int]) -> nn.Module:
        """The narrower model: a pruned copy of ``model`` with its weights (not re-initialised)."""
        from archfit.compress.extract import extract

        return extract(self.model, self, arch)

    def smallest(self) -> Arch:
        return Arch({g.name: g.choices[0] for g in self.groups})

    def largest(self) -> Arch:
        return Arch({g.name: g.channels for g in self.groups})

    # -- widths --------------------------------------------------------------------------------------
    def group(self, name: str) -> WidthGroup:
        for group in self.groups:
            if group.name == name:
                return group
        raise ArchfitError(f"no searchable channel group {name!r}; groups are {[g.name for g in self.groups]}")

    def uniform(self, ratio: float) -> Arch:
        """Each group at the largest choice <= ``ratio`` x its channels (the smallest if none is)."""
        return Arch({g.name: max([c for c in g.choices if c <= ratio * g.channels + 1e-9] or [g.choices[0]])
                     for g in self.groups})

    def exact_cost(self, arch: Mapping[str, int]) -> tuple[int, int]:
        """(FLOPs, parameters) of ``build(arch)``, computed without building it: 2 x MACs at batch 1."""
        if self._counts is None:
            self._counts = ExactCounts(self.model, self.groups, self._input_shape)
        return self._counts.flops(arch), self._counts.params(arch)

    def describe(self) -> list[str]:
        lines = [f"{len(self.groups)} searchable channel groups, {len(self.left_out)} kept at full width"]
        for g in self.groups:
            lines.append(f"  {g.name}: {g.channels} channels, widths {list(g.choices)} (modules: {', '.join(g.members)})")
        for lo in self.left_out:
            lines.append(f"  kept {lo.name} ({lo.channels} channels): {lo.reason}")
        return lines

    # -- soundness -----------------------------------------------------------------------------------
    def check(self, tolerance: float = 1e-4) -> None:
        """Refuse, in one line naming the layers, a space whose narrowed models break or compute something
        other than the channel-masked model (the width supernet) does.

        Why: Torch-Pruning follows convs, norms, adds, concatenations and splits, but a forward pass that
        slices or indexes channels (``x[:, :k]``, sparse dense connections) is invisible to it; pruning
        such a group crashes or silently changes the function. One narrowed forward pass finds that in
        well under a second, before minutes of training. All groups are narrowed at once first; only if
        that fails is each group tried alone, to name the culprits.
        """
        if not self.groups:
            return
        x = torch.randn(2, *self._input_shape, generator=torch.Generator().manual_seed(0))
        if self._problem(self.smallest(), x, tolerance) is None:
            return
        bad = []
        for group in self.groups:
            problem = self._problem({group.name: group.choices[0]}, x, tolerance)
            if problem is not None:
                bad.append((group, problem))
        if not bad:
            bad = [(self.groups[0], self._problem(self.smallest(), x, tolerance))]
        group, problem = bad[0]
        layers = sorted({group.name, *group.members, *(i.module for i in group.items)})
        more = f" (and {len(bad) - 1} more group(s): {', '.join(g.name for g, _ in bad[1:4])})" if len(bad) > 1 else ""
        raise ArchfitError(f"cannot slim this model's channel coupling: narrowing group {group.name!r} "
                           f"(layers {', '.join(layers[:8])}{', ...' if len(layers) > 8 else ''}) {problem}{more}; "
                           f"channels sliced or indexed in forward are not followed by Torch-Pruning — keep "
                           f"these channels with --ignore {group.name}")

    def _problem(self, widths: Mapping[str, int], x: torch.Tensor, tolerance: float) -> str | None:
        from archfit.compress.width_supernet import ChannelGate

        masked_model = copy.deepcopy(self.model).eval()
        gate = ChannelGate(masked_model, self)
        full = {g.name: g.channels for g in self.groups}
        try:
            gate.set_widths({**full, **widths})
            with torch.no_grad():
                try:
                    masked = masked_model(x)
                except Exception as exc:  # noqa: BLE001 - any failure is the user's model's, named in one line
                    return f"breaks the masked forward pass ({_first_line(exc)})"
            try:
                small = self.build(widths).eval()
                with torch.no_grad():
                    narrow = small(x)
            except Exception as exc:  # noqa: BLE001
                return f"breaks the forward pass ({_first_line(exc)})"
        finally:
            gate.remove()
        if narrow.shape != masked.shape:
            return f"changes the output shape {tuple(masked.shape)} -> {tuple(narrow.shape)}"
        diff = float((narrow - masked).abs().max())
        if not diff <= tolerance * (1 + float(masked.abs().max())):
            return f"changes what the model computes (max |output difference| {diff:.3g})"
        return None


def width_space(model: nn.Module, input_shape: tuple[int, ...], ratios: tuple[float, ...] = DEFAULT_RATIOS,
                round_to: int = 1, ignore: tuple[str, ...] = (), keep_classifier: bool = True) -> ModelWidthSpace:
    """The width space of ``model``: its channel groups (ranked by the current weights' L1 magnitude) and
    the groups left at full width, with reasons."""
    groups, left_out, kept = find_groups(model, input_shape, ratios, round_to, ignore, keep_classifier)
    settings = {"ratios": list(ratios), "round_to": round_to, "ignore": list(ignore), "keep_classifier": keep_classifier}
    return ModelWidthSpace(model, tuple(input_shape), groups, left_out, kept, settings)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160]}" if text else type(exc).__name__
