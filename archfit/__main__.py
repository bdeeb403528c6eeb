"""``python -m archfit`` is the ``archfit`` command."""

import sys

from archfit.cli import main

sys.exit(main())
