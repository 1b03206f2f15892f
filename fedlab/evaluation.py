"""Federated evaluation: each site scores the model on its own patients; the server pools.

A site runs :func:`evaluate_site` on its held-out patients and returns only aggregates:
:func:`fedlab.metrics.site_metrics` (patients and events, the ROC AUC with a DeLong 95 %
interval, accuracy, observed/expected events, calibration slope and intercept, the Brier
score). The server combines the sites' reports with
:func:`fedlab.metrics.pool_site_metrics`, as a multicentre study would (Riley et al.
2016; Debray et al. 2017): exact totals where the metric is a sum over patients, a
random-effects meta-analysis where it is not. :func:`leave_one_site_out` is external
validation. Every statistic is computed by :mod:`fedlab.metrics`; this module only says
where it is computed.

References
----------
Riley et al. (2016). External validation of clinical prediction models using big datasets
from e-health records or IPD meta-analysis. BMJ 353:i3140.
Debray et al. (2017). A guide to systematic review and meta-analysis of prediction model
performance. BMJ 356:i6460.
"""

from __future__ import annotations

import numpy as np

from fedlab.metrics import site_metrics
from fedlab.models import logistic

__all__ = ["evaluate_site", "leave_one_site_out"]


def evaluate_site(params, X, y, *, standardizer=None, threshold=0.5, model=None):
    """:func:`fedlab.metrics.site_metrics` of a model of a 0/1 outcome on one site's records.

    Parameters
    ----------
    params : array-like of shape (n_params,)
        The model's parameters (logistic regression: weights, then bias).
    X : array-like of shape (n_patients, n_features)
        The site's raw test records (missing values allowed when ``standardizer`` fills
        them).
    y : array-like of shape (n_patients,)
        Their 0/1 outcomes.
    standardizer : Standardizer, optional
        The federated preprocessing the model was trained with.
    threshold : float, default=0.5
        Predicted risk at or above which a patient is called positive (for accuracy).
    model : fedlab.models.Model, optional
        A model of a binary outcome (e.g. :class:`~fedlab.models.MLP`); ``None`` is
        logistic regression.

    Returns
    -------
    dict
        What the site may share: :func:`fedlab.metrics.site_metrics` of the model's
        predicted risks (counts, estimates and 95 % intervals; no patient's record).

    Examples
    --------
    >>> m = evaluate_site([1.0, 0.0], [[-1.0], [1.0], [2.0]], [0, 1, 1])
    >>> m["n"], m["events"], m["auc"], m["accuracy"]
    (3, 2, 1.0, 1.0)
    >>> m["calibration_slope"]  # separated outcomes: no maximum-likelihood slope
    nan
    """
    X = np.asarray(X, dtype=float)
    if standardizer is not None:
        X = standardizer.transform(X)
    proba = logistic.predict_proba(params, X) if model is None else model.predict(params, X)
    return site_metrics(y, proba, threshold=threshold)


def leave_one_site_out(hospitals, *, random_state=None, **run_options):
    """External validation: train on all sites but one, evaluate at the one left out.

    Parameters
    ----------
    hospitals : sequence of Hospital
        Each with a training and a test split; the model trained without site ``k`` is
        scored on ``k``'s test split.
    random_state : None or int
        Seed of every training run (each starts from the same seed, as a study rerun
        with one site fewer would).
    **run_options
        Passed to :func:`fedlab.federated.run` (``strategy``, ``rounds``, ``lr``, ...).

    Returns
    -------
    dict of str to dict
        :func:`evaluate_site` at each left-out site, by its name.
    """
    from fedlab import federated

    hospitals = list(hospitals)
    results = {}
    for k, left_out in enumerate(hospitals):
        others = [federated.Client.from_hospital(h) for j, h in enumerate(hospitals) if j != k]
        history = federated.run(others, random_state=random_state, **run_options)
        results[left_out.name] = evaluate_site(history.params, left_out.X_test,
                                               left_out.y_test,
                                               standardizer=history.standardizer)
    return results
