"""A vertical study's report: the vertical model, the joined table, the label holder alone.

The same comparison as :func:`fedlab.baselines.compare` for horizontal FL, on the
linked test patients: ``vertical`` (trained by :func:`fedlab.vertical.train`),
``centralized`` (gradient descent on the joined table, which no real study could
assemble: the reference) and ``alone: <label holder>`` (its own columns only).
"""

from __future__ import annotations

import numpy as np

from fedlab.federated.preprocessing import Standardizer, combine, feature_sums
from fedlab.metrics import auc_difference, site_metrics
from fedlab.models.logistic import sigmoid

from .parties import check_parties
from .regression import gradient_descent, train

__all__ = ["compare"]


def compare(parties, test_blocks, y_test, *, max_steps=10_000, lr=0.5, l2=1e-3, tol=1e-6):
    """Train the three models on the linked training patients, score them on the test ones.

    Parameters
    ----------
    parties : sequence of Party
        The linked training patients' columns, one party holding ``y``.
    test_blocks : dict of str to array-like of shape (n_test, n_features_k)
        Every party's columns of the linked test patients.
    y_test : array-like of shape (n_test,)
    max_steps, lr, l2, tol
        Full-batch gradient descent until the gradient's norm is below ``tol``
        (:func:`fedlab.vertical.train`); the other models take as many steps.

    Returns
    -------
    dict
        ``{"methods": {method: {"pooled": metrics, "sites": {}}}, "vs_centralized":
        {method: comparison}, "training": {...}, "fits": {method: (params, standardizer,
        feature_names)}}``: ``metrics`` is :func:`fedlab.metrics.site_metrics` on all
        test patients (there are no sites: every party holds every patient),
        ``comparison`` the paired DeLong difference in AUC from the centralized model,
        ``training`` the steps and the bytes the vertical run sent, and ``fits`` each
        model's parameters on standardized columns with the standardization (the
        vertical one: every party's, side by side), as
        :func:`fedlab.cli.report.fitted_coefficients` takes them.
    """
    parties, holder = check_parties(parties)
    y_test = np.asarray(y_test, dtype=float)
    fitted = train(parties, steps=max_steps, lr=lr, l2=l2, tol=tol)
    steps = fitted.steps
    joined = np.column_stack([p.X for p in parties])
    y = next(p.y for p in parties if p.is_label_holder)
    names = [f for p in parties for f in p.feature_names]
    own = next(p for p in parties if p.name == holder)
    vertical_scaling = Standardizer(
        mean=np.concatenate([fitted.standardizers[p.name].mean for p in parties]),
        scale=np.concatenate([fitted.standardizers[p.name].scale for p in parties]))
    models = {
        "vertical": (fitted.params, vertical_scaling, names,
                     fitted.predict_proba(test_blocks)),
        "centralized": _reference(joined, y, np.column_stack([test_blocks[p.name]
                                                              for p in parties]),
                                  names, steps=steps, lr=lr, l2=l2),
        f"alone: {holder}": _reference(own.X, y, test_blocks[holder], own.feature_names,
                                       steps=steps, lr=lr, l2=l2)}
    methods = {method: {"pooled": site_metrics(y_test, risk), "sites": {}}
               for method, (*_, risk) in models.items()}
    versus = {method: auc_difference(y_test, risk, models["centralized"][-1])
              for method, (*_, risk) in models.items() if method != "centralized"}
    training = {"steps": steps, "converged": steps < max_steps,
                "bytes_per_step": int(fitted.nbytes_per_step[0]),
                "bytes": int(sum(fitted.nbytes_per_step))}
    return {"methods": methods, "vs_centralized": versus, "training": training,
            "fits": {method: fit[:3] for method, fit in models.items()}}


def _reference(X, y, X_test, features, *, steps, lr, l2):
    """Gradient descent on one table: parameters, standardizer, feature names, test risks.

    A table without columns gets the intercept-only model, the log-odds of the
    training prevalence (where gradient descent converges).
    """
    if X.shape[1] == 0:
        prevalence = float(np.mean(y))
        params = np.array([np.log(prevalence / (1 - prevalence))])
        return params, None, [], np.full(len(X_test), prevalence)
    standardizer = combine([feature_sums(X)])
    params = gradient_descent(X, y, steps=steps, lr=lr, l2=l2)
    Z = standardizer.transform(X_test)
    return params, standardizer, list(features), sigmoid(Z @ params[:-1] + params[-1])
