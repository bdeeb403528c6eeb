"""The data flags every command that reads data shares: ``--data``, ``--image-size``, ``--train-subset``."""

from __future__ import annotations

from archfit.data import MAX_IMAGE_SIZE
from archfit.errors import ArchfitError


def add_data_args(parser, default: str | None, defaults_none: bool = False) -> None:
    """Add the three flags. ``defaults_none``: leave every default None (``archfit search`` fills them from its
    settings or from a resumed run's store)."""
    parser.add_argument("--data", default=None if defaults_none else default,
                        help=f"digits | mnist1d | fashion-mnist | mnist | folder of IDX files, CIFAR-10 python "
                             f"batches or images (default {default})")
    parser.add_argument("--image-size", type=int, default=None,
                        help="resize images to this side in pixels (default: native size for IDX and CIFAR, "
                             "32 for image folders)")
    parser.add_argument("--train-subset", type=int, default=None, metavar="N",
                        help="keep a seeded, class-balanced subset of N training samples (valid/test untouched)")


def check_data_args(image_size: int | None, train_subset: int | None) -> None:
    """Values checkable before any data is read (load_data checks the subset against the data's size)."""
    if image_size is not None and not 4 <= image_size <= MAX_IMAGE_SIZE:
        raise ArchfitError(f"--image-size {image_size} must be between 4 and {MAX_IMAGE_SIZE} pixels")
    if train_subset is not None and train_subset < 10:
        raise ArchfitError(f"--train-subset {train_subset} must be >= 10 training samples")
