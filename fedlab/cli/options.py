"""What the commands share: the seed, argument types that name their rule, output options."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from fedlab._validation import InvalidParameterError

SEED = 2026

MAX_LR = 1e6
"""Largest local learning rate: beyond it the weights can overflow float64 within a run.

With ``lr * l2 < 2`` each SGD step moves a weight by at most ``lr`` times a standardized
record's norm (at most ``sqrt(n_records * n_features)``), so ``lr <= 1e6`` keeps every
weight below about 1e30 after even 1e9 steps; larger steps only bounce anyway.
"""

FILE_RULE = ("Outputs never replace an existing file unless --force is given, and never "
             "overwrite an input.")


def site_options(parser, *, site_help):
    """The per-site CSV options: ``--site`` (repeatable), ``--target`` or ``--time`` and
    ``--event``, ``--features``, ``--test-size``, ``--split-column`` and ``--id-column``;
    :func:`site_dataset` reads them.

    Column names are taken as given (spaces and parentheses included: quote them in the
    shell, e.g. ``--split-column "Split (static)"``).
    """
    parser.add_argument("--site", action="append", required=True, metavar="CSV",
                        help=site_help)
    parser.add_argument("--target", metavar="COLUMN",
                        help="the 0/1 outcome column (or --time and --event)")
    parser.add_argument("--time", metavar="COLUMN",
                        help="a time-to-event outcome instead of --target: the observed time "
                             "(event or censoring, a number >= 0), with --event")
    parser.add_argument("--event", metavar="COLUMN",
                        help="the event indicator of --time (1 = event, 0 = censored)")
    parser.add_argument("--features", metavar="COL,COL,...",
                        help="the feature columns to use (default: every column of the "
                             "first site's header but the outcome, split and id columns)")
    parser.add_argument("--test-size", type=fraction, default=None,
                        help="fraction of each site held out for testing, stratified by "
                             "the outcome (default 0.25; not with --split-column)")
    parser.add_argument("--split-column", metavar="COLUMN",
                        help="a column holding exactly 'train' or 'test' in every row: a "
                             "published split, used instead of a random one")
    parser.add_argument("--id-column", metavar="COLUMN",
                        help="a patient id column (text allowed, unique in each file; "
                             "never a feature)")


def site_dataset(args):
    """The :class:`fedlab.data.Dataset` the site options describe (checked, not yet read).

    Raises ``InvalidParameterError`` (exit 2, one line) for an outcome other than exactly
    ``--target`` or ``--time`` with ``--event``, ``--split-column`` with ``--test-size``,
    an outcome or split/id column among ``--features``, two options naming one column,
    or two ``--site`` files with one name.
    """
    from fedlab import data

    names = [Path(p).stem for p in args.site]
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"--site files must have distinct names, got {names}")
    outcome = outcome_kind(args)
    features = data.parse_columns(args.features, option="--features")
    columns = {"--target": args.target, "--time": args.time, "--event": args.event,
               "--split-column": args.split_column, "--id-column": args.id_column}
    given = [(option, column) for option, column in columns.items() if column is not None]
    for k, (option, column) in enumerate(given):
        for other, same in given[k + 1:]:
            if column == same:
                raise InvalidParameterError(f"{option} and {other} both name column "
                                            f"{column!r}: give each its own column")
        if features and column in features:
            raise InvalidParameterError(f"--features: {column!r} is the {option} column, "
                                        "which is never a feature")
    if args.split_column is not None and args.test_size is not None:
        raise InvalidParameterError(f"--split-column {args.split_column!r} and --test-size "
                                    f"{args.test_size:g} both say how to split: give one")
    return data.Dataset(args.site, outcome=outcome, target=args.target, time=args.time,
                        event=args.event, features=features, split_column=args.split_column,
                        id_column=args.id_column, test_size=args.test_size)


def outcome_kind(args):
    """``"binary"`` for ``--target``, ``"survival"`` for ``--time`` with ``--event``.

    Raises ``InvalidParameterError`` naming the options for anything else: neither, both,
    or one of ``--time`` and ``--event`` alone.
    """
    time, event = getattr(args, "time", None), getattr(args, "event", None)
    if args.target is not None and (time is not None or event is not None):
        given = " and ".join(o for o, v in (("--time", time), ("--event", event)) if v)
        raise InvalidParameterError(
            f"--target {args.target!r} and {given} both name the outcome: give --target "
            "(a 0/1 outcome) or --time and --event (a time to an event), not both")
    if args.target is not None:
        return "binary"
    if time is not None and event is not None:
        return "survival"
    if time is None and event is None:
        raise InvalidParameterError("the outcome is missing: give --target COLUMN (a 0/1 "
                                    "outcome) or --time COLUMN and --event COLUMN (a time "
                                    "to an event)")
    missing = "--event" if event is None else "--time"
    raise InvalidParameterError(f"{'--time' if time else '--event'} needs {missing} too: a "
                                "time-to-event outcome is a time and an event column")


def min_cell_option(parser):
    parser.add_argument("--min-cell", type=count, default=5, metavar="N",
                        help="suppress a site's metrics when they rest on fewer than N test "
                             "patients, or on 1 to N-1 events or non-events (default 5)")


def force_option(parser):
    parser.add_argument("--force", action="store_true",
                        help="replace output files that already exist")


def output_options(parser):
    parser.add_argument("--json", metavar="PATH",
                        help="also write the results as JSON to this new file")
    force_option(parser)


# -- argument types: each names its rule; argparse adds the option's name ------------------


def count(text):
    return _int(text, minimum=1)


def seed(text):
    return _int(text, minimum=0)


def _int(text, *, minimum):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text}")
    return value


def positive(text):
    return _float(text, lambda v: v > 0, "> 0")


def learning_rate(text):
    return _float(text, lambda v: 0 < v <= MAX_LR, f"> 0 and at most {MAX_LR:g}")


def non_negative(text):
    return _float(text, lambda v: v >= 0, ">= 0")


def fraction(text):
    return _float(text, lambda v: 0 < v < 1, "between 0 and 1 (exclusive)")


def _float(text, rule, said):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value) or not rule(value):
        raise argparse.ArgumentTypeError(f"must be a finite number {said}, got {text}")
    return value
