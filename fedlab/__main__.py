"""The command line: ``python -m fedlab COMMAND ...`` (``--help`` lists the commands).

Every command follows the same rules, kept in one place here: bad input is one line on
standard error naming the option or file and the problem, with exit status 2 (never a
traceback); outputs are checked before any long work; no existing file is replaced
unless ``--force``, an input is never overwritten, and each file is written whole
through a temporary file (see :mod:`fedlab._files`). A new command adds a sub-parser
and a handler; a handler raises ``ValueError`` or ``OSError`` for bad input.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys

from fedlab._files import PendingFile, check_new_file, check_output_folder

__all__ = ["main"]

SEED = 2026

FILE_RULE = ("Outputs never replace an existing file unless --force is given, and never "
             "overwrite an input.")


def main(argv=None):
    """Run the command line; returns the exit status (0 on success, 2 on bad input)."""
    parser = _parser()
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


def _parser():
    parser = _Parser(
        prog="python -m fedlab",
        description="fedlab: federated learning on hospital records, for teaching.",
        epilog=FILE_RULE)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="centralized vs each hospital alone vs FedAvg, "
                                       "on the course's five synthetic hospitals",
                          epilog=FILE_RULE)
    _training_options(demo)
    demo.set_defaults(handler=_demo)

    train = sub.add_parser("train", help="the same comparison on your own per-site CSV files",
                           epilog=FILE_RULE)
    train.add_argument("--site", action="append", required=True, metavar="CSV",
                       help="one site's records (comma-separated, UTF-8, numeric columns); "
                            "repeat for each site")
    train.add_argument("--target", required=True, metavar="COLUMN",
                       help="the 0/1 outcome column")
    train.add_argument("--features", metavar="COL,COL,...",
                       help="the feature columns to use (default: every column but the "
                            "target, taken from the first site's header)")
    train.add_argument("--test-size", type=_fraction, default=0.25,
                       help="fraction of each site held out for testing (default 0.25)")
    _training_options(train)
    train.set_defaults(handler=_train)

    flower = sub.add_parser("flower", help="the same FedAvg on Flower: one process per site "
                                           "(needs the flower extra)")
    from fedlab.flower.cli import add_arguments

    add_arguments(flower)
    flower.set_defaults(handler=_flower)

    data = sub.add_parser("data", help="regenerate the shipped synthetic hospital CSVs",
                          epilog=FILE_RULE)
    data.add_argument("--out", required=True, metavar="DIR",
                      help="folder to write into (created if missing)")
    data.add_argument("--seed", type=_seed, default=SEED, help=f"random seed (default {SEED})")
    _force_option(data)
    data.set_defaults(handler=_data)

    describe = sub.add_parser("describe", help="a federated summary table of your per-site "
                                               "CSV files, with small-cell suppression")
    describe.add_argument("--site", action="append", required=True, metavar="CSV",
                          help="one site's records (numeric columns); repeat for each site")
    describe.add_argument("--columns", metavar="COL,COL,...",
                          help="the columns to describe (default: every column of the first "
                               "site's header)")
    describe.add_argument("--min-cell", type=_count, default=5, metavar="N",
                          help="a site refuses any answer with a cell of 1 to N-1 patients "
                               "(default 5)")
    _output_options(describe)
    describe.set_defaults(handler=_describe_sites)

    kmeans = sub.add_parser("kmeans", help="federated k-means on your per-site CSV files")
    kmeans.add_argument("--site", action="append", required=True, metavar="CSV",
                        help="one site's records (numeric columns); repeat for each site")
    kmeans.add_argument("--k", type=_count, required=True, help="the number of clusters")
    kmeans.add_argument("--columns", metavar="COL,COL,...",
                        help="the columns to cluster on (default: every column of the first "
                             "site's header)")
    kmeans.add_argument("--max-iter", type=_count, default=300,
                        help="most rounds (default 300)")
    kmeans.add_argument("--secure-aggregation", action="store_true",
                        help="sum the sites' cluster sums with secure aggregation")
    kmeans.add_argument("--seed", type=_seed, default=SEED, help=f"random seed (default {SEED})")
    _output_options(kmeans)
    kmeans.set_defaults(handler=_kmeans)

    lessons = sub.add_parser("lessons", help="generate lessons/ from solutions/")
    lessons.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if lessons/ is not what solutions/ make")
    lessons.add_argument("--force", action="store_true",
                         help="overwrite lessons even where a learner has edited or run them")
    lessons.set_defaults(handler=_lessons)

    grade = sub.add_parser("grade", help="run learners' lesson notebooks and write one row "
                                         "per notebook and exercise to a CSV file")
    grade.add_argument("notebooks", nargs="+", metavar="NOTEBOOK",
                       help="submitted notebooks (never modified)")
    grade.add_argument("--out", required=True, metavar="CSV",
                       help="results: notebook,exercise,outcome,message")
    grade.add_argument("--timeout", type=float, default=120,
                       help="seconds for each notebook's cells together (default 120)")
    grade.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    grade.set_defaults(handler=_grade)
    return parser


def _training_options(parser):
    from fedlab.baselines import DEFAULTS

    parser.add_argument("--rounds", type=_count, default=DEFAULTS["rounds"],
                        help=f"federated rounds (default {DEFAULTS['rounds']})")
    parser.add_argument("--local-epochs", type=_count, default=DEFAULTS["local_epochs"],
                        help=f"local epochs a round (default {DEFAULTS['local_epochs']})")
    parser.add_argument("--batch-size", type=_count, default=DEFAULTS["batch_size"],
                        help=f"local mini-batch size (default {DEFAULTS['batch_size']})")
    parser.add_argument("--lr", type=_positive, default=DEFAULTS["lr"],
                        help=f"local learning rate (default {DEFAULTS['lr']})")
    parser.add_argument("--l2", type=_non_negative, default=DEFAULTS["l2"],
                        help=f"L2 penalty (default {DEFAULTS['l2']})")
    parser.add_argument("--seed", type=_seed, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the metrics as JSON to this new file")
    _force_option(parser)
    _strategy_options(parser)


def _strategy_options(parser):
    """``--strategy`` and ``--personalize`` (lesson 04), with the strategies' own settings."""
    from fedlab.federated import STRATEGY_NAMES

    parser.add_argument("--strategy", action="append", default=[], metavar="NAME",
                        type=str.lower, choices=sorted(STRATEGY_NAMES),
                        help="also run this strategy (repeatable): "
                             + ", ".join(sorted(STRATEGY_NAMES)))
    parser.add_argument("--personalize", action="append", default=[],
                        choices=["finetune", "recalibrate"],
                        help="also personalize FedAvg's model at each site (repeatable)")
    parser.add_argument("--mu", type=float, help="FedProx's proximal weight (>= 0)")
    parser.add_argument("--beta-1", type=float,
                        help="FedAdam/FedYogi/FedAdagrad first-moment decay, in [0, 1)")
    parser.add_argument("--beta-2", type=float,
                        help="FedAdam/FedYogi second-moment decay, in [0, 1)")


