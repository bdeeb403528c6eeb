"""Model specs: a built-in name (``resnet20``), ``package.module:Class`` or ``path/to/file.py:Class``,
constructor arguments as JSON, and weights loaded weights-only (safetensors or a ``torch.save`` state dict)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from torch import nn

from archfit.errors import ArchfitError
from archfit.io import load_tensors
from archfit.models import BUILTIN

_FORM = "a built-in name (" + ", ".join(BUILTIN) + "), package.module:Class or path/to/file.py:Class"


def resolve_class(spec: str) -> type:
    """The class named by ``spec``; one-line ``ArchfitError`` for malformed specs and missing classes."""
    spec = BUILTIN.get(spec, spec)
    target, sep, class_name = spec.rpartition(":")
    if not sep or not target or not class_name.isidentifier():
        raise ArchfitError(f"--model {spec!r} is not a model spec: expected {_FORM}")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise ArchfitError(f"--model {spec!r}: file {path} does not exist")
        name = "archfit_user_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
        module = sys.modules.get(name)
        if module is None:
            loader_spec = importlib.util.spec_from_file_location(name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise ArchfitError(f"--model {spec!r}: cannot import {path} as Python")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = module
            try:
                loader_spec.loader.exec_module(module)
            except Exception as exc:
                del sys.modules[name]
                raise ArchfitError(f"--model {spec!r}: importing {path} failed: {type(exc).__name__}: {exc}") from None
    else:
        if not all(part.isidentifier() for part in target.split(".")):
            raise ArchfitError(f"--model {spec!r} is not a model spec: expected {_FORM}")
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ArchfitError(f"--model {spec!r}: cannot import module {target!r} ({exc})") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ArchfitError(f"--model {spec!r}: module {target!r} has no attribute {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ArchfitError(f"--model {spec!r}: {class_name!r} is not an nn.Module subclass")
    return cls


def parse_model_args(text: str | None) -> dict[str, Any]:
    from archfit.io import parse_json_object

    return parse_json_object("--model-args", text, "a JSON object of constructor arguments") if text else {}


def fill_args(spec: str, args: dict[str, Any], input_shape: tuple[int, ...], num_classes: int) -> dict[str, Any]:
    """Add ``num_classes``, ``in_channels`` and ``input_shape`` from the data where the constructor takes
    them and ``args`` does not set them."""
    params = inspect.signature(resolve_class(spec).__init__).parameters
    filled = dict(args)
    for name, value in (("num_classes", num_classes), ("in_channels", input_shape[0]), ("input_shape", list(input_shape))):
        if name in params and name not in filled:
            filled[name] = value
    return filled


def build_model(spec: str, args: dict[str, Any]) -> nn.Module:
    cls = resolve_class(spec)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ArchfitError(f"--model {spec!r} with --model-args {json.dumps(args)}: {exc}") from None


def load_weights(model: nn.Module, path: Path) -> None:
    """Strictly load a weights-only file into ``model``; mismatches name the first bad key or shape."""
    state = load_tensors(path)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        what = f"missing {missing[0]!r}" if missing else f"unexpected {unexpected[0]!r}"
        raise ArchfitError(f"--weights {path} does not match the model: {what} "
                           f"({len(missing)} missing, {len(unexpected)} unexpected keys)")
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(own[key].shape):
            raise ArchfitError(f"--weights {path} does not match the model: {key!r} has shape {tuple(tensor.shape)}, "
                               f"the model expects {tuple(own[key].shape)}")
    model.load_state_dict(state, strict=True)
