"""``python -m fedlab flower``: a federated study on Flower from per-site CSV files."""

from __future__ import annotations

from pathlib import Path

from fedlab._files import json_report
from fedlab._validation import InvalidParameterError
from fedlab.baselines import DEFAULTS
from fedlab.cli.options import (
    SEED,
    count,
    learning_rate,
    min_cell_option,
    non_negative,
    output_options,
    seed,
    site_dataset,
    site_options,
)

__all__ = ["add_arguments", "run_command", "method_name", "study_results"]


RUN_OPTIONS = ("rounds", "local_epochs", "batch_size", "lr", "l2", "seed", "json", "force",
               "min_cell", "min_sites", "port", "secure_aggregation", "site", "target",
               "features", "test_size", "split_column", "id_column")
"""The ``flower`` command's own options (``dest``): no strategy parameter may take them."""


def add_arguments(parser):
    """The ``flower`` subcommand's options (the ``train`` command's, where they apply)."""
    from fedlab.cli.strategies import add_strategy_options

    site_options(parser, site_help="one site's records; each SuperNode reads only its own "
                                   "file (repeat for each site)")
    parser.add_argument("--rounds", type=count, default=5, help="rounds (default 5)")
    parser.add_argument("--local-epochs", type=count, default=DEFAULTS["local_epochs"])
    parser.add_argument("--batch-size", type=count, default=DEFAULTS["batch_size"])
    parser.add_argument("--lr", type=learning_rate, default=DEFAULTS["lr"])
    parser.add_argument("--l2", type=non_negative, default=DEFAULTS["l2"])
    parser.add_argument("--min-sites", type=count, default=1,
                        help="stop when fewer sites than this remain (default 1)")
    parser.add_argument("--port", type=count, help="the SuperLink's port (default: a free one)")
    parser.add_argument("--seed", type=seed, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--tls", action="store_true",
                        help="a rehearsal of a secured deployment: TLS on every connection "
                             "and SuperNode authentication, with a CA, certificates and "
                             "keys made for this run in its temporary folder")
    parser.add_argument("--secure-aggregation", action="store_true",
                        help="Flower's SecAgg+: the server learns only the weighted mean "
                             "update (FedAvg family, at least 2 sites); --strategy "
                             "securefedavg is the same")
    min_cell_option(parser)
    output_options(parser)
    add_strategy_options(parser, run_options=RUN_OPTIONS, single=True)


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

    Every option is checked before any process starts, and the ``--json`` file is
    reserved (the ``train`` command's rules: never an input, never an existing file
    without ``--force``). ``--strategy securefedavg`` is FedAvg through Flower's SecAgg+
    (``--secure-aggregation``).
    """
    from fedlab.cli import format_table
    from fedlab.cli.report import fitted_coefficients, report_document
    from fedlab.cli.strategies import PRIVATE, calibrate, check_settings, strategy_settings
    from fedlab.cli.training import check_lr_l2
    from fedlab.federated.strategy import make_strategy
    from fedlab.flower import launch
    from fedlab.flower.study import check_linear
    from fedlab.metrics import release_results

    for path in args.site:
        if not Path(path).is_file():
            raise FileNotFoundError(f"--site {path}: no such file")
    dataset = site_dataset(args)
    hospitals = dataset.load(random_state=args.seed)  # every file checked before any process
    names = [site.name for site in dataset.sites]
    check_lr_l2(args)
    settings = strategy_settings(args, [args.strategy])
    check_settings(settings, n_params=len(hospitals[0].feature_names) + 1,
                   n_clients=len(hospitals))
    name, options = args.strategy, settings[args.strategy]
    secure = args.secure_aggregation or name == "securefedavg"
    if name == "securefedavg":  # on Flower: FedAvg through SecAgg+
        unknown = sorted(set(options) - {"weighted", "fraction_train"})
        if unknown:
            raise InvalidParameterError(
                f"--strategy securefedavg on Flower is FedAvg through Flower's SecAgg+; "
                f"{', '.join('--' + k.replace('_', '-') for k in unknown)} belong to "
                "fedlab's in-process protocol (train)")
        name = "fedavg"
    if secure:
        placeholder = {"noise_multiplier": 1.0} if name in PRIVATE else {}
        check_linear(make_strategy(name, lr=args.lr, **{**placeholder, **options}))
        if len(args.site) < 2:
            raise InvalidParameterError("--secure-aggregation needs at least 2 --site files, "
                                        f"got {len(args.site)}")
    if args.epsilon is not None:
        sizes = [h.n_train for h in hospitals]
        options = calibrate({name: options}, target_epsilon=args.epsilon, rounds=args.rounds,
                            n_records=sizes, epochs=args.local_epochs,
                            batch_size=args.batch_size)[name]
    with json_report(args.json, force=args.force, inputs=args.site) as write:
        history = launch({n: p for n, p in zip(names, args.site)}, strategy=name,
                         rounds=args.rounds, port=args.port, local_epochs=args.local_epochs,
                         batch_size=args.batch_size, lr=args.lr, l2=args.l2,
                         target=args.target,
                         features=dataset.features, test_size=dataset.test_size or 0.25,
                         split_column=args.split_column, id_column=args.id_column,
                         min_sites=args.min_sites,
                         random_state=args.seed, progress=f"{args.strategy} on Flower",
                         secure_aggregation=secure, tls=args.tls, **options)
        method = method_name(args.strategy)
        results = release_results(study_results(history, method), min_cell=args.min_cell)
        features = list(hospitals[0].feature_names)
        entry = results["methods"][method]
        entry.update(fitted_coefficients(history.params, history.standardizer, features))
        if history.config.get("privacy"):
            entry["privacy"] = history.config["privacy"]
        print(format_table(results))
        if args.tls:
            print("Every connection used TLS (a certificate authority made for this run), and "
                  "each SuperNode\nauthenticated with its own key, registered with the "
                  "SuperLink before it joined.")
        for server_round, dropped in results["dropped"].items():
            print(f"round {server_round}: {', '.join(dropped)} dropped out")
        strategy = make_strategy(name, lr=args.lr, **options)
        write(report_document(results, command="flower", args=args,
                              strategies={method: strategy}))
    return 0

