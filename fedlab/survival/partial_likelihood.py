"""Cox's log partial likelihood of one site, its gradient and information (Breslow, Efron ties).

What one hospital computes on its own records for the exact federated Cox model
(:func:`fedlab.survival.fit_federated_cox`) and for the Cox model of the round loop
(:class:`fedlab.models.CoxPH`): a number, a p-vector and a p x p matrix, never a record.

References
----------
.. [1] D. R. Cox, "Regression models and life-tables", J. R. Stat. Soc. B 34, 1972.
.. [2] N. E. Breslow, "Covariance analysis of censored survival data", Biometrics 30, 1974.
.. [3] B. Efron, "The efficiency of Cox's likelihood function for censored data",
   J. Am. Stat. Assoc. 72, 1977.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedlab._validation import InvalidParameterError, check_choice

from ._checks import check_covariates, check_survival

__all__ = ["TIES", "CoxTerms", "RiskSets", "partial_likelihood", "baseline_hazard"]

TIES = ("breslow", "efron")
"""The two approximations of the partial likelihood when several events share a time."""


@dataclass(frozen=True)
class CoxTerms:
    """What one site releases at one Newton step.

    Attributes
    ----------
    loglik : float
        The site's log partial likelihood at the coefficients.
    gradient : ndarray of shape (n_features,)
        Its gradient (the score).
    information : ndarray of shape (n_features, n_features) or None
        Minus its Hessian (the observed information); None when not asked for.
    n : int
        Patients at the site.
    events : int
        Events at the site.
    """

    loglik: float
    gradient: np.ndarray
    information: np.ndarray | None
    n: int
    events: int


def partial_likelihood(X, time, event, coef, *, ties="breslow", information=True):
    """Log partial likelihood of one stratum (one site), its gradient and information.

    Parameters
    ----------
    X : array-like of shape (n_patients, n_features)
    time : array-like of shape (n_patients,)
        Observed time (event or censoring), >= 0.
    event : array-like of shape (n_patients,)
        1 for an event, 0 for censoring.
    coef : array-like of shape (n_features,)
    ties : {"breslow", "efron"}, default="breslow"
    information : bool, default=True
        Also compute the p x p observed information (the costly part).

    Returns
    -------
    CoxTerms

    Notes
    -----
    With distinct event times :math:`t_j`, the :math:`d_j` events :math:`D_j` at
    :math:`t_j`, the risk set :math:`R_j = \\{i: T_i \\ge t_j\\}`, :math:`w_i = e^{x_i b}`
    and the sums :math:`S_0 = \\sum_{R_j} w_i`, :math:`S_1 = \\sum_{R_j} w_i x_i`
    (and :math:`D_0, D_1` the same sums over :math:`D_j`), each event at :math:`t_j`
    brings one term :math:`l = 0, ..., d_j - 1` with
    :math:`s_{0} = S_0 - (l / d_j) D_0` (Efron) or :math:`s_0 = S_0` (Breslow), and

    .. math:: \\ell(b) = \\sum_j \\Big[\\sum_{D_j} x_i b - \\sum_l \\log s_{0,jl}\\Big],
       \\qquad \\nabla\\ell = \\sum_j \\Big[\\sum_{D_j} x_i - \\sum_l s_{1,jl}/s_{0,jl}\\Big].

    The information :math:`\\sum_{j,l} (s_{2,jl}/s_{0,jl} - m_{jl} m_{jl}^T)`, with
    :math:`m = s_1/s_0`, is computed as :math:`X^T \\mathrm{diag}(w_i a_i) X - M^T M`:
    each patient's :math:`x_i x_i^T` enters every term whose risk set holds it, so
    :math:`a_i` sums :math:`1/s_0` over those terms (minus the Efron share of the tied
    events), in :math:`O(n p^2)` without forming a p x p matrix per event time. Censored
    patients whose time equals an event time are in that event's risk set.

    Examples
    --------
    >>> terms = partial_likelihood([[0.0], [1.0], [2.0]], [1.0, 2.0, 3.0], [1, 1, 0], [0.0])
    >>> round(terms.loglik, 4), terms.gradient.round(4).tolist(), terms.events
    (-1.7918, [-1.5], 2)
    """
    risk_sets = RiskSets(time, event, ties=ties)
    X = risk_sets.sort(X)
    b = np.asarray(coef, dtype=float)
    if b.shape != (X.shape[1],) or not np.isfinite(b).all():
        raise InvalidParameterError(
            f"coef must be {X.shape[1]} finite numbers (one per feature), got shape {b.shape}")
    return risk_sets.terms(X, b, information=information)


class RiskSets:
    """One stratum's time order and tied events, computed once for every coefficient vector.

    Parameters
    ----------
    time, event : array-like of shape (n_patients,)
    ties : {"breslow", "efron"}, default="breslow"

    Notes
    -----
    :func:`partial_likelihood` builds one per call; local training builds one per round
    and reuses it at every step (:meth:`fedlab.models.CoxPH.local_train`).
    """

    def __init__(self, time, event, *, ties="breslow"):
        self.ties = check_choice(ties, "ties", TIES)
        t, e = check_survival(time, event)
        self.order = np.argsort(t, kind="stable")
        self.time, self.event = t[self.order], e[self.order]
        self.n, self.events = len(t), int(e.sum())
        self.event_weights = self.event.astype(float)  # sums over the events as products
        self.event_times, d = np.unique(self.time[self.event], return_counts=True)
        self.start = np.searchsorted(self.time, self.event_times, side="left")  # risk set
        self.first = np.r_[0, np.cumsum(d)[:-1]]  # events are contiguous in time order
        self.term = np.repeat(np.arange(len(d)), d)  # the event time of each term
        self.frac = ((np.arange(self.events) - self.first[self.term]) / d[self.term]
                     if self.ties == "efron" else np.zeros(self.events))

    def sort(self, X):
        """``X`` checked and put in time order (what :meth:`terms` takes)."""
        return check_covariates(X, self.n)[self.order]

    def terms(self, X, b, *, information=True):
        """:class:`CoxTerms` at ``b`` for the sorted covariates ``X`` (see :meth:`sort`)."""
        n, p = X.shape
        if self.events == 0:
            return CoxTerms(0.0, np.zeros(p), np.zeros((p, p)) if information else None, n, 0)
        e, term, frac = self.event, self.term, self.frac
        eta = X @ b
        shift = eta.max()
        w = np.exp(eta - shift)  # shifted weights: every ratio below is unchanged
        wx = w[:, None] * X
        # risk-set sums at each event time: the sums from its first patient to the end,
        # made of one pass over the patients (reduceat) and a short cumulative sum
        S0 = np.cumsum(np.add.reduceat(w, self.start)[::-1])[::-1]
        S1 = np.cumsum(np.add.reduceat(wx, self.start, axis=0)[::-1], axis=0)[::-1]
        D0 = np.add.reduceat(w[e], self.first)
        D1 = np.add.reduceat(wx[e], self.first, axis=0)
        s0 = S0[term] - frac * D0[term]
        m = (S1[term] - frac[:, None] * D1[term]) / s0[:, None]
        loglik = float(self.event_weights @ eta - np.sum(np.log(s0) + shift))
        gradient = self.event_weights @ X - m.sum(axis=0)
        if not information:
            return CoxTerms(loglik, gradient, None, n, self.events)
        k = len(self.event_times)
        inv = 1.0 / s0
        cumulative = np.cumsum(np.bincount(term, weights=inv, minlength=k))
        last = np.searchsorted(self.event_times, self.time, side="right") - 1
        a = np.where(last >= 0, cumulative[np.maximum(last, 0)], 0.0)
        own = np.bincount(term, weights=frac * inv, minlength=k)
        a[e] -= own[np.searchsorted(self.event_times, self.time[e])]
        info = (X * (w * a)[:, None]).T @ X - m.T @ m
        return CoxTerms(loglik, gradient, (info + info.T) / 2, n, self.events)

    def hazard_increments(self, eta):
        """Breslow (or Efron) increments of the baseline hazard at the event times."""
        shift = eta.max()
        w = np.exp(eta - shift)
        S0 = np.cumsum(np.add.reduceat(w, self.start)[::-1])[::-1]
        D0 = np.add.reduceat(w[self.event], self.first)
        term = self.term
        return np.bincount(term, weights=np.exp(-shift) / (S0[term] - self.frac * D0[term]),
                           minlength=len(self.event_times))


def baseline_hazard(X, time, event, coef, *, ties="breslow"):
    """One site's cumulative baseline hazard at its event times (Breslow's estimator).

    Parameters
    ----------
    X, time, event, coef, ties
        As in :func:`partial_likelihood`.

    Returns
    -------
    event_times : ndarray of shape (n_event_times,)
    cumulative_hazard : ndarray of shape (n_event_times,)
        :math:`H_0(t) = \\sum_{t_j \\le t} \\sum_l 1/s_{0,jl}` (for Breslow ties
        :math:`\\sum d_j / S_0(t_j)`), the hazard of a patient whose covariates are all 0.
        A patient's survival is :math:`S(t | x) = \\exp(-H_0(t) e^{x b})`.

    Notes
    -----
    In the site-stratified model each site keeps its own baseline hazard: this is the
    site's, estimated at the federated coefficients from its own records.

    Examples
    --------
    >>> times, H = baseline_hazard([[0.0], [0.0]], [1.0, 2.0], [1, 1], [0.0])
    >>> times.tolist(), H.tolist()
    ([1.0, 2.0], [0.5, 1.5])
    """
    risk_sets = RiskSets(time, event, ties=ties)
    eta = risk_sets.sort(X) @ np.asarray(coef, dtype=float)
    if risk_sets.events == 0:
        return risk_sets.event_times, np.zeros(0)
    return risk_sets.event_times, np.cumsum(risk_sets.hazard_increments(eta))
