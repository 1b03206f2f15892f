"""``python -m fedlab flower``: a federated study on Flower from per-site CSV files.

The same sites, options and methods as ``train``: each method is built as ``train``
builds it (:func:`fedlab.baselines.method_strategy`) and seeded by its name
(:func:`fedlab.federated.method_seed`), and the one round loop runs it over Flower's
Grid, so each model equals ``train``'s bit for bit, whichever ``--model`` (the run config
carries it to every site); each site's metrics are computed at the site. Several
``--strategy`` run one study each on the same federation. With ``--time`` and ``--event``
the study fits the exact federated Cox model, ``train``'s ``federated Cox``
(:func:`fedlab.cli.survival.survival_flower`).
"""

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
    site_options,
)

__all__ = ["add_arguments", "run_command", "method_name"]

RUN_OPTIONS = ("rounds", "local_epochs", "batch_size", "lr", "l2", "seed", "json", "force",
               "min_cell", "min_sites", "port", "secure_aggregation", "site", "target",
               "features", "test_size", "split_column", "id_column", "tls", "time", "event",
               "horizon", "ties")
"""The ``flower`` command's own options (``dest``): no strategy parameter may take them."""


def add_arguments(parser):
    """The ``flower`` subcommand's options (the ``train`` command's, where they apply)."""
    from fedlab.cli.models import add_model_options
    from fedlab.cli.strategies import add_strategy_options
    from fedlab.cli.survival import add_survival_options

    site_options(parser, site_help="one site's records; each SuperNode reads only its own "
                                   "file (repeat for each site)")
    add_survival_options(parser)
    parser.add_argument("--rounds", type=count, default=5, help="rounds (default 5)")
    parser.add_argument("--local-epochs", type=count, default=DEFAULTS["local_epochs"])
    parser.add_argument("--batch-size", type=count, default=DEFAULTS["batch_size"])
    parser.add_argument("--lr", type=learning_rate, default=DEFAULTS["lr"])
    parser.add_argument("--l2", type=non_negative, default=DEFAULTS["l2"])
    parser.add_argument("--min-sites", type=count, default=1,
                        help="stop when a round that lost sites aggregates fewer than this "
                             "(default 1)")
    parser.add_argument("--port", type=count, help="the SuperLink's port (default: a free one)")
    parser.add_argument("--seed", type=seed, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--secure-aggregation", action="store_true",
                        help="Flower's SecAgg+: the server learns only the sums a strategy "
                             "needs (FedAvg family, SCAFFOLD, FedNova, q-FedSGD; at least 2 "
                             "sites); --strategy securefedavg is FedAvg so")
    parser.add_argument("--tls", action="store_true",
                        help="a rehearsal of a secured deployment: TLS on every connection "
                             "and SuperNode authentication, with a CA, certificates and "
                             "keys made for this run in its temporary folder")
    min_cell_option(parser)
    output_options(parser)
    add_strategy_options(parser, run_options=RUN_OPTIONS)
    add_model_options(parser, run_options=RUN_OPTIONS, centralized=False)


def method_name(strategy):
    """The name the ``train`` command gives the same method (FedAvg: weighted mean).

    Examples
    --------
    >>> method_name("FedAvg"), method_name("fedprox")
    ('fedavg (weighted)', 'fedprox')
    """
    return "fedavg (weighted)" if strategy.lower() == "fedavg" else strategy.lower()


