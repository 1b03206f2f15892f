"""The command line: ``python -m fedlab {demo,train,flower,data,lessons} ...``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["main"]

SEED = 2026


def main(argv=None):
    """Run the command line; returns the exit status (0 on success, 2 on bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"fedlab {args.command}: error: {err}", file=sys.stderr)
        return 2


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m fedlab",
        description="fedlab: federated learning on hospital records, for teaching.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="centralized vs each hospital alone vs FedAvg, "
                                       "on the course's five synthetic hospitals")
    _training_options(demo)
    demo.set_defaults(handler=_demo)

    train = sub.add_parser("train", help="the same comparison on your own per-site CSV files")
    train.add_argument("--site", action="append", required=True, metavar="CSV",
                       help="one site's records (numeric columns); repeat for each site")
    train.add_argument("--target", required=True, metavar="COLUMN",
                       help="the 0/1 outcome column")
    train.add_argument("--features", metavar="COL,COL,...",
                       help="the feature columns to use (default: every column but the "
                            "target, taken from the first site's header)")
    train.add_argument("--test-size", type=float, default=0.25,
                       help="fraction of each site held out for testing (default 0.25)")
    _training_options(train)
    train.set_defaults(handler=_train)

    flower = sub.add_parser("flower", help="the same FedAvg on Flower: one process per site "
                                           "(needs the flower extra)")
    from fedlab.flower.cli import add_arguments

    add_arguments(flower)
    flower.set_defaults(handler=_flower)

    data = sub.add_parser("data", help="regenerate the shipped synthetic hospital CSVs")
    data.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    data.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    data.set_defaults(handler=_data)

    lessons = sub.add_parser("lessons", help="generate lessons/ from solutions/")
    lessons.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if lessons/ is not what solutions/ make")
    lessons.add_argument("--force", action="store_true",
                         help="overwrite lessons even where a learner has edited or run them")
    lessons.set_defaults(handler=_lessons)
    return parser


def _training_options(parser):
    from fedlab.baselines import DEFAULTS

    parser.add_argument("--rounds", type=int, default=DEFAULTS["rounds"])
    parser.add_argument("--local-epochs", type=int, default=DEFAULTS["local_epochs"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--l2", type=float, default=DEFAULTS["l2"])
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--json", metavar="PATH", help="also write the metrics as JSON here")


def _demo(args):
    from fedlab import data

    return _compare_and_report(data.load_hospitals(), args)


def _train(args):
    from fedlab import data

    hospitals = []
    features = args.features.split(",") if args.features else None
    for path in args.site:
        # every site is read with the first site's columns, in its order
        site = data.read_site_csv(path, target=args.target, features=features)
        features = list(site.feature_names)
        train, test = data.train_test_split_site(site, test_size=args.test_size,
                                                 random_state=args.seed)
        hospitals.append(data.Hospital.from_sites(train, test, name=site.name))
    names = [h.name for h in hospitals]
    if len(set(names)) != len(names):
        raise ValueError(f"--site files must have distinct names, got {names}")
    return _compare_and_report(hospitals, args)


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

    for path in data.write_hospitals(args.out, random_state=args.seed):
        print(path)
    return 0


def _lessons(args):
    from fedlab import lessons

    if args.check:
        problems = lessons.check_lessons()
        for problem in problems:
            print(problem, file=sys.stderr)
        print("lessons/ is up to date" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    try:
        written = lessons.write_lessons(force=args.force)
    except lessons.LessonConflict as conflict:
        print(f"fedlab lessons: {conflict}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("lessons/ is up to date")
    return 0


def _compare_and_report(hospitals, args):
    from fedlab.baselines import compare

    results = compare(hospitals, rounds=args.rounds, local_epochs=args.local_epochs,
                      batch_size=args.batch_size, lr=args.lr, l2=args.l2, progress=True,
                      random_state=args.seed)
    print(format_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"metrics written to {args.json}")
    return 0


def format_table(results):
    """One row per method: pooled AUC and accuracy, then AUC at each site."""
    methods = results["methods"]
    sites = list(next(iter(methods.values()))["sites"])
    width = max(len(m) for m in methods) + 2
    head = f"{'method':<{width}}{'AUC':>7}{'acc':>7}  " + "".join(f"{s[:12]:>13}" for s in sites)
    lines = ["Test AUC and accuracy, pooled test set; then AUC at each site", head,
             "-" * len(head)]
    for name, m in methods.items():
        cells = "".join(f"{_fmt(m['sites'][s]['auc']):>13}" for s in sites)
        lines.append(f"{name:<{width}}{_fmt(m['pooled']['auc']):>7}"
                     f"{_fmt(m['pooled']['accuracy']):>7}  {cells}")
    return "\n".join(lines)


def _fmt(x):
    return "  n/a" if x != x else f"{x:.3f}"


if __name__ == "__main__":
    sys.exit(main())
