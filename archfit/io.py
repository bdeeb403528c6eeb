"""Atomic file writes (temp file + fsync + rename) and weights-only model files (safetensors)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from archfit.errors import ArchfitError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ArchfitError(f"{path} does not exist: expected {what}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArchfitError(f"{path} is not valid JSON ({exc}): expected {what}") from None


def parse_json_object(flag: str, text: str, what: str = "a JSON object") -> dict[str, Any]:
    """JSON text that must be an object: a flag's (``--space-args``, ``--model-args``) or a stored arch.
    ``flag`` names the source in the error; texts over 80 characters are shown cut to 60, so the error
    stays one line."""
    shown = text if len(text) <= 80 else text[:60] + "..."
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArchfitError(f"{flag} {shown!r} is not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ArchfitError(f"{flag} {shown!r} must be {what}")
    return value


def save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """safetensors file, written atomically (contiguous CPU copies; shared storage is split)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        save_file({k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Weights-only: safetensors, or a torch file loaded with ``weights_only=True`` (no code runs)."""
    if not path.is_file():
        raise ArchfitError(f"weights file {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            return load_file(str(path))
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except (SafetensorError, RuntimeError, OSError, EOFError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArchfitError(f"{path} is not a readable weights file ({first[:200]})") from None
    except Exception as exc:  # pickle.UnpicklingError and friends from a hostile or foreign file
        raise ArchfitError(f"{path} is not a weights-only file ({type(exc).__name__})") from None
    if isinstance(data, dict) and "state_dict" in data and isinstance(data["state_dict"], dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ArchfitError(f"{path} does not hold a mapping of parameter names to tensors")
    return data
