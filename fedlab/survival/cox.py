"""Exact federated Cox regression: Newton-Raphson on the sum of the sites' gradients and Hessians.

The site-stratified Cox model gives each hospital its own baseline hazard and shares the
coefficients. Its log partial likelihood is a sum over sites, so the server that adds the
sites' gradients and information matrices takes exactly the Newton step of the pooled
fit: only p-vectors and p x p matrices leave a site (Lu et al. 2015, WebDISCO; Andreux et
al. 2020 contrast it with averaging local fits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
from threadpoolctl import threadpool_limits

from fedlab._validation import InvalidParameterError, check_choice, check_int, check_positive

from ._checks import check_covariates, check_survival
from .partial_likelihood import TIES, CoxTerms, RiskSets, partial_likelihood

__all__ = ["CoxSite", "CoxFit", "SummedSites", "fit_federated_cox", "sum_terms"]


@dataclass(frozen=True)
class CoxSite:
    """One hospital's records for the Cox model: it answers with :class:`CoxTerms` only.

    Parameters
    ----------
    X : array-like of shape (n_patients, n_features)
    time : array-like of shape (n_patients,)
    event : array-like of shape (n_patients,)
    name : str, default="site"
    """

    X: np.ndarray
    time: np.ndarray
    event: np.ndarray
    name: str = "site"

    def __post_init__(self):
        t, e = check_survival(self.time, self.event)
        object.__setattr__(self, "time", t)
        object.__setattr__(self, "event", e)
        object.__setattr__(self, "X", check_covariates(self.X, len(t)))
        object.__setattr__(self, "_risk_sets", {})  # by ties: sorted once, used every step

    def terms(self, coef, *, ties="breslow"):
        """The site's log partial likelihood, score and information at ``coef``."""
        if ties not in self._risk_sets:
            risk_sets = RiskSets(self.time, self.event, ties=ties)
            self._risk_sets[ties] = (risk_sets, risk_sets.sort(self.X))
        risk_sets, X = self._risk_sets[ties]
        b = np.asarray(coef, dtype=float)
        if b.shape != (X.shape[1],) or not np.isfinite(b).all():
            return partial_likelihood(self.X, self.time, self.event, coef, ties=ties)  # raises
        return risk_sets.terms(X, b)


@dataclass(frozen=True)
class CoxFit:
    """The result of :func:`fit_federated_cox`.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        Log hazard ratios.
    covariance : ndarray of shape (n_features, n_features)
        Inverse of the summed (penalized) information at ``coef``.
    loglik : float
        Summed log partial likelihood at ``coef`` (without the penalty).
    n_iter : int
        Newton steps taken; each is one round of messages.
    n : int
    events : int
    site_events : tuple of int
        Each site's number of events.
    ties : str
    l2 : float
    """

    coef: np.ndarray
    covariance: np.ndarray
    loglik: float
    n_iter: int
    n: int
    events: int
    site_events: tuple
    ties: str
    l2: float
    history: list = field(default_factory=list, repr=False)

    @property
    def se(self):
        """Standard errors of the coefficients, shape (n_features,)."""
        return np.sqrt(np.diag(self.covariance))

    def hazard_ratios(self, *, level=0.95):
        """Hazard ratios ``exp(coef)`` with Wald intervals, shape (n_features, 3)."""
        z = NormalDist().inv_cdf(0.5 + level / 2)
        return np.exp(np.column_stack([self.coef, self.coef - z * self.se,
                                       self.coef + z * self.se]))


class SummedSites:
    """The server's view of sites in this process: their answers, summed (the Cox transport).

    :func:`fit_federated_cox` asks a transport only for ``terms(coef, ties=...)``, the
    sum over sites of their :class:`CoxTerms` at ``coef``, and reads ``n_features``,
    ``n`` (patients in all) and ``site_events``. This one calls each :class:`CoxSite`;
    on Flower, :class:`fedlab.flower.cox.FlowerCox` sends ``coef`` to each SuperNode
    and sums the replies, so both run the same Newton iterations.

    Parameters
    ----------
    sites : sequence of CoxSite
        One stratum each; all with the same features.

    Raises
    ------
    InvalidParameterError
        If ``sites`` is empty, holds something else than CoxSite, or the sites disagree
        on the number of features.
    """

    def __init__(self, sites):
        sites = list(sites)
        if not sites or not all(isinstance(s, CoxSite) for s in sites):
            raise InvalidParameterError("sites must be a non-empty sequence of CoxSite")
        widths = {s.X.shape[1] for s in sites}
        if len(widths) != 1:
            raise InvalidParameterError(f"sites must share their features, got widths {widths}")
        self.sites = sites
        self.n_features = widths.pop()
        self.n = sum(len(s.time) for s in sites)
        self.site_events = tuple(s.event.sum().item() for s in sites)

    def terms(self, coef, *, ties="breslow"):
        """What the server learns in one round: the sum of the sites' answers at ``coef``."""
        return sum_terms([s.terms(coef, ties=ties) for s in self.sites])


def sum_terms(answers):
    """The sum of several sites' :class:`CoxTerms` (in their order: same order, same bits)."""
    answers = list(answers)
    return CoxTerms(loglik=sum(a.loglik for a in answers),
                    gradient=np.sum([a.gradient for a in answers], axis=0),
                    information=np.sum([a.information for a in answers], axis=0),
                    n=sum(a.n for a in answers), events=sum(a.events for a in answers))


