"""The command line: ``python -m fedlab COMMAND ...`` (``--help`` lists the commands).

Every command follows the same rules, kept in one place here: bad input is one line on
standard error naming the option or file and the problem, with exit status 2 (never a
traceback); outputs are checked before any long work; no existing file is replaced
unless ``--force``, an input is never overwritten, and each file is written whole
through a temporary file (see :mod:`fedlab._files`). A new command adds a sub-parser
and a handler (in :mod:`fedlab.cli.training` or :mod:`fedlab.cli.commands`); a handler
raises ``ValueError`` or ``OSError`` for bad input.
"""

from __future__ import annotations

import argparse
import csv
import sys

from fedlab.cli import commands, training
from fedlab.cli.options import FILE_RULE
from fedlab.cli.report import format_table

__all__ = ["main", "format_table"]


def main(argv=None):
    """Run the command line; returns the exit status (0 on success, 2 on bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error already reported in one line
        return stop.code
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        _error(args.command, "interrupted; nothing was written")
        return 130
    except (ValueError, TypeError, OSError, csv.Error, MemoryError) as err:
        _error(args.command, _describe(err))
        return 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the option and the rule), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    """The parser of every command."""
    parser = _Parser(
        prog="python -m fedlab",
        description="fedlab: federated learning on hospital records, for teaching.",
        epilog=FILE_RULE)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    training.register(sub)
    commands.register(sub)
    return parser


# -- errors: one line each ---------------------------------------------------------------


def _describe(err):
    """A one-line description of an error: the file (if any) and the problem."""
    if isinstance(err, MemoryError):
        return "out of memory (the data are too big for this machine)"
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        return f"{err.filename}: {err.strerror}"
    return str(err) or type(err).__name__


def _error(command, message):
    line = " ".join(str(message).split())
    print(f"fedlab {command}: error: {line}", file=sys.stderr)