def _force_option(parser):
    parser.add_argument("--force", action="store_true",
                        help="replace output files that already exist")


# -- the commands ---------------------------------------------------------------------------


def _output_options(parser):
    parser.add_argument("--json", metavar="PATH",
                        help="also write the results as JSON to this new file")
    _force_option(parser)


def _describe_sites(args):
    from fedlab.analytics.commands import describe_command

    return describe_command(args.site, columns=args.columns, min_cell=args.min_cell,
                            json_path=args.json, force=args.force)


def _kmeans(args):
    from fedlab.analytics.commands import kmeans_command

    return kmeans_command(args.site, k=args.k, columns=args.columns, max_iter=args.max_iter,
                          secure_aggregation=args.secure_aggregation, seed=args.seed,
                          json_path=args.json, force=args.force)


def _demo(args):
    from fedlab import data

    report = _pending_json(args)
    return _compare_and_report(data.load_hospitals, args, report)


def _train(args):
    report = _pending_json(args, inputs=args.site)
    return _compare_and_report(lambda: _read_sites(args), args, report)


def _read_sites(args):
    from fedlab import data

    hospitals = []
    features = _feature_list(args.features)
    for path in args.site:
        # every site is read with the first site's columns, in its order
        site = data.read_site_csv(path, target=args.target, features=features, progress=True)
        features = list(site.feature_names)
        try:
            train, test = data.train_test_split_site(site, test_size=args.test_size,
                                                     random_state=args.seed)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        hospitals.append(data.Hospital.from_sites(train, test, name=site.name))
    names = [h.name for h in hospitals]
    if len(set(names)) != len(names):
        raise ValueError(f"--site files must have distinct names, got {names}")
    _check_standardizable(hospitals, args.site)
    return hospitals


