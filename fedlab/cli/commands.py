"""The commands after ``demo`` and ``train``: their sub-parsers and handlers.

``flower``, ``data``, ``describe``, ``kmeans``, ``link``, ``vertical``, ``lessons``,
``grade``, in the order ``--help`` lists them.
"""

from __future__ import annotations

import sys

from fedlab._files import check_output_folder
from fedlab.cli.options import (
    FILE_RULE,
    SEED,
    count,
    force_option,
    output_options,
    positive,
    seed,
)


def register(sub):
    """Add the sub-commands after ``demo`` and ``train``, in the order ``--help`` lists them."""
    flower = sub.add_parser("flower", help="the same FedAvg on Flower: one process per site "
                                           "(needs the flower extra)")
    from fedlab.cli.flower import add_arguments

    add_arguments(flower)
    flower.set_defaults(handler=_flower)

    data = sub.add_parser("data", help="regenerate the shipped synthetic hospital CSVs",
                          epilog=FILE_RULE)
    data.add_argument("--out", required=True, metavar="DIR",
                      help="folder to write into (created if missing)")
    data.add_argument("--seed", type=seed, default=SEED, help=f"random seed (default {SEED})")
    force_option(data)
    data.set_defaults(handler=_data)

    describe = sub.add_parser("describe", help="a federated summary table of your per-site "
                                               "CSV files, with small-cell suppression")
    describe.add_argument("--site", action="append", required=True, metavar="CSV",
                          help="one site's records (numeric columns); repeat for each site")
    describe.add_argument("--columns", metavar="COL,COL,...",
                          help="the columns to describe (default: every column of the first "
                               "site's header)")
    describe.add_argument("--min-cell", type=count, default=5, metavar="N",
                          help="a site refuses any answer with a cell of 1 to N-1 patients "
                               "(default 5)")
    describe.add_argument("--time", metavar="COLUMN",
                          help="with --event: also the sites' federated Kaplan-Meier curve "
                               "of this time column (a number >= 0 in every row)")
    describe.add_argument("--event", metavar="COLUMN",
                          help="the event indicator of --time (1 = event, 0 = censored)")
    describe.add_argument("--km-step", type=positive, default=1.0, metavar="STEP",
                          help="the Kaplan-Meier grid's spacing, in --time's unit (default 1)")
    describe.add_argument("--audit-log", metavar="PATH",
                          help="the sites' log of answered queries (appended to, never "
                               "rewritten; one file for all sites, each line names its site): "
                               "a query whose answer rests on a group within N-1 patients of "
                               "an earlier one is refused (differencing)")
    output_options(describe)
    describe.set_defaults(handler=_describe_sites)

    kmeans = sub.add_parser("kmeans", help="federated k-means on your per-site CSV files")
    kmeans.add_argument("--site", action="append", required=True, metavar="CSV",
                        help="one site's records (numeric columns); repeat for each site")
    kmeans.add_argument("--k", type=count, required=True, help="the number of clusters")
    kmeans.add_argument("--columns", metavar="COL,COL,...",
                        help="the columns to cluster on (default: every column of the first "
                             "site's header)")
    kmeans.add_argument("--max-iter", type=count, default=300,
                        help="most rounds (default 300)")
    kmeans.add_argument("--secure-aggregation", action="store_true",
                        help="sum the sites' cluster sums with secure aggregation (the ring "
                             "is sized from the sites' numbers of records)")
    kmeans.add_argument("--min-cell", type=count, default=5, metavar="N",
                        help="a site leaves a cluster of 1 to N-1 of its records out of what "
                             "it sends (default 5)")
    kmeans.add_argument("--seed", type=seed, default=SEED, help=f"random seed (default {SEED})")
    output_options(kmeans)
    kmeans.set_defaults(handler=_kmeans)

    from fedlab.cli import vertical  # link and vertical (lesson 12)

    vertical.register(sub)

    lessons = sub.add_parser("lessons", help="generate lessons/ from solutions/")
    lessons.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if lessons/ is not what solutions/ make")
    lessons.add_argument("--force", action="store_true",
                         help="overwrite lessons even where a learner has edited or run them")
    lessons.set_defaults(handler=_lessons)

    grade = sub.add_parser("grade", help="run learners' lesson notebooks, each contained, and "
                                         "write one row per notebook and exercise to a CSV")
    from fedlab.grading import add_arguments as grade_arguments

    grade_arguments(grade)
    grade.set_defaults(handler=_grade)


def _describe_sites(args):
    from fedlab.analytics.commands import describe_command

    return describe_command(args.site, columns=args.columns, min_cell=args.min_cell,
                            audit_log=args.audit_log, json_path=args.json, force=args.force,
                            time=args.time, event=args.event, km_step=args.km_step)


def _kmeans(args):
    from fedlab.analytics.commands import kmeans_command

    return kmeans_command(args.site, k=args.k, columns=args.columns, max_iter=args.max_iter,
                          secure_aggregation=args.secure_aggregation,
                          min_cell=args.min_cell, seed=args.seed,
                          json_path=args.json, force=args.force)


def _flower(args):
    from fedlab.cli.flower import run_command
    from fedlab.flower import FlowerNotInstalled, StudyError

    try:
        return run_command(args)
    except (FlowerNotInstalled, StudyError) as err:
        print(f"fedlab flower: error: {err}", file=sys.stderr)
        return 2


def _data(args):
    from fedlab import data

    names = [f"{p.slug}_{split}.csv" for p in data.PROFILES.values() for split in ("train",
                                                                                   "test")]
    check_output_folder(args.out, names, option="--out", force=args.force)
    for path in data.write_hospitals(args.out, random_state=args.seed):
        print(path)
    return 0


def _lessons(args):
    from fedlab import lessons

    for stream in (sys.stdout, sys.stderr):  # a path or a message never crashes the output
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    if args.check:
        problems = lessons.check_lessons()
        for problem in problems:
            print(problem, file=sys.stderr)
        print("lessons/ is up to date" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    try:
        written = lessons.write_lessons(force=args.force)
    except lessons.LessonError as err:
        for path in err.written:
            print(f"wrote {path}")
        for problem in err.problems:
            print(f"fedlab lessons: {problem}", file=sys.stderr)
        return err.exit_status
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("lessons/ is up to date")
    return 0


def _grade(args):
    from fedlab.grading import grade_command

    return grade_command(args)
