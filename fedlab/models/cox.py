"""Cox proportional hazards on the model protocol: the partial likelihood as a round-loop loss.

Each client is one stratum (one site, its own baseline hazard): its loss is its negative
log partial likelihood over its number of records, so size-weighted FedSGD follows the
gradient of the site-stratified likelihood exactly. FedAvg, FedProx, FedAdam and
DP-FedAvg run on it unchanged; averaging local Cox fits is not the pooled fit, which the
exact method (:func:`fedlab.survival.fit_federated_cox`) reaches in a few Newton rounds
(Andreux et al. 2020).
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_choice, check_int
from fedlab.models.base import Model, _check_sgd
from fedlab.survival.partial_likelihood import TIES, RiskSets, partial_likelihood

__all__ = ["CoxPH"]


class CoxPH(Model):
    """Cox regression of a time to event: log hazard ratios, no intercept.

    Parameters
    ----------
    ties : {"breslow", "efron"}, default="breslow"
        How tied event times enter the partial likelihood.

    Notes
    -----
    ``y`` has shape (n, 2): column 0 the observed time, column 1 the event (0/1). The
    parameters are the ``n_features`` coefficients ``b``; :meth:`predict` gives the
    linear predictor ``X b`` (the log relative hazard: higher, earlier events).

    Loss at one site: :math:`-\\ell(b) / n + \\frac{l2}{2} \\|b\\|^2`, with
    :math:`\\ell` the site's log partial likelihood (:func:`fedlab.survival.partial_likelihood`)
    and ``n`` its records; every coefficient is penalised. With sites weighted by their
    sizes, the mean of the sites' losses is :math:`-\\sum_k \\ell_k / N + \\frac{l2}{2}
    \\|b\\|^2`: the site-stratified objective of the exact method, with the same ``l2``.

    No per-example gradients (``supports_per_example = False``): a patient's record
    enters every risk set it belongs to, so a "gradient of one record" does not exist,
    and record-level DP-SGD (which clips them) refuses this model; client-level DP
    (DP-FedAvg) works. Local training is full batch (``full_batch = True``): the risk
    sets need the whole site.

    References
    ----------
    .. [1] D. R. Cox, "Regression models and life-tables", J. R. Stat. Soc. B 34, 1972.
    .. [2] M. Andreux, A. Manoel, R. Menuet, C. Saillard, C. Simpson, "Federated survival
       analysis with discrete-time Cox models", arXiv:2006.08997, 2020.

    Examples
    --------
    >>> model = CoxPH(ties="efron")
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> y = np.array([[1.0, 1], [2.0, 1], [3.0, 0]])
    >>> params = model.init_params(1)
    >>> round(model.loss(params, X, y), 4), model.gradient(params, X, y).tolist()
    (0.5973, [0.5])
    >>> model.n_params(1), model.predict([0.5], X).tolist()
    (1, [0.0, 0.5, 1.0])
    """

    name = "cox"
    outcome = "survival"
    supports_per_example = False
    full_batch = True
    linear = True

    def __init__(self, ties="breslow"):
        self.ties = check_choice(ties, "ties", TIES)

    def n_params(self, n_features):
        return check_int(n_features, "n_features", minimum=1)

    def init_params(self, n_features, *, random_state=None):
        """Zeros (hazard ratios of 1): the partial likelihood is concave, no draw is needed."""
        return np.zeros(self.n_params(n_features))

    def loss(self, params, X, y, *, l2=0.0):
        X, y = self.check_data(X, y)
        b = self._coef(params, X)
        terms = partial_likelihood(X, y[:, 0], y[:, 1], b, ties=self.ties, information=False)
        return float(-terms.loglik / len(y) + 0.5 * l2 * (b @ b))

    def gradient(self, params, X, y, *, l2=0.0):
        X, y = self.check_data(X, y)
        b = self._coef(params, X)
        terms = partial_likelihood(X, y[:, 0], y[:, 1], b, ties=self.ties, information=False)
        return -terms.gradient / len(y) + l2 * b

    def local_train(self, params, X, y, *, epochs=1, batch_size=32, lr=0.1, l2=0.0, mu=0.0,
                    anchor=None, corrections=None, random_state=None):
        """Full-batch gradient descent, ``epochs`` steps: :meth:`Model.local_train`'s bits.

        The risk sets are sorted once for all the steps instead of at every gradient;
        ``batch_size`` is ignored and nothing is drawn from ``random_state``.
        """
        X, y = self.check_data(X, y)
        _, epochs, _ = _check_sgd(len(y), epochs, batch_size, lr, random_state, full_batch=True)
        risk_sets = RiskSets(y[:, 0], y[:, 1], ties=self.ties)
        X_sorted = risk_sets.sort(X)
        theta = np.array(self._coef(params, X), dtype=float)
        anchor = theta.copy() if anchor is None else np.asarray(anchor, dtype=float)
        for _ in range(epochs):
            step = -risk_sets.terms(X_sorted, theta, information=False).gradient / len(y) \
                + l2 * theta
            if mu:
                step += mu * (theta - anchor)
            if corrections is not None:
                step += np.asarray(corrections, dtype=float)
            theta -= lr * step
        return theta

    def predict(self, params, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise InvalidParameterError(
                f"X must be 2-D of shape (n_samples, n_features), got shape {X.shape}")
        return X @ self._coef(params, X)

    def evaluate(self, params, X, y):
        """``loss`` (mean negative log partial likelihood, no penalty) and Harrell's ``c_index``.

        On the records of one site. Over several sites at once it treats them as one
        stratum and mixes their baseline hazards: prefer per-site values pooled by
        :func:`fedlab.survival.pool_survival_metrics`. ``c_index`` is NaN without a
        comparable pair.
        """
        from fedlab.survival.concordance import harrell_c

        X, y = self.check_data(X, y)
        y = self.check_outcome(y, len(X))
        c, _, _ = harrell_c(y[:, 0], y[:, 1], self.predict(params, X))
        return {"loss": self.loss(params, X, y), "c_index": c}

    def _coef(self, params, X):
        b = np.asarray(params, dtype=float)
        if b.shape != (X.shape[1],):
            raise InvalidParameterError(
                f"params must have shape ({X.shape[1]},) for {X.shape[1]} features (Cox has "
                f"no intercept), got shape {b.shape}")
        return b
