"""``train`` and ``flower`` with ``--time COL --event COL``: Cox models of a time to an event.

``train`` fits every method of :func:`fedlab.survival.compare_survival` (the stratified
Cox model on the pooled records, each site alone, the exact federated Cox model and each
``--strategy`` on the Cox loss); ``flower`` fits the exact federated Cox model (and each
``--strategy``) with one process per site. Both score each method at every site
(Harrell's and Uno's C, O/E at the horizon), pool the sites by random effects, suppress
small cells (``--min-cell``) and report each method's hazard ratios by feature name.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from fedlab._validation import InvalidParameterError
from fedlab.cli.options import positive

__all__ = ["add_survival_options", "check_options", "check_sites", "survival_train",
           "survival_flower", "method_entry", "survival_strategies"]


def add_survival_options(parser):
    """``--horizon`` and ``--ties``: used with ``--time`` and ``--event`` only."""
    parser.add_argument("--horizon", type=positive, metavar="T",
                        help="with --time: the horizon tau of Uno's C and of the O/E, in "
                             "the time column's unit (default: the shortest of the sites' "
                             "longest training follow-ups)")
    parser.add_argument("--ties", choices=["breslow", "efron"], default=None,
                        help="with --time: how tied event times enter the partial "
                             "likelihood (default breslow)")


def check_options(args):
    """Refuse ``--horizon``/``--ties`` without a survival outcome, and binary-only options."""
    if args.time is None:
        for option, value in (("--horizon", args.horizon), ("--ties", args.ties)):
            if value is not None:
                raise InvalidParameterError(f"{option} applies to a time-to-event outcome "
                                            "(--time and --event), not to --target")
        return
    if getattr(args, "model", None) is not None:
        raise InvalidParameterError(
            f"--model {args.model} applies to a 0/1 outcome (--target); with --time and "
            "--event the model is the Cox model (--ties chooses its handling of ties)")
    if getattr(args, "personalize", None):
        raise InvalidParameterError("--personalize applies to a 0/1 outcome (--target); "
                                    "with --time and --event there is no personalization")
    if "dpsgd" in args.strategy:
        raise InvalidParameterError(
            "--strategy dpsgd clips each record's gradient, which a Cox model does not have "
            "(a patient sits in many risk sets): use --strategy dpfedavg (client-level DP)")


def check_sites(hospitals, paths):
    """Refuse, in one line naming the site, a site that a Cox model cannot use.

    A site with no event (in its training records) adds no term to the partial
    likelihood: its patients only ever sit in risk sets of its own stratum, which has no
    event. It can still count in a Kaplan-Meier curve (``describe --time --event``).
    """
    for h, path in zip(hospitals, paths):
        events, n = int(np.sum(h.y_train)), len(h.y_train)
        if events:
            continue
        total = events + int(np.sum(h.y_test))
        where = "patients" if not total else "training patients (every event is in its test split)"
        raise InvalidParameterError(
            f"--site {path}: site {h.name!r} has no event among its {n} {where}: it can add "
            "its patients at risk to a Kaplan-Meier curve (describe --time --event), but "
            "nothing to a Cox model (each site is its own stratum, and a stratum without "
            "an event has no term in the partial likelihood); leave it out of --site or "
            "check --event")


def survival_strategies(args, n_features, n_sites, n_records):
    """``(requested, settings)`` of the ``--strategy`` options, checked for a Cox model."""
    from fedlab.cli.strategies import calibrate, check_settings, strategy_settings

    requested = list(dict.fromkeys(args.strategy))
    settings = strategy_settings(args, requested)
    check_settings(settings, n_params=n_features, n_clients=n_sites)
    if args.epsilon is not None:
        settings = calibrate(settings, target_epsilon=args.epsilon, rounds=args.rounds,
                             n_records=n_records, epochs=args.local_epochs,
                             batch_size=args.batch_size)
    return requested, settings


def survival_train(args, hospitals, write, *, command="train"):
    """Every method of :func:`~fedlab.survival.compare_survival`, printed and written."""
    from fedlab.cli.report import report_document
    from fedlab.cli.survival_table import format_survival_table
    from fedlab.metrics import release_results
    from fedlab.survival import compare_survival

    check_sites(hospitals, args.site)
    features = list(hospitals[0].feature_names)
    requested, settings = survival_strategies(args, len(features), len(hospitals),
                                              [h.n_train for h in hospitals])
    results = compare_survival(hospitals, rounds=args.rounds, local_epochs=args.local_epochs,
                               lr=args.lr, l2=args.l2, ties=args.ties or "breslow",
                               horizon=args.horizon, strategies=requested,
                               strategy_options=settings, min_cell=args.min_cell,
                               progress=True, random_state=args.seed)
    fits, errors = results.pop("fits"), results.pop("standard_errors")
    used, notes = results.pop("strategies"), results.pop("notes")
    released = release_results(results, min_cell=args.min_cell)
    for name, entry in released["methods"].items():
        coef, standardizer = fits[name]
        entry.update(method_entry(coef, standardizer, features, se=errors.get(name),
                                  note=notes.get(name)))
        if hasattr(used.get(name), "privacy"):
            entry["privacy"] = used[name].privacy()
    print(format_survival_table(released))
    write(report_document(released, command=command, args=args, strategies=used))
    return 0


def method_entry(coef, standardizer, features, *, se=None, note=None, level=0.95):
    """A Cox method's JSON entry: coefficients by feature (original and standardized units),
    hazard ratios per unit of each feature and, for a Newton fit, their Wald intervals.

    ``coef`` is on standardized features (``z = (x - mean) / scale``), so a feature's log
    hazard ratio per unit is ``coef / scale`` and its standard error ``se / scale``. A
    method without a model (``coef`` None: an ``alone:`` site whose own information is
    singular) has ``null`` values and its ``note``.

    Examples
    --------
    >>> import numpy as np
    >>> from fedlab.federated import Standardizer
    >>> s = Standardizer(mean=np.array([50.0]), scale=np.array([10.0]))
    >>> e = method_entry(np.array([0.5]), s, ["age"], se=np.array([0.1]))
    >>> round(e["hazard_ratios"]["age"], 4), [round(v, 4) for v in e["hazard_ratio_ci"]["age"]]
    (1.0513, [1.0309, 1.0721])
    """
    from fedlab.cli.report import fitted_coefficients

    if coef is None:
        entry = {"coefficients": None, "coefficients_standardized": None,
                 "hazard_ratios": None}
        return {**entry, "note": note} if note else entry
    entry = fitted_coefficients(coef, standardizer, features)
    scale = np.ones(len(features)) if standardizer is None else np.asarray(standardizer.scale)
    per_unit = np.asarray(coef, dtype=float) / scale
    entry["hazard_ratios"] = dict(zip(features, np.exp(per_unit).tolist()))
    if se is not None:
        z = NormalDist().inv_cdf(0.5 + level / 2)
        half = z * np.asarray(se, dtype=float) / scale
        entry["hazard_ratio_ci"] = {f: [float(np.exp(b - h)), float(np.exp(b + h))]
                                    for f, b, h in zip(features, per_unit, half)}
    return entry


def survival_flower(args, dataset):
    """``flower --time --event``: the exact federated Cox model (and each ``--strategy`` on
    the Cox loss) with one process per site, scored at each site as ``train`` scores it.

    Every site file is read and checked, every strategy built and the ``--json`` file
    reserved before any process starts. The default horizon is ``train``'s (the shortest
    of the sites' longest training follow-ups), computed here from the files the command
    was given, and sent to the sites.
    """
    from fedlab._files import json_report
    from fedlab.baselines import method_strategy
    from fedlab.cli.report import report_document
    from fedlab.cli.survival_table import format_survival_table
    from fedlab.cli.training import read_sites
    from fedlab.flower import Federation
    from fedlab.flower.study import study_results
    from fedlab.metrics import release_results
    from fedlab.models import CoxPH
    from fedlab.survival.study import default_horizon

    check_options(args)
    if args.secure_aggregation or "securefedavg" in args.strategy:
        raise InvalidParameterError(
            "--secure-aggregation with --time: the exact federated Cox model sends each "
            "site's gradient and information in the clear (summed by the server); secure "
            "aggregation of them is not implemented on Flower")
    hospitals = read_sites(args)
    check_sites(hospitals, args.site)
    features = list(hospitals[0].feature_names)
    requested, settings = survival_strategies(args, len(features), len(hospitals),
                                              [h.n_train for h in hospitals])
    strategies = {name: method_strategy(name, settings[name], lr=args.lr) for name in requested}
    horizon = args.horizon or default_horizon(hospitals)
    options = dict(local_epochs=args.local_epochs, batch_size=args.batch_size, lr=args.lr,
                   l2=args.l2, time=args.time, event=args.event, features=features,
                   test_size=dataset.test_size or 0.25, split_column=args.split_column,
                   id_column=args.id_column, min_sites=args.min_sites, random_state=args.seed,
                   model=CoxPH(ties=args.ties or "breslow"), horizon=horizon,
                   min_cell=args.min_cell)
    results = {"outcome": "survival", "horizon": horizon, "methods": {}, "engine": "flower",
               "dropped": {}, "refused": {}}
    with json_report(args.json, force=args.force, inputs=args.site) as write:
        sites = {site.name: path for site, path in zip(dataset.sites, args.site)}
        with Federation(sites, port=args.port, tls=args.tls) as federation:
            runs = [("federated Cox", None)] + list(strategies.items())
            for method, strategy in runs:
                if strategy is None:
                    history = federation.run(fit="exact-cox", rounds=50, method=method,
                                             **options)
                    se = history.config["se"]
                    print(f"federated Cox on Flower: {history.config['n_iter']} Newton steps, "
                          f"{history.config['message_rounds']} rounds of messages")
                else:
                    history = federation.run(strategy=strategy, method=method,
                                             rounds=args.rounds,
                                             progress=f"{method} on Flower", **options)
                    se = None
                one = study_results(history, method)
                entry = one["methods"][method]
                entry.update(method_entry(history.params, history.standardizer, features,
                                          se=se))
                if history.config.get("privacy"):
                    entry["privacy"] = history.config["privacy"]
                results["methods"][method] = entry
                for key in ("dropped", "refused"):
                    if one[key]:
                        results[key][method] = one[key]
        released = release_results(results, min_cell=args.min_cell)
        print(format_survival_table(released))
        write(report_document(released, command="flower", args=args, strategies=strategies))
    return 0