def _methods(args, hospitals, model):
    """``{method: strategy}`` for each ``--strategy`` (default fedavg), checked, as ``train``
    builds them; and whether the studies run under secure aggregation."""
    from fedlab.baselines import method_strategy
    from fedlab.cli.strategies import calibrate, check_settings, strategy_settings

    requested = list(dict.fromkeys(args.strategy or ["fedavg"]))
    settings = strategy_settings(args, requested)
    check_settings(settings, n_params=model.n_params(len(hospitals[0].feature_names)),
                   n_clients=len(hospitals))
    secure = args.secure_aggregation or "securefedavg" in requested
    if "securefedavg" in requested:  # on Flower: FedAvg through SecAgg+
        unknown = sorted(set(settings["securefedavg"]) - {"weighted", "fraction_train"})
        if unknown:
            raise InvalidParameterError(
                f"--strategy securefedavg on Flower is FedAvg through Flower's SecAgg+; "
                f"{', '.join('--' + k.replace('_', '-') for k in unknown)} belong to "
                "fedlab's in-process protocol (train)")
    if args.epsilon is not None:
        settings = calibrate(settings, target_epsilon=args.epsilon, rounds=args.rounds,
                             n_records=[h.n_train for h in hospitals],
                             epochs=args.local_epochs, batch_size=args.batch_size)
    methods = {}
    for name in requested:
        if name == "securefedavg":
            methods[name] = method_strategy("fedavg", settings[name], lr=args.lr)
        else:
            methods[method_name(name)] = method_strategy(method_name(name), settings[name],
                                                         lr=args.lr)
    if secure:
        for strategy in methods.values():
            if strategy.summed_arrays is None:
                raise InvalidParameterError(
                    f"--secure-aggregation unmasks only sums; {type(strategy).__name__} needs "
                    "each update in the clear: choose a strategy that only sums (FedAvg "
                    "family, SCAFFOLD, FedNova, q-FedSGD)")
        if len(args.site) < 2:
            raise InvalidParameterError("--secure-aggregation needs at least 2 --site files, "
                                        f"got {len(args.site)}")
    return methods, secure


def run_command(args):
    """Check every input, launch the federation, run each study, print and write the report.

    Every site file is read and checked as ``train`` reads it, every strategy is built
    and checked (against ``--secure-aggregation`` too), and the ``--json`` file is
    reserved, all before any process starts.
    """
    from fedlab.cli.models import model_from_args
    from fedlab.cli.options import site_dataset
    from fedlab.cli.report import fitted_coefficients, format_table, report_document
    from fedlab.cli.survival import check_options
    from fedlab.cli.training import check_lr_l2, read_sites
    from fedlab.flower import Federation
    from fedlab.flower.study import study_results
    from fedlab.metrics import release_results

    for path in args.site:
        if not Path(path).is_file():
            raise FileNotFoundError(f"--site {path}: no such file")
    check_lr_l2(args)
    check_options(args)
    model = model_from_args(args)
    dataset = site_dataset(args)
    if args.time is not None:
        from fedlab.cli.survival import survival_flower

        return survival_flower(args, dataset)
    hospitals = read_sites(args)  # every file read and checked before any process starts
    methods, secure = _methods(args, hospitals, model)
    options = dict(rounds=args.rounds, local_epochs=args.local_epochs,
                   batch_size=args.batch_size, lr=args.lr, l2=args.l2, target=args.target,
                   features=list(hospitals[0].feature_names),
                   test_size=dataset.test_size or 0.25, split_column=args.split_column,
                   id_column=args.id_column, min_sites=args.min_sites, model=model,
                   random_state=args.seed, secure_aggregation=secure,
                   min_cell=args.min_cell)
    features = list(hospitals[0].feature_names)
    results = {"methods": {}, "engine": "flower", "dropped": {}, "refused": {}}
    with json_report(args.json, force=args.force, inputs=args.site) as write:
        sites = {site.name: path for site, path in zip(dataset.sites, args.site)}
        with Federation(sites, port=args.port, tls=args.tls) as federation:
            for method, strategy in methods.items():
                history = federation.run(strategy=strategy, method=method,
                                         progress=f"{method} on Flower", **options)
                one = study_results(history, method)
                entry = one["methods"][method]
                entry.update(fitted_coefficients(history.params, history.standardizer,
                                                 features, model=model))
                if history.config.get("privacy"):
                    entry["privacy"] = history.config["privacy"]
                results["methods"][method] = entry
                for key in ("dropped", "refused"):
                    if one[key]:
                        results[key][method] = one[key]
        results = release_results(results, min_cell=args.min_cell)
        print(format_table(results))
        for key, verb in (("dropped", "dropped out"), ("refused", "refused")):
            for method, rounds in results[key].items():
                for server_round, who in rounds.items():
                    print(f"{method}, round {server_round}: {', '.join(who)} {verb}")
        if args.tls:
            print("Every connection used TLS (a certificate authority made for this run), and "
                  "each SuperNode\nauthenticated with its own key, registered with the "
                  "SuperLink before it joined.")
        write(report_document(results, command="flower", args=args, strategies=methods,
                              model=model))
    return 0
