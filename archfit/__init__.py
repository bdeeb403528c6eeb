"""archfit: fit deep networks to hardware budgets.

Three jobs share one core: ``search`` a space, ``slim`` any model, ``bench`` methods on ground truth.

    import archfit
    result = archfit.search(space="chain", data="digits", budget={"flops": "1M"}, trials=6, epochs=2)
    slim = archfit.slim(my_model, data="digits", budget={"flops": "50%"})
    deployed = archfit.compress(my_model, data, steps=("slim", "distill", "quantize", "export"), ...)
"""

from typing import Any

__version__ = "0.1.0"

from archfit.errors import ArchfitError
from archfit.space import Arch, Space, create_space, list_spaces, register_space

_API = ("search", "slim", "SearchResult", "SlimResult")


def __getattr__(name: str) -> Any:  # the API imports the whole job: loaded on first use, not on `import archfit`
    if name in _API:
        from archfit import api

        return getattr(api, name)
    if name == "compress":  # slim -> distil -> int8 -> export (archfit.quantize.pipeline)
        from archfit.quantize import compress

        return compress
    raise AttributeError(f"module 'archfit' has no attribute {name!r}")


__all__ = ["Arch", "ArchfitError", "SearchResult", "SlimResult", "Space", "create_space", "list_spaces",
           "compress", "register_space", "search", "slim"]
