"""``archfit spaces``: the registered search spaces, their size and choices."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("spaces", help="list search spaces")
    p.set_defaults(run=run)


def run(args) -> int:
    from archfit.space import create_space, list_spaces

    for name in list_spaces():
        space = create_space(name)
        doc = (type(space).__doc__ or "").strip().splitlines()[0]
        print(f"{name:8s} {space.size():>22,d} architectures  {len(space.choices)} choices  {doc}")
    return 0
