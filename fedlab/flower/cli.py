"""``python -m fedlab flower``: a federated study on Flower from per-site CSV files."""

from __future__ import annotations

from pathlib import Path

from fedlab._files import json_report
from fedlab._validation import InvalidParameterError
from fedlab.baselines import DEFAULTS
from fedlab.cli.options import (
    SEED,
    count,
    non_negative,
    output_options,
    positive,
    seed,
    site_dataset,
    site_options,
)

__all__ = ["add_arguments", "run_command", "method_name", "study_results"]


def add_arguments(parser):
    """The ``flower`` subcommand's options (the ``train`` command's, where they apply)."""
    from fedlab.federated import STRATEGY_NAMES

    site_options(parser, site_help="one site's records; each SuperNode reads only its own "
                                   "file (repeat for each site)")
    parser.add_argument("--strategy", default="fedavg", type=str.lower,
                        choices=sorted(STRATEGY_NAMES), metavar="NAME",
                        help="a fedlab strategy name (default fedavg): "
                             + ", ".join(sorted(STRATEGY_NAMES)))
    parser.add_argument("--rounds", type=count, default=5, help="rounds (default 5)")
    parser.add_argument("--local-epochs", type=count, default=DEFAULTS["local_epochs"])
    parser.add_argument("--batch-size", type=count, default=DEFAULTS["batch_size"])
    parser.add_argument("--lr", type=positive, default=DEFAULTS["lr"])
    parser.add_argument("--l2", type=non_negative, default=DEFAULTS["l2"])
    parser.add_argument("--min-sites", type=count, default=1,
                        help="stop when fewer sites than this remain (default 1)")
    parser.add_argument("--port", type=count, help="the SuperLink's port (default: a free one)")
    parser.add_argument("--seed", type=seed, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--secure-aggregation", action="store_true",
                        help="Flower's SecAgg+: the server learns only the weighted mean "
                             "update (FedAvg family, at least 2 sites)")
    output_options(parser)


def method_name(strategy):
    """The name the ``train`` command gives the same method (FedAvg: weighted mean).

    Examples
    --------
    >>> method_name("FedAvg"), method_name("fedprox")
    ('fedavg (weighted)', 'fedprox')
    """
    return "fedavg (weighted)" if strategy.lower() == "fedavg" else strategy.lower()


def study_results(history, method):
    """A study's final evaluation in the ``train`` command's schema, plus what Flower adds.

    ``{"methods": {method: {"pooled": ..., "sites": ...}}, "engine": "flower",
    "dropped": {round: [site, ...]}}``: each site's dict is
    :func:`fedlab.metrics.site_metrics` (computed at the site), ``pooled`` is
    :func:`fedlab.metrics.pool_site_metrics` of them. There is no ``"vs_centralized"``:
    no one holds the pooled records a centralized model needs.
    """
    final = history.final
    return {"methods": {method: {"pooled": final.pooled, "sites": final.sites}},
            "engine": "flower",
            "dropped": {r.round: list(r.dropped) for r in history.rounds if r.dropped}}


def run_command(args):
    """Launch the federation, run the study, print and (optionally) write the report.

    The ``--json`` file is checked and reserved before the federation starts (the
    ``train`` command's rules: never an input, never an existing file without
    ``--force``).
    """
    from fedlab.cli import format_table
    from fedlab.federated.strategy import make_strategy
    from fedlab.flower import launch
    from fedlab.flower.study import check_linear

    for path in args.site:
        if not Path(path).is_file():
            raise FileNotFoundError(f"--site {path}: no such file")
    dataset = site_dataset(args)
    dataset.load(random_state=args.seed)  # every file checked before any process starts
    names = [site.name for site in dataset.sites]
    if args.secure_aggregation:
        check_linear(make_strategy(args.strategy))
        if len(args.site) < 2:
            raise InvalidParameterError("--secure-aggregation needs at least 2 --site files, "
                                        f"got {len(args.site)}")
    with json_report(args.json, force=args.force, inputs=args.site) as write:
        history = launch({n: p for n, p in zip(names, args.site)}, strategy=args.strategy,
                         rounds=args.rounds, port=args.port, local_epochs=args.local_epochs,
                         batch_size=args.batch_size, lr=args.lr, l2=args.l2,
                         target=args.target,
                         features=dataset.features, test_size=dataset.test_size or 0.25,
                         split_column=args.split_column, id_column=args.id_column,
                         min_sites=args.min_sites,
                         random_state=args.seed, progress=f"{args.strategy} on Flower",
                         secure_aggregation=args.secure_aggregation)
        results = study_results(history, method_name(args.strategy))
        print(format_table(results))
        print("Pooled AUC: a random-effects meta-analysis of the sites' AUCs (the AUC at a "
              "typical site,\nHartung-Knapp interval: wide with few sites); accuracy, O/E "
              "and Brier: totals over every\nsite's test patients. No site saw another's "
              "patients.")
        for server_round, dropped in results["dropped"].items():
            print(f"round {server_round}: {', '.join(dropped)} dropped out")
        write(results)
    return 0
