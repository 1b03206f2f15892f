"""Exact federated Cox regression against pooled references (statsmodels PHReg, scikit-survival)."""

import numpy as np
import pytest

from fedlab._validation import InvalidParameterError
from fedlab.survival import (
    CoxSite,
    baseline_hazard,
    fit_federated_cox,
    partial_likelihood,
    predicted_risk,
)

phreg = pytest.importorskip("statsmodels.duration.hazard_regression")
sksurv_linear = pytest.importorskip("sksurv.linear_model")
sksurv_util = pytest.importorskip("sksurv.util")


def _hospitals(seed=0, sizes=(250, 400, 150, 300), p=4, coarse=True):
    """Sites with their own baseline hazard and censoring; times rounded to make ties."""
    rng = np.random.default_rng(seed)
    beta = np.linspace(0.6, -0.4, p)
    sites = []
    for k, n in enumerate(sizes):
        X = rng.normal(size=(n, p)) + 0.3 * k
        event_time = rng.weibull(1.0 + 0.3 * k, n) * 5 * np.exp(-X @ beta / (1.0 + 0.3 * k))
        censor = rng.uniform(0.5, 8 + 2 * k, n)
        time = np.minimum(event_time, censor)
        if coarse:
            time = np.ceil(time * 4) / 4  # quarters of a year: many ties
        sites.append(CoxSite(X, time, (event_time <= censor).astype(int), name=f"h{k}"))
    return sites


