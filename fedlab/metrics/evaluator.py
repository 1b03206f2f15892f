"""Scoring a model on every hospital's test split, and on all of them pooled.

The test sets are held by the course's referee (an :class:`Evaluator`), outside the
federated protocol: in a real study each hospital would evaluate on its own test split.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError
from fedlab.metrics.auc import roc_auc
from fedlab.metrics.sites import site_metrics
from fedlab.models.logistic import LogisticRegression

__all__ = ["evaluate", "probability_metrics", "Evaluator"]


def evaluate(params, X, y, *, threshold=0.5, model=None):
    """Log loss, accuracy and ROC AUC of ``params`` on ``(X, y)``.

    Parameters
    ----------
    params : array-like of shape (n_params,)
    X : array-like of shape (n_samples, n_features)
        Preprocessed records (no missing values).
    y : array-like of shape (n_samples,)
    threshold : float, default=0.5
        Predicted probability at or above which a patient is called positive.
    model : fedlab.models.Model, optional
        A model of a binary outcome; ``None`` is logistic regression.

    Returns
    -------
    dict
        ``{"loss": float, "accuracy": float, "auc": float}``; ``auc`` is NaN when ``y``
        holds a single class.

    Examples
    --------
    >>> m = evaluate([1.0, 0.0], [[-1.0], [1.0]], [0, 1])
    >>> m["accuracy"], m["auc"], round(m["loss"], 4)
    (1.0, 1.0, 0.3133)
    """
    return probability_metrics(y, _model(model).predict(params, X), threshold=threshold)


def probability_metrics(y, proba, *, threshold=0.5):
    """Log loss, accuracy and ROC AUC of predicted probabilities ``proba`` of ``y = 1``.

    Examples
    --------
    >>> m = probability_metrics([0, 1], [0.2, 0.7])
    >>> m["accuracy"], m["auc"]
    (1.0, 1.0)
    """
    y = np.asarray(y, dtype=float)
    proba = np.asarray(proba, dtype=float)
    clipped = np.clip(proba, 1e-15, 1 - 1e-15)
    return {
        "loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log1p(-clipped))),
        "accuracy": float(np.mean((proba >= threshold) == y)),
        "auc": roc_auc(y, proba),
    }


class Evaluator:
    """Scores a model on every site's test split and on all of them pooled.

    Parameters
    ----------
    test_sets : mapping of str to (X, y), or sequence of hospitals
        Raw test records per site (a hospital's ``X_test``/``y_test`` are used).
    intervals : bool, default=False
        Calling the evaluator returns :meth:`report` (every metric with its interval, the
        number of patients and events) instead of the fast loss, accuracy and AUC. Keep it
        off for the per-round evaluation of a training run.
    level : float, default=0.95
        Confidence level of the intervals.
    model : fedlab.models.Model, optional
        The model whose parameters are scored (its :meth:`~fedlab.models.Model.evaluate`
        gives the per-round metrics); ``None`` is logistic regression.

    Examples
    --------
    >>> ev = Evaluator({"a": ([[-1.0], [1.0]], [0, 1]), "b": ([[2.0], [-2.0]], [1, 0])})
    >>> pooled, sites = ev([1.0, 0.0])
    >>> pooled["auc"], sorted(sites)
    (1.0, ['a', 'b'])
    >>> pooled, sites = ev.report([1.0, 0.0])
    >>> pooled["n"], pooled["events"], sites["a"]["accuracy_ci"]
    (4, 2, (0.342..., 1.0))
    """

    def __init__(self, test_sets, *, intervals=False, level=0.95, model=None):
        if not isinstance(test_sets, dict):
            test_sets = {h.name: (h.X_test, h.y_test) for h in test_sets}
        if not test_sets:
            raise InvalidParameterError("test_sets must name at least one site, got none")
        self.raw = {name: (np.asarray(X, float), np.asarray(y)) for name, (X, y) in
                    test_sets.items()}
        self.intervals, self.level = bool(intervals), level
        self.model = _model(model)
        self._cache_key = self._prepared = None

    def __call__(self, params, standardizer=None):
        """Return ``(pooled_metrics, {site: metrics})`` for ``params``."""
        if self.intervals:
            return self.report(params, standardizer)
        sites = self._prepare(standardizer)
        per_site = {name: self.model.evaluate(params, X, y) for name, (X, y) in sites.items()}
        if len(per_site) == 1:
            return dict(next(iter(per_site.values()))), per_site
        X_all = np.vstack([X for X, _ in sites.values()])
        y_all = np.concatenate([y for _, y in sites.values()])
        return self.model.evaluate(params, X_all, y_all), per_site

    def report(self, params, standardizer=None):
        """Every metric with its interval: ``(pooled, {site: metrics})``.

        Each dict is :func:`fedlab.metrics.site_metrics` of the model's predicted risks:
        per site on its own test patients, ``pooled`` on all test patients together.
        """
        predictions = self.predictions(params, standardizer)
        per_site = {name: site_metrics(y, p, level=self.level)
                    for name, (y, p) in predictions.items()}
        if len(per_site) == 1:
            return dict(next(iter(per_site.values()))), per_site
        y_all = np.concatenate([y for y, _ in predictions.values()])
        p_all = np.concatenate([p for _, p in predictions.values()])
        return site_metrics(y_all, p_all, level=self.level), per_site

    def predictions(self, params, standardizer=None):
        """``{site: (y, predicted risk)}`` on each site's test patients, in their order."""
        return {name: (y, self.model.predict(params, X))
                for name, (X, y) in self._prepare(standardizer).items()}

    def _prepare(self, standardizer):
        """Standardize the test sets once per standardizer."""
        if self._prepared is None or self._cache_key is not standardizer:
            transform = (lambda X: X) if standardizer is None else standardizer.transform
            self._prepared = {n: (transform(X), y) for n, (X, y) in self.raw.items()}
            self._cache_key = standardizer
        return self._prepared


def _model(model):
    """``model``, or logistic regression for ``None``."""
    return LogisticRegression() if model is None else model
