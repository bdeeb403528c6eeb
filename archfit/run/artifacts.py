"""The chosen model on disk without pickled code: ``arch.json`` (space spec + arch) + safetensors weights,
plus a check input and its logits so ``archfit export`` can prove a rebuild is exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from archfit.errors import ArchfitError
from archfit.io import atomic_write_json, load_tensors, read_json, save_tensors
from archfit.space import space_from_spec
from archfit.space.base import Arch, Space

ARCH_FILE, WEIGHTS_FILE, CHECK_FILE = "arch.json", "model.safetensors", "check.safetensors"


def save_model(folder: Path, space: Space, arch: Arch, model: nn.Module, extra: dict[str, Any] | None = None,
               seed: int = 0) -> None:
    """Write weights, the check tensors, then ``arch.json`` last (its presence marks a complete save)."""
    generator = torch.Generator().manual_seed(seed)
    example = torch.randn(4, *space.input_shape, generator=generator)
    model.eval()
    with torch.no_grad():
        logits = model(example)
    save_tensors(folder / WEIGHTS_FILE, model.state_dict())
    save_tensors(folder / CHECK_FILE, {"input": example, "logits": logits})
    atomic_write_json(folder / ARCH_FILE, {"space": space.spec(), "arch": dict(arch), "key": arch.key, **(extra or {})})


def load_model(folder: Path) -> tuple[Space, Arch, nn.Module]:
    """Rebuild the model from ``arch.json`` and load its weights strictly (weights-only)."""
    if not folder.is_dir():
        raise ArchfitError(f"{folder} is not a folder: expected an archfit run folder with {ARCH_FILE}")
    spec = read_json(folder / ARCH_FILE, "an archfit arch file with 'space' and 'arch'")
    if not isinstance(spec, dict) or "space" not in spec or "arch" not in spec:
        raise ArchfitError(f"{folder / ARCH_FILE} lacks 'space' and 'arch': not an archfit arch file")
    space = space_from_spec(spec["space"])
    arch = space.validate(spec["arch"])
    model = space.build(arch)
    state = load_tensors(folder / WEIGHTS_FILE)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ArchfitError(f"{folder / WEIGHTS_FILE} does not match the architecture in {ARCH_FILE}: "
                           f"{str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else exc}") from None
    return space, arch, model.eval()


def verify_model(folder: Path, model: nn.Module, tolerance: float = 1e-5) -> float:
    """Max absolute difference between the rebuilt model's logits and the saved ones; raises above tolerance."""
    check = load_tensors(folder / CHECK_FILE)
    if set(check) != {"input", "logits"}:
        raise ArchfitError(f"{folder / CHECK_FILE} holds {sorted(check)[:4]}, expected the tensors 'input' and 'logits'")
    try:
        with torch.no_grad():
            output = model(check["input"].float())
    except RuntimeError as exc:
        raise ArchfitError(f"{folder / CHECK_FILE}: its input {tuple(check['input'].shape)} does not fit the model "
                           f"({str(exc).strip().splitlines()[0][:120]})") from None
    if output.shape != check["logits"].shape:
        raise ArchfitError(f"{folder / CHECK_FILE}: saved logits {tuple(check['logits'].shape)}, the model gives "
                           f"{tuple(output.shape)}")
    diff = float((output - check["logits"]).abs().max())
    if not diff <= tolerance:
        raise ArchfitError(f"rebuilt model differs from the saved one: max |diff| {diff:.3g} > {tolerance}")
    return diff
