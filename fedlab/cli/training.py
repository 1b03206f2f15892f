"""``demo`` and ``train``: the centralized model, each site alone, FedAvg and other strategies."""

from __future__ import annotations

from fedlab._files import json_report
from fedlab._validation import InvalidParameterError
from fedlab.cli.options import (
    FILE_RULE,
    SEED,
    count,
    force_option,
    non_negative,
    positive,
    seed,
    site_dataset,
    site_options,
)
from fedlab.cli.report import format_table


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
    train.set_defaults(handler=_train)


def _training_options(parser):
    from fedlab.baselines import DEFAULTS

    parser.add_argument("--rounds", type=count, default=DEFAULTS["rounds"],
                        help=f"federated rounds (default {DEFAULTS['rounds']})")
    parser.add_argument("--local-epochs", type=count, default=DEFAULTS["local_epochs"],
                        help=f"local epochs a round (default {DEFAULTS['local_epochs']})")
    parser.add_argument("--batch-size", type=count, default=DEFAULTS["batch_size"],
                        help=f"local mini-batch size (default {DEFAULTS['batch_size']})")
    parser.add_argument("--lr", type=positive, default=DEFAULTS["lr"],
                        help=f"local learning rate (default {DEFAULTS['lr']})")
    parser.add_argument("--l2", type=non_negative, default=DEFAULTS["l2"],
                        help=f"L2 penalty (default {DEFAULTS['l2']})")
    parser.add_argument("--seed", type=seed, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the metrics as JSON to this new file")
    force_option(parser)
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
    parser.add_argument("--mu", type=non_negative, help="FedProx's proximal weight (>= 0)")
    parser.add_argument("--beta-1", type=float,
                        help="FedAdam/FedYogi/FedAdagrad first-moment decay, in [0, 1)")
    parser.add_argument("--beta-2", type=float,
                        help="FedAdam/FedYogi second-moment decay, in [0, 1)")


def _demo(args):
    from fedlab import data

    with json_report(args.json, force=args.force) as write:
        return _compare_and_report(data.load_hospitals, args, write)


def _train(args):
    with json_report(args.json, force=args.force, inputs=args.site) as write:
        return _compare_and_report(lambda: _read_sites(args), args, write)


def _read_sites(args):
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


def _compare_and_report(load_hospitals, args, write):
    from fedlab.baselines import compare

    results = compare(load_hospitals(), rounds=args.rounds, local_epochs=args.local_epochs,
                      batch_size=args.batch_size, lr=args.lr, l2=args.l2,
                      strategies=list(dict.fromkeys(args.strategy)),
                      personalize=list(dict.fromkeys(args.personalize)),
                      strategy_options=_strategy_settings(args), progress=True,
                      random_state=args.seed)
    print(format_table(results))
    write(results)
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
            raise InvalidParameterError(f"{flag} must be >= 0, got {value}")
        if key != "mu":
            _check_beta(value, flag)
        users = [name for name in args.strategy if name in owners]
        if not users:
            raise InvalidParameterError(f"{flag} applies to --strategy {' or '.join(owners)}, "
                                        f"which is "
                             "not among the strategies given")
        for name in users:
            options.setdefault(name, {})[key] = value
    return options
