"""``python -m fedlab flower``: a federated study on Flower from per-site CSV files.

The same sites, options and methods as ``train`` (each method seeded by its name,
:func:`fedlab.federated.method_seed`), run by the one round loop over Flower's Grid: the
same models, bit for bit, and each site's metrics computed at the site.
"""

from __future__ import annotations

from fedlab._files import json_report
from fedlab._validation import InvalidParameterError
from fedlab.baselines import DEFAULTS, method_strategy
from fedlab.cli.options import (
    SEED,
    count,
    non_negative,
    output_options,
    positive,
    seed,
    site_options,
)
from fedlab.cli.report import format_table

__all__ = ["add_arguments", "run_command", "method_name"]


def add_arguments(parser):
    """The ``flower`` subcommand's options (the ``train`` command's, where they apply)."""
    from fedlab.federated import STRATEGY_NAMES

    site_options(parser, site_help="one site's records; each SuperNode reads only its own "
                                   "file (repeat for each site)")
    parser.add_argument("--strategy", action="append", type=str.lower,
                        choices=sorted(STRATEGY_NAMES), metavar="NAME",
                        help="a fedlab strategy name (repeatable: one study each on the same "
                             "federation; default fedavg): " + ", ".join(sorted(STRATEGY_NAMES)))
    parser.add_argument("--rounds", type=count, default=5, help="rounds (default 5)")
    parser.add_argument("--local-epochs", type=count, default=DEFAULTS["local_epochs"])
    parser.add_argument("--batch-size", type=count, default=DEFAULTS["batch_size"])
    parser.add_argument("--lr", type=positive, default=DEFAULTS["lr"])
    parser.add_argument("--l2", type=non_negative, default=DEFAULTS["l2"])
    parser.add_argument("--min-sites", type=count, default=1,
                        help="stop when a round aggregates fewer sites than this (default 1)")
    parser.add_argument("--port", type=count, help="the SuperLink's port (default: a free one)")
    parser.add_argument("--seed", type=seed, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--secure-aggregation", action="store_true",
                        help="Flower's SecAgg+: the server learns only the sums a strategy "
                             "needs (FedAvg family, SCAFFOLD, FedNova, q-FedSGD; at least 2 "
                             "sites)")
    output_options(parser)


def method_name(strategy):
    """The name the ``train`` command gives the same method (FedAvg: weighted mean).

    Examples
    --------
    >>> method_name("FedAvg"), method_name("fedprox")
    ('fedavg (weighted)', 'fedprox')
    """
    return "fedavg (weighted)" if strategy.lower() == "fedavg" else strategy.lower()


def run_command(args):
    """Check every input, launch the federation, run each study, print and write the report.

    Every site file is read and checked as ``train`` reads it, the strategies are checked
    against ``--secure-aggregation``, and the ``--json`` file is reserved, before any
    process starts.
    """
    from fedlab.cli.training import _read_sites
    from fedlab.flower import Federation
    from fedlab.flower.study import study_results

    methods = [method_name(s) for s in dict.fromkeys(args.strategy or ["fedavg"])]
    strategies = {m: method_strategy(m, lr=args.lr) for m in methods}
    if args.secure_aggregation:
        for strategy in strategies.values():
            if strategy.summed_arrays is None:
                raise InvalidParameterError(
                    f"--secure-aggregation unmasks only sums; {type(strategy).__name__} needs "
                    "each update in the clear: choose a strategy that only sums (FedAvg "
                    "family, SCAFFOLD, FedNova, q-FedSGD)")
        if len(args.site) < 2:
            raise InvalidParameterError("--secure-aggregation needs at least 2 --site files, "
                                        f"got {len(args.site)}")
    hospitals = _read_sites(args)
    options = dict(rounds=args.rounds, local_epochs=args.local_epochs,
                   batch_size=args.batch_size, lr=args.lr, l2=args.l2, target=args.target,
                   features=list(hospitals[0].feature_names), test_size=args.test_size,
                   min_sites=args.min_sites, random_state=args.seed,
                   secure_aggregation=args.secure_aggregation)
    results = {"methods": {}, "engine": "flower", "dropped": {}, "refused": {}}
    with json_report(args.json, force=args.force, inputs=args.site) as write:
        sites = {h.name: path for h, path in zip(hospitals, args.site)}
        with Federation(sites, port=args.port) as federation:
            for method, strategy in strategies.items():
                history = federation.run(strategy=strategy, method=method,
                                         progress=f"{method} on Flower", **options)
                one = study_results(history, method)
                results["methods"].update(one["methods"])
                for key in ("dropped", "refused"):
                    if one[key]:
                        results[key][method] = one[key]
        print(format_table(results))
        print("Pooled AUC: a random-effects meta-analysis of the sites' AUCs (the AUC at a "
              "typical site,\nHartung-Knapp interval: wide with few sites); accuracy, O/E "
              "and Brier: totals over every\nsite's test patients. No site saw another's "
              "patients.")
        for method, rounds in results["dropped"].items():
            for server_round, dropped in rounds.items():
                print(f"{method}, round {server_round}: {', '.join(dropped)} dropped out")
        for method, rounds in results["refused"].items():
            for server_round, refused in rounds.items():
                for site, why in refused.items():
                    print(f"{method}, round {server_round}: {site} refused: {why}")
        write(results)
    return 0