def _pooled(sites):
    X = np.vstack([s.X for s in sites])
    time = np.concatenate([s.time for s in sites])
    event = np.concatenate([s.event for s in sites]).astype(float)
    strata = np.repeat(np.arange(len(sites)), [len(s.time) for s in sites])
    return X, time, event, strata


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_federated_cox_equals_statsmodels_stratified_phreg_on_the_pooled_records(ties):
    sites = _hospitals()
    X, time, event, strata = _pooled(sites)
    fit = fit_federated_cox(sites, ties=ties)
    ref = phreg.PHReg(time, X, status=event, strata=strata, ties=ties).fit()
    np.testing.assert_allclose(fit.coef, ref.params, atol=1e-6)
    np.testing.assert_allclose(fit.se, ref.bse, rtol=1e-6)
    np.testing.assert_allclose(fit.loglik, ref.llf, rtol=1e-10)
    assert fit.events == event.sum()
    assert fit.site_events == tuple(int(s.event.sum()) for s in sites)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_each_sites_score_and_information_equal_statsmodels(ties):
    sites = _hospitals(1)
    coef = np.array([0.3, -0.2, 0.1, 0.05])
    for site in sites:
        model = phreg.PHReg(site.time, site.X, status=site.event.astype(float), ties=ties)
        terms = site.terms(coef, ties=ties)
        np.testing.assert_allclose(terms.loglik, model.loglike(coef), rtol=1e-12)
        np.testing.assert_allclose(terms.gradient, model.score(coef), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(terms.information, -model.hessian(coef), rtol=1e-9)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_one_site_with_l2_equals_scikit_survival_ridge_with_alpha_n_times_l2(ties):
    [site] = _hospitals(2, sizes=(500,))
    l2 = 0.01
    fit = fit_federated_cox([site], ties=ties, l2=l2)
    y = sksurv_util.Surv.from_arrays(site.event.astype(bool), site.time)
    ref = sksurv_linear.CoxPHSurvivalAnalysis(alpha=len(site.time) * l2, ties=ties,
                                              tol=1e-12).fit(site.X, y)
    np.testing.assert_allclose(fit.coef, ref.coef_, atol=1e-6)


def test_penalized_stratified_fit_is_where_statsmodels_score_equals_the_penalty_gradient():
    sites = _hospitals(3)
    X, time, event, strata = _pooled(sites)
    l2 = 0.05
    fit = fit_federated_cox(sites, ties="efron", l2=l2)
    model = phreg.PHReg(time, X, status=event, strata=strata, ties="efron")
    np.testing.assert_allclose(model.score(fit.coef), len(time) * l2 * fit.coef, atol=1e-7)
    unpenalized = fit_federated_cox(sites, ties="efron")
    assert np.linalg.norm(fit.coef) < np.linalg.norm(unpenalized.coef)
    # the penalized information is what the standard errors invert
    info = -model.hessian(fit.coef) + len(time) * l2 * np.eye(X.shape[1])
    np.testing.assert_allclose(fit.covariance, np.linalg.inv(info), rtol=1e-6)


def test_a_site_whose_own_information_is_singular_still_contributes_to_the_exact_fit():
    sites = _hospitals(4)
    X, time, event = sites[2].X.copy(), sites[2].time, sites[2].event
    X[:, 1] = 1.0  # constant at this site: its own information is singular
    sites[2] = CoxSite(X, time, event)
    own = sites[2].terms(np.zeros(4)).information
    assert np.linalg.matrix_rank(own) < 4
    fit = fit_federated_cox(sites)
    Xp, tp, ep, strata = _pooled(sites)
    ref = phreg.PHReg(tp, Xp, status=ep, strata=strata, ties="breslow").fit()
    np.testing.assert_allclose(fit.coef, ref.params, atol=1e-6)


def test_a_feature_constant_within_every_site_is_refused_unless_penalized():
    sites = [CoxSite(np.c_[s.X, np.full(len(s.time), float(k))], s.time, s.event)
             for k, s in enumerate(_hospitals(5))]  # a site indicator: absorbed by strata
    with pytest.raises(InvalidParameterError, match="constant within every site"):
        fit_federated_cox(sites)
    fit = fit_federated_cox(sites, l2=0.1)
    assert abs(fit.coef[-1]) < 1e-8


def test_hazard_ratios_are_exp_coef_with_wald_intervals():
    fit = fit_federated_cox(_hospitals(6), ties="efron")
    hr = fit.hazard_ratios()
    np.testing.assert_allclose(hr[:, 0], np.exp(fit.coef))
    np.testing.assert_allclose(np.log(hr[:, 2]) - fit.coef, 1.959964 * fit.se, rtol=1e-6)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_baseline_hazard_gives_scikit_survivals_survival_function(ties):
    [site] = _hospitals(7, sizes=(300,), coarse=(ties == "efron"))
    y = sksurv_util.Surv.from_arrays(site.event.astype(bool), site.time)
    ref = sksurv_linear.CoxPHSurvivalAnalysis(ties=ties, tol=1e-12).fit(site.X, y)
    times, H = baseline_hazard(site.X, site.time, site.event, ref.coef_, ties=ties)
    horizon = float(np.quantile(site.time, 0.6))
    risk = predicted_risk(site.X[:5], ref.coef_, (times, H), horizon)
    expected = [1 - fn(horizon) for fn in ref.predict_survival_function(site.X[:5])]
    if ties == "breslow":  # scikit-survival's baseline is Breslow's estimator
        np.testing.assert_allclose(risk, expected, rtol=1e-8)
    else:  # Efron's increments are larger at tied times, never smaller
        assert np.all(risk >= np.asarray(expected) - 1e-12)


def test_exact_federated_cox_recovers_the_true_hazard_ratios():
    sites = _hospitals(8, sizes=(3000, 3000), coarse=False)
    fit = fit_federated_cox(sites)
    # times made with exp(-X b / shape): log hazard ratios b
    truth = np.linspace(0.6, -0.4, 4)
    assert np.all(np.abs(fit.coef - truth) < 4 * fit.se)


def test_partial_likelihood_refuses_a_coefficient_of_the_wrong_shape():
    with pytest.raises(InvalidParameterError, match="coef must be 2 finite numbers"):
        partial_likelihood(np.zeros((3, 2)), [1, 2, 3], [1, 0, 1], [0.0])


def test_sites_without_events_cannot_fit_and_sites_must_share_features():
    site = CoxSite(np.zeros((4, 1)), [1, 2, 3, 4], [0, 0, 0, 0])
    with pytest.raises(InvalidParameterError, match="no event"):
        fit_federated_cox([site])
    other = CoxSite(np.zeros((4, 2)), [1, 2, 3, 4], [1, 0, 1, 0])
    with pytest.raises(InvalidParameterError, match="share their features"):
        fit_federated_cox([site, other])
    with pytest.raises(InvalidParameterError, match="ties must be one of"):
        fit_federated_cox([other], ties="exact")