def _check_standardizable(hospitals, paths):
    """Refuse, naming the file and column, values that standardization cannot represent."""
    from fedlab.federated.preprocessing import combine, feature_sums

    names = hospitals[0].feature_names
    sums = [feature_sums(h.X_train, site=path, feature_names=names)
            for h, path in zip(hospitals, paths)]
    combine(sums, names=paths, feature_names=names)


def _flower(args):
    from fedlab.flower import FlowerNotInstalled, StudyError
    from fedlab.flower.cli import run_command

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
    from fedlab import grading
    from fedlab._validation import check_positive

    check_positive(args.timeout, "--timeout")
    grading.check_out_path(args.out, force=args.force)  # fail before the long run
    grades = grading.grade_notebooks(args.notebooks, timeout=args.timeout, log=print)
    grading.write_grades(grades, args.out, force=args.force)
    print(f"{len(grades)} rows written to {args.out}")
    return 0


def _compare_and_report(load_hospitals, args, report):
    from fedlab.baselines import compare

    try:
        results = compare(load_hospitals(), rounds=args.rounds,
                          local_epochs=args.local_epochs, batch_size=args.batch_size,
                          lr=args.lr, l2=args.l2,
                          strategies=list(dict.fromkeys(args.strategy)),
                          personalize=list(dict.fromkeys(args.personalize)),
                          strategy_options=_strategy_settings(args), progress=True,
                          random_state=args.seed)
        print(format_table(results))
        if report is not None:
            report.commit(json.dumps(results, indent=2) + "\n")
            print(f"metrics written to {report.path}")
    finally:
        if report is not None:
            report.discard()
    return 0


def _strategy_settings(args):
    """``--mu``/``--beta-1``/``--beta-2`` for the strategies given that use them."""
    from fedlab.federated.fedopt import _check_beta

    options = {}
    given = {"mu": ("fedprox",), "beta_1": ("fedadam", "fedyogi", "fedadagrad"),
             "beta_2": ("fedadam", "fedyogi")}
    for key, owners in given.items():
        value = getattr(args, key)
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if key == "mu" and not value >= 0:
            raise ValueError(f"{flag} must be >= 0, got {value}")
        if key != "mu":
            _check_beta(value, flag)
        users = [name for name in args.strategy if name in owners]
        if not users:
            raise ValueError(f"{flag} applies to --strategy {' or '.join(owners)}, which is "
                             "not among the strategies given")
        for name in users:
            options.setdefault(name, {})[key] = value
    return options


def _pending_json(args, *, inputs=()):
    """Check and reserve the ``--json`` file before training (``None`` without one)."""
    if args.json is None:
        return None
    return PendingFile(check_new_file(args.json, option="--json", force=args.force,
                                      inputs=inputs))


