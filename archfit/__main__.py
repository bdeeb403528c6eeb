"""``python -m archfit`` is the ``archfit`` command."""

import sys

if __name__ == "__main__":  # an entry point: the only place outside cli/ that imports the CLI
    from archfit.cli import main

    sys.exit(main())
