"""The ``archfit`` command. Each sub-command lives in its own module with ``add_parser`` and ``run``.

Errors a user can cause print one line ``archfit: error: …`` and exit with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from archfit.errors import ArchfitError

COMMANDS = ("search", "spaces", "export", "bench", "rank_check", "slim", "compress")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="archfit", description="Fit deep networks to hardware budgets.")
    parser.add_argument("--version", action="version", version=f"archfit {importlib.import_module('archfit').__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"archfit.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"archfit.cli.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except ArchfitError as exc:
        print(f"archfit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("archfit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
