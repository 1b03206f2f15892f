"""A multicentre survival comparison: pooled, each site alone, exact federated Cox, strategies.

What ``python -m fedlab train --time COL --event COL`` reports: each method's site-stratified
Cox coefficients, scored on every site's test split (Harrell's and Uno's C with jackknife
intervals, O/E at the horizon from the site's own baseline) and pooled by random effects.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_choice, check_positive

from .calibration import calibration_at_horizon, predicted_risk
from .cox import CoxSite, fit_federated_cox
from .evaluation import pool_survival_metrics, site_survival_metrics
from .partial_likelihood import TIES, baseline_hazard

__all__ = ["compare_survival", "score_site", "pool_scores", "default_horizon"]


def compare_survival(hospitals, *, rounds=30, local_epochs=1, lr=1.0, l2=0.0, ties="breslow",
                     horizon=None, strategies=(), strategy_options=None, min_cell=5,
                     progress=False, random_state=None):
    """Every method's Cox model, scored at each site and pooled.

    Parameters
    ----------
    hospitals : sequence of Hospital
        With a survival outcome: ``y_*`` the events, ``time_*`` the times.
    rounds, local_epochs, lr : settings of the round-loop strategies
        Cox's local training is full batch, so ``local_epochs`` is the number of local
        gradient steps a round.
    l2 : float, default=0.0
        Ridge penalty on the mean loss, the same for every method (see
        :func:`fedlab.survival.fit_federated_cox`).
    ties : {"breslow", "efron"}, default="breslow"
    horizon : float, optional
        Uno's C horizon and the calibration horizon, in the time unit of the files.
        Default: the shortest of the sites' longest training follow-ups (each site's
        follow-up reaches it).
    strategies : sequence of str, default=()
        Round-loop strategies to run on the Cox loss, by name (``"fedavg"``, ``"fedprox"``,
        ...), with lessons 04a/04b's settings (:data:`fedlab.drift.STRATEGY_SETTINGS`) updated by
        ``strategy_options``.
    min_cell : int, default=5
        Fewest patients still followed at the horizon for a site's O/E.
    progress : bool, default=False
    random_state : None, int or numpy.random.Generator
        Seeds the round-loop strategies: each strategy's run by
        :func:`fedlab.federated.method_seed` of one root seed and its name, as
        :func:`fedlab.baselines.compare` seeds its methods.

    Returns
    -------
    dict
        ``outcome`` ("survival"), ``horizon``, ``methods``: ``{method: {"pooled": ...,
        "sites": {site: metrics}}}`` with ``n``, ``events``, ``c_index``, ``c_index_ci``,
        ``uno_c``, ``uno_c_ci``, ``oe``, ``oe_ci`` per site and the random-effects pooled
        values; ``fits``: ``{method: (coef or None, standardizer)}``; ``standard_errors``:
        ``{method: se}`` of the Newton fits (standardized units, from the inverse summed
        information); ``strategies``: the strategy objects; ``notes``: why a method has
        no model (an ``alone:`` site whose own information is singular). Methods:
        ``"centralized"`` (the stratified Cox fit on the pooled records),
        ``"alone: <site>"``, ``"federated Cox"`` (the exact method; equal to the
        centralized one) and each strategy by its name.

    Raises
    ------
    InvalidParameterError
        For an unknown strategy or ties, a site with no training event at all sites, or a
        strategy that needs per-example gradients (DP-SGD).
    """
    from fedlab import federated
    from fedlab.baselines import root_seed
    from fedlab.drift import STRATEGY_SETTINGS
    from fedlab.federated.preprocessing import combine, feature_sums
    from fedlab.models import CoxPH

    hospitals = list(hospitals)
    ties = check_choice(ties, "ties", TIES)
    l2 = check_positive(l2, "l2", strict=False)
    if any(h.time_train is None for h in hospitals):
        raise InvalidParameterError("hospitals must have a survival outcome (time and event)")
    options = dict(strategy_options or {})
    for name in [*strategies, *options]:
        check_choice(name, "strategy", tuple(sorted(federated.STRATEGY_NAMES)))
    if horizon is None:
        horizon = default_horizon(hospitals)
    horizon = check_positive(horizon, "horizon")
    seed = root_seed(random_state)
    standardizer = combine([feature_sums(h.X_train) for h in hospitals])
    train = [CoxSite(standardizer.transform(h.X_train), h.time_train, h.y_train, name=h.name)
             for h in hospitals]
    fits, notes, used, errors = {}, {}, {}, {}
    exact = fit_federated_cox(train, ties=ties, l2=l2)
    # the pooled records with one stratum per site: the stratified likelihood is a sum over
    # strata, so pooling computes the same sums in one place (tests: statsmodels' PHReg)
    fits["centralized"], errors["centralized"] = (exact.coef, standardizer), exact.se
    for h, site in zip(hospitals, train):
        try:
            alone = fit_federated_cox([site], ties=ties, l2=l2)
            fits[f"alone: {h.name}"] = alone.coef, standardizer
            errors[f"alone: {h.name}"] = alone.se
        except InvalidParameterError as err:
            fits[f"alone: {h.name}"] = None, standardizer
            notes[f"alone: {h.name}"] = f"n/a: {err}"
    fits["federated Cox"], errors["federated Cox"] = (exact.coef, standardizer), exact.se
    model = CoxPH(ties=ties)
    for name in strategies:
        settings = {**STRATEGY_SETTINGS.get(name, {}), **options.get(name, {})}
        used[name] = federated.make_strategy(name, lr=lr, **settings)
        clients = [federated.Client(h.X_train, np.column_stack([h.time_train, h.y_train]),
                                    name=h.name, model=model) for h in hospitals]
        run = federated.run(clients, strategy=used[name], rounds=rounds,
                            local_epochs=local_epochs, lr=lr, l2=l2,
                            progress=progress and name,
                            random_state=federated.method_seed(seed, name))
        fits[name] = run.params, run.standardizer
    methods = {name: _scores(hospitals, coef, scaler, ties, horizon, min_cell)
               for name, (coef, scaler) in fits.items()}
    return {"outcome": "survival", "horizon": horizon, "methods": methods, "fits": fits,
            "standard_errors": errors, "strategies": used, "notes": notes}


def default_horizon(hospitals):
    """The shortest of the sites' longest training follow-ups: every site's reaches it."""
    return float(min(h.time_train.max() for h in hospitals))


def score_site(coef, train, test, *, standardizer=None, ties="breslow", horizon, min_cell=5):
    """One site's scores of a Cox model on its test patients: what the site releases.

    Parameters
    ----------
    coef : ndarray of shape (n_features,)
        Log hazard ratios, on standardized features when ``standardizer`` is given.
    train, test : Site
        The site's training records (its own baseline hazard and, for Uno's C, its
        censoring distribution) and test records, raw (``X``, ``y`` the events, ``time``).
    standardizer : Standardizer, optional
    ties : {"breslow", "efron"}, default="breslow"
    horizon : float
        Uno's C horizon and the calibration horizon.
    min_cell : int, default=5
        Fewest patients still followed at the horizon for the O/E.

    Returns
    -------
    dict
        ``n``, ``events``, ``c_index`` (with ``_se`` and ``_ci``), ``uno_c`` (the same),
        ``oe`` and ``oe_ci`` (NaN where follow-up does not reach the horizon). Every
        score is NaN when no test patient has an event (a C-index compares patients
        with an event to others). The site computes them on its own records, in process
        or on its Flower SuperNode alike.
    """
    if not np.any(test.y):
        return _undefined(len(test.y), 0)
    transform = (lambda X: X) if standardizer is None else standardizer.transform
    X_train, X_test = transform(train.X), transform(test.X)
    m = site_survival_metrics(test.time, test.y, X_test @ coef, tau=horizon,
                              train_time=train.time, train_event=train.y, min_cell=1)
    baseline = baseline_hazard(X_train, train.time, train.y, coef, ties=ties)
    try:
        cal = calibration_at_horizon(test.time, test.y,
                                     predicted_risk(X_test, coef, baseline, horizon),
                                     horizon=horizon, min_cell=min_cell)
        m["oe"], m["oe_ci"] = cal["oe"], cal["oe_ci"]
    except InvalidParameterError:  # follow-up does not reach the horizon here
        m["oe"], m["oe_ci"] = float("nan"), (float("nan"), float("nan"))
    m.pop("tau")
    return m


def pool_scores(sites):
    """The random-effects pool of the sites' :func:`score_site` (C logit scale, O/E log)."""
    pooled = pool_survival_metrics([{**m, "calibration": _calibration(m)}
                                    for m in sites.values()])
    pooled.setdefault("oe", float("nan"))
    pooled.setdefault("oe_ci", (float("nan"), float("nan")))
    pooled.pop("oe_sites", None)
    return pooled


def _scores(hospitals, coef, standardizer, ties, horizon, min_cell):
    """A method's metrics at each site's test split, and their random-effects pool."""
    sites = {}
    for h in hospitals:
        if coef is None:
            sites[h.name] = _undefined(len(h.y_test), int(np.sum(h.y_test)))
        else:
            sites[h.name] = score_site(coef, h.train, h.test, standardizer=standardizer,
                                       ties=ties, horizon=horizon, min_cell=min_cell)
    return {"pooled": pool_scores(sites), "sites": sites}


def _calibration(m):
    ok = np.isfinite(m["oe"]) and all(np.isfinite(v) for v in m["oe_ci"])
    return {"oe": m["oe"], "oe_ci": m["oe_ci"]} if ok else None


def _undefined(n, events):
    nan2 = (float("nan"), float("nan"))
    return {"n": n, "events": events, "c_index": float("nan"), "c_index_se": float("nan"),
            "c_index_ci": nan2, "uno_c": float("nan"), "uno_c_se": float("nan"),
            "uno_c_ci": nan2, "oe": float("nan"), "oe_ci": nan2}
