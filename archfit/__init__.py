"""archfit: fit deep networks to hardware budgets.

Three jobs share one core: ``search`` a space, ``slim`` any model, ``bench`` methods on ground truth.
"""

from archfit.errors import ArchfitError
from archfit.space import Arch, Space, create_space, list_spaces, register_space

__all__ = ["Arch", "ArchfitError", "Space", "create_space", "list_spaces", "register_space"]
__version__ = "0.1.0"
