"""``demo`` and ``train``: the centralized model, each site alone, FedAvg and other strategies.

``train --time COL --event COL`` fits Cox models instead (:mod:`fedlab.cli.survival`).
"""

from __future__ import annotations

from fedlab._files import json_report
from fedlab._validation import InvalidParameterError
from fedlab.cli.models import add_model_options, model_from_args
from fedlab.cli.options import (
    FILE_RULE,
    MAX_LR,
    SEED,
    count,
    force_option,
    learning_rate,
    min_cell_option,
    non_negative,
    seed,
    site_dataset,
    site_options,
)
from fedlab.cli.report import fitted_coefficients, format_table, report_document
from fedlab.cli.strategies import (
    add_strategy_options,
    calibrate,
    check_settings,
    strategy_settings,
)
from fedlab.cli.survival import add_survival_options, check_options, survival_train


def register(sub):
    """Add the ``demo`` and ``train`` sub-commands."""
    demo = sub.add_parser("demo", help="centralized vs each hospital alone vs FedAvg, "
                                       "on the course's five synthetic hospitals",
                          epilog=FILE_RULE)
    _training_options(demo)
    demo.set_defaults(handler=_demo)

    train = sub.add_parser("train", help="the same comparison on your own per-site CSV files",
                           epilog=FILE_RULE)
    site_options(train, site_help="one site's records (comma-separated, UTF-8, numeric "
                                  "columns); repeat for each site")
    _training_options(train)
    add_survival_options(train)
    train.set_defaults(handler=_train)


RUN_OPTIONS = ("rounds", "local_epochs", "batch_size", "lr", "l2", "seed", "json", "force",
               "personalize", "min_cell", "site", "target", "features", "test_size",
               "split_column", "id_column", "time", "event", "horizon", "ties")
"""The run's own options (``dest``): no strategy parameter may take one of these names."""


def _training_options(parser):
    from fedlab.baselines import DEFAULTS

    parser.add_argument("--rounds", type=count, default=DEFAULTS["rounds"],
                        help=f"federated rounds (default {DEFAULTS['rounds']})")
    parser.add_argument("--local-epochs", type=count, default=DEFAULTS["local_epochs"],
                        help=f"local epochs a round (default {DEFAULTS['local_epochs']})")
    parser.add_argument("--batch-size", type=count, default=DEFAULTS["batch_size"],
                        help=f"local mini-batch size (default {DEFAULTS['batch_size']})")
    parser.add_argument("--lr", type=learning_rate, default=DEFAULTS["lr"],
                        help=f"local learning rate, at most {MAX_LR:g} (default "
                             f"{DEFAULTS['lr']})")
    parser.add_argument("--l2", type=non_negative, default=DEFAULTS["l2"],
                        help=f"L2 penalty, below 2 / lr (default {DEFAULTS['l2']})")
    parser.add_argument("--seed", type=seed, default=SEED, help=f"random seed (default {SEED})")
    min_cell_option(parser)
    parser.add_argument("--json", metavar="PATH",
                        help="also write the metrics as JSON to this new file")
    force_option(parser)
    parser.add_argument("--personalize", action="append", default=[],
                        choices=["finetune", "recalibrate"],
                        help="also personalize FedAvg's model at each site (repeatable)")
    add_strategy_options(parser, run_options=RUN_OPTIONS)
    add_model_options(parser, run_options=RUN_OPTIONS)


def _demo(args):
    from fedlab import data

    with json_report(args.json, force=args.force) as write:
        return _compare_and_report(data.load_hospitals, args, write, command="demo")


def _train(args):
    site_dataset(args)  # the outcome and column options, before any output is reserved
    check_options(args)
    with json_report(args.json, force=args.force, inputs=args.site) as write:
        if args.time is not None:
            check_lr_l2(args)
            return survival_train(args, read_sites(args), write)
        return _compare_and_report(lambda: read_sites(args), args, write, command="train")


def read_sites(args):
    """The ``--site`` files as hospitals, each split into train and test as ``train`` does."""
    hospitals = site_dataset(args).load(random_state=args.seed, progress=True)
    _check_standardizable(hospitals, args.site)
    return hospitals


def _check_standardizable(hospitals, paths):
    """Refuse, naming the file and column, values that standardization cannot represent."""
    from fedlab.federated.preprocessing import combine, feature_sums

    names = hospitals[0].feature_names
    sums = [feature_sums(h.X_train, site=path, feature_names=names)
            for h, path in zip(hospitals, paths)]
    combine(sums, names=paths, feature_names=names)


def _compare_and_report(load_hospitals, args, write, *, command):
    from fedlab.baselines import compare
    from fedlab.metrics import release_results

    check_lr_l2(args)
    model = model_from_args(args)
    if "recalibrate" in args.personalize and not model.linear:
        raise InvalidParameterError(
            f"--personalize recalibrate refits the intercept and slope of a linear predictor, "
            f"which --model {model.name} does not have; use --personalize finetune")
    requested = list(dict.fromkeys(args.strategy))
    settings = strategy_settings(args, requested)
    check_settings(settings)
    hospitals = load_hospitals()
    check_settings(settings, n_params=model.n_params(len(hospitals[0].feature_names)),
                   n_clients=len(hospitals))
    if args.epsilon is not None:
        settings = calibrate(settings, target_epsilon=args.epsilon, rounds=args.rounds,
                             n_records=[h.n_train for h in hospitals],
                             epochs=args.local_epochs, batch_size=args.batch_size)
    results = compare(hospitals, rounds=args.rounds, local_epochs=args.local_epochs,
                      batch_size=args.batch_size, lr=args.lr, l2=args.l2,
                      strategies=requested, personalize=list(dict.fromkeys(args.personalize)),
                      strategy_options=settings, progress=True, model=model,
                      random_state=args.seed)
    fits, used = results.pop("fits"), results.pop("strategies")
    released = release_results(results, min_cell=args.min_cell)
    features = list(hospitals[0].feature_names)
    for name, entry in released["methods"].items():
        entry.update(fitted_coefficients(*fits[name], features, model=model))
        if hasattr(used.get(name), "privacy"):
            entry["privacy"] = used[name].privacy()
    print(format_table(released))
    write(report_document(released, command=command, args=args, strategies=used,
                          model=model))
    return 0


def check_lr_l2(args):
    """Refuse, naming the options, a learning rate and penalty that make SGD diverge."""
    from fedlab._validation import check_sgd_step

    try:
        check_sgd_step(args.lr, args.l2)
    except InvalidParameterError as err:
        raise InvalidParameterError(f"--l2 {args.l2:g} with --lr {args.lr:g}: "
                                    f"{str(err).replace('l2 must', 'must')}") from None