def fit_federated_cox(sites, *, ties="breslow", l2=0.0, tol=1e-10, max_iter=50):
    """Fit the site-stratified Cox model exactly, from the sites' summed gradients and Hessians.

    Parameters
    ----------
    sites : sequence of CoxSite, or a transport
        One stratum each; all with the same features. Or a transport that sums the
        sites' answers itself (:class:`SummedSites` in this process,
        :class:`fedlab.flower.cox.FlowerCox` over Flower): the same Newton iterations
        run on either.
    ties : {"breslow", "efron"}, default="breslow"
        How tied event times enter each site's partial likelihood. Ties matter only within
        a stratum, so each site's term is exact locally.
    l2 : float, default=0.0
        Ridge penalty on the mean: the fit minimises
        :math:`-\\frac{1}{N}\\sum_k \\ell_k(b) + \\frac{l2}{2} \\|b\\|^2` (``N`` patients in
        all), the objective of :class:`fedlab.models.CoxPH` under size-weighted averaging;
        scikit-survival's ``alpha`` is ``N * l2``.
    tol : float, default=1e-10
        Stop when a step changes no coefficient by more than ``tol``.
    max_iter : int, default=50

    Returns
    -------
    CoxFit

    Raises
    ------
    InvalidParameterError
        If the sites disagree on the number of features, no site has an event, the summed
        information is singular (a feature constant within every site, or separation;
        ``l2 > 0`` fixes it), or Newton-Raphson has not converged after ``max_iter`` steps.

    Notes
    -----
    Round r: the server sends :math:`b_r`; site k answers
    :math:`(\\ell_k, g_k, I_k)` (a number, a p-vector, a p x p matrix); the server takes
    :math:`b_{r+1} = b_r + (\\sum_k I_k + N\\,l2\\,I)^{-1}(\\sum_k g_k - N\\,l2\\,b_r)`,
    halving the step while the penalized likelihood falls. The standard errors come from
    the summed information at the optimum (with a penalty, the inverse penalized
    information, as R's ``coxph(ridge())`` reports). A site whose own information is
    singular (few events, a constant feature) still contributes: only the sum is inverted.

    Privacy cost of the *unstratified* model (one baseline hazard for all sites): its risk
    set at an event time holds patients of every site, so the partial likelihood is no
    longer a sum over sites. Each site would have to release, at every event time of every
    site, its risk-set sums :math:`S_0, S_1, S_2` (the count-like sum of :math:`e^{xb}` and
    its first two moments among its patients still at risk), and with them the event
    times themselves: far more than a p-vector, and small risk sets late in follow-up
    describe a handful of patients. The stratified model needs none of it, and lets
    hospitals differ in baseline risk, as they do.

    References
    ----------
    .. [1] C.-L. Lu et al., "WebDISCO: a web service for distributed Cox model learning
       without patient-level data sharing", JAMIA 22(6), 2015.
    .. [2] M. Andreux et al., "Federated survival analysis with discrete-time Cox
       models", arXiv:2006.08997, 2020.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sites = []
    >>> for k in range(3):
    ...     X = rng.normal(size=(200, 2))
    ...     time = rng.exponential(np.exp(-X @ [0.7, -0.4]) / (k + 1))
    ...     sites.append(CoxSite(X, time, rng.random(200) < 0.8, name=f"h{k}"))
    >>> fit = fit_federated_cox(sites, ties="efron")
    >>> fit.coef.round(2).tolist(), fit.events, fit.n_iter <= 8
    ([0.72, -0.47], 474, True)
    >>> fit_federated_cox(SummedSites(sites), ties="efron").coef.tolist() == fit.coef.tolist()
    True
    """
    ties = check_choice(ties, "ties", TIES)
    l2 = check_positive(l2, "l2", strict=False)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_positive(tol, "tol")
    transport = sites if hasattr(sites, "terms") and not isinstance(sites, CoxSite) \
        else SummedSites(sites)
    # the products are small (n x p by p): threads of a shared BLAS cost more than they save
    with threadpool_limits(limits=1, user_api="blas"):
        return _newton(transport, ties, l2, tol, max_iter)


def _newton(transport, ties, l2, tol, max_iter):
    p, n = transport.n_features, transport.n
    coef = np.zeros(p)
    total = transport.terms(coef, ties=ties)
    if total.events == 0:
        raise InvalidParameterError("sites hold no event: the Cox model cannot be fitted")
    history = [_objective(total, coef, l2, n)]
    for _ in range(max_iter):
        hessian = total.information + n * l2 * np.eye(p)
        direction = _solve(hessian, total.gradient - n * l2 * coef)
        scale = 1.0
        while True:
            trial = coef + scale * direction
            trial_total = transport.terms(trial, ties=ties)
            if _objective(trial_total, trial, l2, n) >= history[-1] - 1e-12 or scale < 1e-8:
                break
            scale /= 2
        coef, total = trial, trial_total
        history.append(_objective(total, coef, l2, n))
        n_iter = len(history) - 1
        if np.max(np.abs(scale * direction)) <= tol:
            break
    else:
        raise InvalidParameterError(
            f"Newton-Raphson did not converge in max_iter={max_iter} steps; "
            "raise max_iter or set l2 > 0")
    covariance = np.linalg.inv(total.information + n * l2 * np.eye(p))
    return CoxFit(coef=coef, covariance=covariance, loglik=total.loglik, n_iter=n_iter, n=n,
                  events=total.events, site_events=tuple(transport.site_events),
                  ties=ties, l2=l2, history=history)


def _objective(total, coef, l2, n):
    return total.loglik - n * l2 / 2 * float(coef @ coef)


def _solve(hessian, gradient):
    try:
        direction = np.linalg.solve(hessian, gradient)
    except np.linalg.LinAlgError:
        direction = None
    if direction is None or np.linalg.cond(hessian) > 1e12:
        raise InvalidParameterError(
            "the summed information is singular: a feature is constant within every site "
            "(the site strata absorb it) or separates the events; drop it or set l2 > 0")
    return direction
