"""Human quantities (``5M``, ``0.3G``, ``12k``) to numbers and back."""

from __future__ import annotations

import math
import re

from archfit.errors import ArchfitError

_SUFFIX = {"": 1.0, "k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "g": 1e9, "G": 1e9, "t": 1e12, "T": 1e12}
_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([kKmMgGtT]?)\s*$")


def parse_quantity(text: str | float, what: str = "quantity") -> float:
    """Parse ``'5M'`` → 5e6. Suffixes are decimal (k=1e3, M=1e6, G=1e9, T=1e12); must be > 0."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = _PATTERN.match(str(text))
        if not match:
            raise ArchfitError(f"{what} {text!r} is not a number with an optional k/M/G/T suffix (e.g. 5M, 0.3G)")
        value = float(match.group(1)) * _SUFFIX[match.group(2)]
    if not (value > 0 and math.isfinite(value)):
        raise ArchfitError(f"{what} {text!r} must be a positive finite number")
    return value


def format_quantity(value: float, digits: int = 3) -> str:
    """Format 5_300_000 → ``'5.3M'`` (decimal suffixes)."""
    for suffix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g}{suffix}"
    return f"{value:.{digits}g}"


_BYTES = {"": 1.0, "b": 1.0, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1024.0, "mib": 1024.0**2, "gib": 1024.0**3}
_BYTES_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")


def parse_bytes(text: str | float, what: str = "size") -> float:
    """Parse ``'200KB'`` → 200000.0 bytes. B, KB, MB, GB are decimal (1 KB = 1000 B); KiB, MiB, GiB binary;
    case-insensitive; a bare number is bytes. Must be > 0."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return parse_quantity(text, what)
    match = _BYTES_PATTERN.match(str(text))
    if not match or match.group(2).lower() not in _BYTES:
        raise ArchfitError(f"{what} {text!r} is not a size like 200KB, 1.5MB or 512KiB (B, KB, MB, GB; KiB, MiB, GiB)")
    return parse_quantity(float(match.group(1)) * _BYTES[match.group(2).lower()], what)


def format_bytes(value: float) -> str:
    """Format 200_000 → ``'200kB'`` (decimal)."""
    return f"{format_quantity(value)}B"
