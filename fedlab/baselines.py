"""The yardsticks of federated learning: the pooled model (ceiling), each site alone (floor).

:func:`compare` runs the comparison the course builds up to: centralized training on
pooled records, every hospital on its own, and FedAvg with the plain and the weighted
mean, all scored on the same test sets.
"""

from __future__ import annotations

import numpy as np

from fedlab import federated, model
from fedlab._validation import check_rng
from fedlab.federated.preprocessing import combine, feature_sums
from fedlab.metrics import Evaluator, auc_difference

__all__ = ["centralized", "single_site", "compare", "DEFAULTS"]

DEFAULTS = {"rounds": 30, "local_epochs": 1, "batch_size": 32, "lr": 0.1, "l2": 1e-3}
"""FedAvg settings used by :func:`compare` and ``python -m fedlab demo``."""


def centralized(hospitals, *, l2=DEFAULTS["l2"]):
    """Fit one model on every hospital's training records pooled (what FL cannot do).

    Parameters
    ----------
    hospitals : sequence of Hospital
    l2 : float, default=1e-3

    Returns
    -------
    params : ndarray of shape (n_features + 1,)
    standardizer : Standardizer
        Fitted on the pooled training records.
    """
    X = np.vstack([h.X_train for h in hospitals])
    y = np.concatenate([h.y_train for h in hospitals])
    return _fit(X, y, l2=l2)


def single_site(hospital, *, l2=DEFAULTS["l2"]):
    """Fit a model on one hospital's training records alone; same return as :func:`centralized`."""
    return _fit(hospital.X_train, hospital.y_train, l2=l2)


def compare(hospitals, *, rounds=DEFAULTS["rounds"], local_epochs=DEFAULTS["local_epochs"],
            batch_size=DEFAULTS["batch_size"], lr=DEFAULTS["lr"], l2=DEFAULTS["l2"],
            progress=False, random_state=None):
    """Centralized vs single hospitals vs FedAvg (plain and weighted mean).

    Every model is scored on each hospital's test split and on all of them pooled.

    Parameters
    ----------
    hospitals : sequence of Hospital
    rounds, local_epochs, batch_size, lr, l2 : FedAvg settings (see :func:`fedlab.federated.run`)
    progress : bool, default=False
        Print a progress bar per federated run on standard error.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    dict
        ``{"methods": {method: {"pooled": metrics, "sites": {site: metrics}}},
        "vs_centralized": {method: comparison}}``. Methods are ``"centralized"``,
        ``"alone: <site>"`` for each hospital, ``"fedavg (mean)"`` and
        ``"fedavg (weighted)"``; each ``metrics`` is :func:`fedlab.metrics.site_metrics`
        (AUC, accuracy and calibration with 95 % intervals, patients and events), on all
        test patients together (``"pooled"``) and on each hospital's. ``comparison`` is
        :func:`fedlab.metrics.auc_difference` of the method against the centralized model
        on all test patients (a paired DeLong interval of the AUC difference).
    """
    hospitals = list(hospitals)
    rng = check_rng(random_state)
    evaluator = Evaluator(hospitals)
    models = {"centralized": centralized(hospitals, l2=l2)}
    for h in hospitals:
        models[f"alone: {h.name}"] = single_site(h, l2=l2)
    for rule in ("mean", "weighted"):
        history = federated.run(
            [federated.Client.from_hospital(h) for h in hospitals], rounds=rounds,
            local_epochs=local_epochs, batch_size=batch_size, lr=lr, l2=l2, aggregate=rule,
            test_sets=evaluator, progress=progress and f"fedavg ({rule})",
            random_state=rng)
        models[f"fedavg ({rule})"] = history.params, history.standardizer
    methods = {}
    for name, (params, standardizer) in models.items():
        pooled, sites = evaluator.report(params, standardizer)
        methods[name] = {"pooled": pooled, "sites": sites}
    return {"methods": methods, "vs_centralized": _versus(evaluator, models, "centralized")}


def _fit(X, y, *, l2):
    """Standardize (missing values to the mean) and fit by Newton's method."""
    standardizer = combine([feature_sums(X)])
    return model.fit(standardizer.transform(X), y, l2=l2), standardizer


def _versus(evaluator, models, reference):
    """Paired DeLong comparison of every model's AUC with ``reference``'s, all test patients."""
    risks = {}
    for name, (params, standardizer) in models.items():
        predictions = evaluator.predictions(params, standardizer).values()
        y = np.concatenate([y for y, _ in predictions])
        risks[name] = np.concatenate([p for _, p in predictions])
    return {name: auc_difference(y, risks[name], risks[reference])
            for name in models if name != reference}