def format_table(results):
    """The results of :func:`fedlab.baselines.compare` as two text tables with 95 % intervals.

    First all test patients together: AUC, its paired difference from the centralized
    model (when ``results`` has ``"vs_centralized"``; a federated study, which has no
    centralized model, leaves the column out), accuracy, O/E and Brier score; then AUC,
    accuracy and O/E at each site, under the site's number of test patients and events.
    """
    import textwrap

    methods = results["methods"]
    compared = "vs_centralized" in results
    versus = results.get("vs_centralized", {})
    pooled = next(iter(methods.values()))["pooled"]
    sites = next(iter(methods.values()))["sites"]
    width = max(len(m) for m in methods) + 2
    head = (f"{'method':<{width}}{'AUC [95 % CI]':<22}"
            + (f"{'AUC - centralized [CI]':<26}" if compared else "")
            + f"{'accuracy [95 % CI]':<22}{'O/E [95 % CI]':<20}{'Brier':>6}")
    lines = [f"All {pooled['n']:,} test patients together ({pooled['events']:,} events)",
             head, "-" * len(head)]
    for name, m in methods.items():
        p = m["pooled"]
        diff = versus.get(name)
        difference = (_ci(diff["difference"], diff["ci"]) if diff else "(reference)") \
            if compared else ""
        lines.append(f"{name:<{width}}{_ci(p['auc'], p['auc_ci']):<22}"
                     f"{difference:<{26 if compared else 0}}"
                     f"{_ci(p['accuracy'], p['accuracy_ci']):<22}"
                     f"{_ci(p['oe'], p['oe_ci'], digits=2):<20}{_fmt(p['brier']):>6}")
    cell, width = 19, width + 2  # rows indented under their metric
    names = [textwrap.wrap(s, cell - 2)[:2] + [""] for s in sites]  # two lines a name
    head = f"{'method':<{width}}" + "".join(f"{n[0]:<{cell}}" for n in names)
    head2 = f"{'':<{width}}" + "".join(f"{n[1]:<{cell}}" for n in names)
    counts = f"{'patients / events':<{width}}" + "".join(
        f"{sites[s]['n']:,} / {sites[s]['events']}".ljust(cell) for s in sites)
    lines += ["", "On each site's own test patients", head, head2, counts, "-" * len(head)]
    for key, label in (("auc", "AUC"), ("accuracy", "accuracy"), ("oe", "O/E")):
        lines.append(f"{label} [95 % CI]")
        for name, m in methods.items():
            lines.append(f"  {name:<{width - 2}}" + "".join(
                f"{_ci(m['sites'][s][key], m['sites'][s][f'{key}_ci'], digits=2):<{cell}}"
                for s in sites))
    lines += ["", "95 % intervals: AUC DeLong, accuracy Wilson, O/E Poisson"
              + ("; the AUC difference is paired (the same patients)." if compared else "."),
              "A difference whose interval holds 0 is no evidence that two methods differ."]
    return "\n".join(line.rstrip() for line in lines)


def _fmt(x, digits=3):
    return "n/a" if x != x else f"{round(x, digits) + 0.0:.{digits}f}"  # no "-0.000"


def _ci(estimate, interval, *, digits=3):
    """``0.794 [0.751, 0.831]``; the estimate alone when the interval does not exist."""
    low, high = interval
    if estimate != estimate:
        return "n/a"
    if low != low or high != high:
        return f"{_fmt(estimate, digits)} [n/a]"
    return f"{_fmt(estimate, digits)} [{_fmt(low, digits)}, {_fmt(high, digits)}]"


def _feature_list(text):
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise ValueError(f"--features: an empty column name in {text!r}; give names "
                         "separated by commas, e.g. age,sbp")
    return names


# -- argument types: each names its rule; argparse adds the option's name ------------------


def _count(text):
    return _int(text, minimum=1)


def _seed(text):
    return _int(text, minimum=0)


def _int(text, *, minimum):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text}")
    return value


def _positive(text):
    return _float(text, lambda v: v > 0, "> 0")


def _non_negative(text):
    return _float(text, lambda v: v >= 0, ">= 0")


def _fraction(text):
    return _float(text, lambda v: 0 < v < 1, "between 0 and 1 (exclusive)")


def _float(text, rule, said):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value) or not rule(value):
        raise argparse.ArgumentTypeError(f"must be a finite number {said}, got {text}")
    return value


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


if __name__ == "__main__":
    sys.exit(main())
