"""``python -m fedlab``: the command line (see :mod:`fedlab.cli`)."""

import sys

from fedlab.cli import format_table, main

__all__ = ["main", "format_table"]

if __name__ == "__main__":
    sys.exit(main())
