"""Tests for fedlab.privacy accounting: RDP curve, epsilon, noise calibration, accountant."""

import functools
import itertools
import math

import dp_accounting
import numpy as np
import pytest
from dp_accounting.pld import PLDAccountant
from dp_accounting.rdp import RdpAccountant, compute_epsilon
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from fedlab.privacy import (
    DEFAULT_ORDERS,
    PrivacyAccountant,
    epsilon,
    gaussian_epsilon,
    noise_multiplier_for,
    rdp,
    rdp_to_epsilon,
)

DELTA = 1e-5
INTEGER_ORDERS = [a for a in DEFAULT_ORDERS if float(a).is_integer()]
GRID = list(
    itertools.product([0.5, 0.8, 1.0, 1.5, 3.0], [0.001, 0.01, 0.1, 0.5, 1.0], [1, 10, 1000])
)


def sampled_gaussian_event(noise_multiplier, sample_rate, steps):
    event = dp_accounting.PoissonSampledDpEvent(
        sample_rate, dp_accounting.GaussianDpEvent(noise_multiplier)
    )
    return dp_accounting.SelfComposedDpEvent(event, steps)


def reference_rdp_accountant(noise_multiplier, sample_rate, steps, orders=None):
    accountant = RdpAccountant(orders)
    accountant.compose(sampled_gaussian_event(noise_multiplier, sample_rate, steps))
    return accountant


@functools.cache
def reference_rdp_one_step(noise_multiplier, sample_rate, orders):
    """dp_accounting's per-step RDP curve (cached: it is slow and shared across steps)."""
    return reference_rdp_accountant(noise_multiplier, sample_rate, 1, list(orders)).rdp


def reference_epsilon(noise_multiplier, sample_rate, steps, orders):
    """dp_accounting's RdpAccountant epsilon, from its own curve and conversion."""
    curve = steps * reference_rdp_one_step(noise_multiplier, sample_rate, tuple(orders))
    return compute_epsilon(orders, curve, DELTA)[0]


def log_a_by_quadrature(q, sigma, alpha):
    """log E_{z ~ mu0}[(mu(z) / mu0(z))^alpha], mu = (1 - q) mu0 + q mu1, by scipy quad."""

    def log_integrand(z):
        log_ratio = np.logaddexp(math.log1p(-q), math.log(q) + (2 * z - 1) / (2 * sigma**2))
        log_mu0 = -(z**2) / (2 * sigma**2) - math.log(sigma * math.sqrt(2 * math.pi))
        return log_mu0 + alpha * log_ratio

    shift = max(log_integrand(0.0), log_integrand(alpha))  # keeps exp() in range
    value, _ = integrate.quad(
        lambda z: math.exp(log_integrand(z) - shift), -40 * sigma, alpha + 40 * sigma,
        points=[0.0, alpha], limit=500, epsabs=0, epsrel=1e-13,
    )
    return shift + math.log(value)


# -- the RDP curve ------------------------------------------------------------------------


@pytest.mark.parametrize(("sigma", "q", "steps"), GRID)
def test_rdp_equals_dp_accounting_at_integer_orders(sigma, q, steps):
    reference = steps * reference_rdp_one_step(sigma, q, tuple(INTEGER_ORDERS))

    ours = rdp(noise_multiplier=sigma, sample_rate=q, steps=steps, orders=INTEGER_ORDERS)

    np.testing.assert_allclose(ours, reference, rtol=1e-9)


@pytest.mark.parametrize(
    ("q", "sigma", "alpha"),
    [(0.001, 0.5, 1.5), (0.01, 1.0, 2.5), (0.5, 3.0, 1.1), (0.1, 0.8, 7.7), (0.9, 1.5, 3.3),
     (0.05, 0.3, 10.9), (0.5, 10.0, 1.1), (0.2, 1.0, 40.5), (0.001, 5.0, 2.5)],
)
def test_rdp_at_fractional_orders_matches_numerical_integral(q, sigma, alpha):
    expected = log_a_by_quadrature(q, sigma, alpha) / (alpha - 1)

    ours = rdp(noise_multiplier=sigma, sample_rate=q, steps=1, orders=[alpha])[0]

    np.testing.assert_allclose(ours, expected, rtol=1e-8)


def test_rdp_is_continuous_across_integer_orders():
    # the fractional series and the integer sum are different formulas for one curve
    orders = [2.999999, 3.0, 3.000001]

    curve = rdp(noise_multiplier=1.0, sample_rate=0.05, steps=1, orders=orders)

    np.testing.assert_allclose(curve, curve[1], rtol=1e-5)


def test_rdp_full_batch_is_gaussian_and_scales_with_steps():
    np.testing.assert_allclose(
        rdp(noise_multiplier=2.0, sample_rate=1.0, steps=3, orders=[2.0, 5.5]),
        [3 * 2 / 8, 3 * 5.5 / 8],
    )


def test_rdp_without_noise_is_infinite():
    assert np.all(np.isinf(rdp(noise_multiplier=0.0, sample_rate=0.1, steps=1)))


def test_rdp_returns_a_fresh_array_each_call():
    first = rdp(noise_multiplier=1.0, sample_rate=0.01, steps=1)
    first[:] = -1.0

    assert np.all(rdp(noise_multiplier=1.0, sample_rate=0.01, steps=1) > 0)


def test_rdp_to_epsilon_is_the_improved_conversion():
    alpha, r = 8.0, 0.3

    eps = rdp_to_epsilon([r], DELTA, orders=[alpha])

    expected = r - (math.log(DELTA) + math.log(alpha)) / (alpha - 1) + math.log(1 - 1 / alpha)
    assert eps == pytest.approx(expected, rel=1e-12)
    assert eps < r + math.log(1 / DELTA) / (alpha - 1)  # tighter than Mironov's


# -- epsilon against dp_accounting ------------------------------------------------------------


@pytest.mark.parametrize(("sigma", "q", "steps"), GRID)
def test_epsilon_equals_rdp_accountant_with_same_integer_orders(sigma, q, steps):
    reference = reference_epsilon(sigma, q, steps, INTEGER_ORDERS)

    ours = epsilon(
        noise_multiplier=sigma, sample_rate=q, steps=steps, delta=DELTA, orders=INTEGER_ORDERS
    )

    assert ours == pytest.approx(reference, rel=1e-9)


@pytest.mark.parametrize(("sigma", "q", "steps"), GRID)
def test_epsilon_never_above_rdp_accountant_with_default_orders(sigma, q, steps):
    # Same orders, same conversion; at fractional orders dp_accounting 0.6 sums the
    # absolute values of the series terms (an upper bound), or drops the order when
    # that sum does not converge, so ours can only be lower there.
    reference = reference_epsilon(sigma, q, steps, DEFAULT_ORDERS)

    ours = epsilon(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=DELTA)

    assert ours <= reference * (1 + 1e-9)


# PLD calls take 0.01-0.5 s each: a sub-grid (about 3 s in all).
PLD_GRID = list(itertools.product([0.5, 1.0, 3.0], [0.001, 0.01, 0.1, 0.5], [1, 10, 1000]))


@pytest.mark.parametrize(("sigma", "q", "steps"), PLD_GRID)
def test_rdp_epsilon_is_sound_and_not_far_above_pld(sigma, q, steps):
    tight = epsilon(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=DELTA, method="pld")

    loose = epsilon(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=DELTA)

    assert loose >= tight  # RDP below the near-exact PLD would be unsound
    # In the regime of DP training (an epoch or more, epsilon >= 1) RDP is within 50%;
    # for a few rarely sampled steps its log(1/delta) / (alpha - 1) term dominates and
    # it can be many times looser (e.g. 0.61 vs 0.009 at sigma=1, q=0.001, one step).
    if q * steps >= 1 and tight >= 1:
        assert loose <= 1.5 * tight


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0, 10.0])
def test_single_gaussian_release_rdp_vs_analytic_vs_pld(sigma):
    pld = PLDAccountant(value_discretization_interval=1e-3)
    pld.compose(dp_accounting.GaussianDpEvent(sigma))

    exact = gaussian_epsilon(sigma, DELTA)

    assert epsilon(noise_multiplier=sigma, sample_rate=1.0, steps=1, delta=DELTA) >= exact
    assert pld.get_epsilon(DELTA) == pytest.approx(exact, rel=1e-3)
    assert pld.get_epsilon(DELTA) >= exact * (1 - 1e-9)  # PLD is pessimistic


@pytest.mark.parametrize("sigma", [0.3, 1.0, 4.0])
def test_gaussian_epsilon_solves_the_balle_wang_equation(sigma):
    eps = gaussian_epsilon(sigma, DELTA)

    delta = special.ndtr(1 / (2 * sigma) - eps * sigma) - math.exp(eps) * special.ndtr(
        -1 / (2 * sigma) - eps * sigma
    )
    assert delta == pytest.approx(DELTA, rel=1e-8)


def test_full_batch_pld_is_the_exact_composed_gaussian():
    # T Gaussian releases with noise sigma are one release with noise sigma / sqrt(T)
    assert epsilon(
        noise_multiplier=1.0, sample_rate=1.0, steps=100, delta=DELTA, method="pld"
    ) == pytest.approx(gaussian_epsilon(0.1, DELTA), rel=1e-12)


def test_epsilon_without_noise_is_infinite():
    assert epsilon(noise_multiplier=0.0, sample_rate=0.01, steps=10, delta=DELTA) == math.inf
    assert (
        epsilon(noise_multiplier=0.0, sample_rate=0.01, steps=10, delta=DELTA, method="pld")
        == math.inf
    )


# -- monotonicity -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    sigma=st.floats(0.3, 5.0),
    q=st.floats(1e-3, 0.9),
    steps=st.integers(1, 5000),
    factor=st.floats(1.01, 3.0),
)
def test_epsilon_is_monotone(sigma, q, steps, factor):
    eps = epsilon(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=DELTA)

    assert epsilon(
        noise_multiplier=sigma * factor, sample_rate=q, steps=steps, delta=DELTA
    ) <= eps * (1 + 1e-12)
    assert epsilon(
        noise_multiplier=sigma, sample_rate=q, steps=steps + int(10 * factor), delta=DELTA
    ) >= eps * (1 - 1e-12)
    assert epsilon(
        noise_multiplier=sigma, sample_rate=min(1.0, q * factor), steps=steps, delta=DELTA
    ) >= eps * (1 - 1e-12)


# -- noise_multiplier_for ----------------------------------------------------------------------


@pytest.mark.parametrize("target", [0.5, 1.0, 3.0, 8.0])
@pytest.mark.parametrize(("q", "steps"), [(0.01, 1000), (0.1, 100), (1.0, 50)])
def test_noise_multiplier_for_round_trips(target, q, steps):
    sigma = noise_multiplier_for(target_epsilon=target, sample_rate=q, steps=steps, delta=DELTA)

    assert epsilon(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=DELTA) <= target
    assert (
        epsilon(noise_multiplier=sigma * (1 - 2e-4), sample_rate=q, steps=steps, delta=DELTA)
        > target
    )  # smallest, up to tol
    assert epsilon(
        noise_multiplier=sigma, sample_rate=q, steps=steps, delta=DELTA
    ) == pytest.approx(target, rel=1e-2)


def test_noise_multiplier_for_with_pld_needs_less_noise():
    sigma_pld = noise_multiplier_for(
        target_epsilon=2.0, sample_rate=0.01, steps=1000, delta=DELTA, method="pld", tol=1e-2
    )

    assert (
        epsilon(noise_multiplier=sigma_pld, sample_rate=0.01, steps=1000, delta=DELTA, method="pld")
        <= 2.0
    )
    assert sigma_pld < noise_multiplier_for(
        target_epsilon=2.0, sample_rate=0.01, steps=1000, delta=DELTA
    )


def test_noise_multiplier_for_unreachable_target():
    with pytest.raises(ValueError, match="target_epsilon=1e-06 is out of reach"):
        noise_multiplier_for(target_epsilon=1e-6, sample_rate=1.0, steps=1000, delta=1e-9)


# -- PrivacyAccountant --------------------------------------------------------------------


def test_accountant_stepping_k_times_equals_k_steps():
    accountant = PrivacyAccountant()
    for _ in range(250):
        accountant.step(noise_multiplier=1.1, sample_rate=0.02)

    assert accountant.steps == 250
    assert accountant.epsilon(DELTA) == pytest.approx(
        epsilon(noise_multiplier=1.1, sample_rate=0.02, steps=250, delta=DELTA), rel=1e-12
    )


def test_accountant_heterogeneous_steps_add_rdp_curves():
    accountant = PrivacyAccountant()
    accountant.step(noise_multiplier=2.0, sample_rate=1.0, steps=5)
    accountant.step(noise_multiplier=0.9, sample_rate=0.01, steps=300)

    total = rdp(noise_multiplier=2.0, sample_rate=1.0, steps=5) + rdp(
        noise_multiplier=0.9, sample_rate=0.01, steps=300
    )
    np.testing.assert_allclose(accountant.rdp, total, rtol=1e-12)
    assert accountant.epsilon(DELTA) == pytest.approx(rdp_to_epsilon(total, DELTA), rel=1e-12)
    assert accountant.history == [(2.0, 1.0, 5), (0.9, 0.01, 300)]


def test_accountant_pld_matches_dp_accounting_composition():
    accountant = PrivacyAccountant()
    accountant.step(noise_multiplier=2.0, sample_rate=1.0, steps=5)
    accountant.step(noise_multiplier=0.9, sample_rate=0.01, steps=300)
    reference = PLDAccountant(value_discretization_interval=1e-3)
    reference.compose(dp_accounting.SelfComposedDpEvent(dp_accounting.GaussianDpEvent(2.0), 5))
    reference.compose(sampled_gaussian_event(0.9, 0.01, 300))

    eps = accountant.epsilon(DELTA, method="pld")

    assert eps == pytest.approx(reference.get_epsilon(DELTA), rel=2e-3)
    assert eps <= accountant.epsilon(DELTA)


def test_accountant_starts_at_zero_and_keeps_its_orders():
    accountant = PrivacyAccountant(orders=[2, 4, 8])

    assert accountant.epsilon(DELTA) == 0.0
    np.testing.assert_array_equal(accountant.orders, [2.0, 4.0, 8.0])
    assert repr(accountant) == "PrivacyAccountant(steps=0, events=0)"


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"noise_multiplier": -1}, r"noise_multiplier must be a finite number >= 0, got -1"),
        ({"noise_multiplier": float("nan")}, r"noise_multiplier must be .* got nan"),
        ({"sample_rate": 0}, r"sample_rate must be in \(0, 1\], got 0"),
        ({"sample_rate": 1.5}, r"sample_rate must be in \(0, 1\], got 1.5"),
        ({"steps": 0}, r"steps must be an integer from 1 to 2\*\*63 - 1, got 0"),
        ({"steps": 2.5}, r"steps must be an integer from 1 to 2\*\*63 - 1, got 2.5"),
        ({"delta": 0}, r"delta must be in \(0, 1\), got 0"),
        ({"delta": 1.0}, r"delta must be in \(0, 1\), got 1.0"),
        ({"orders": [0.5, 2]}, r"orders must all be > 1, got 0.5"),
        ({"method": "moments"}, r"method must be one of \('rdp', 'pld'\), got 'moments'"),
    ],
)
def test_epsilon_rejects_bad_arguments(kwargs, message):
    arguments = {"noise_multiplier": 1.0, "sample_rate": 0.01, "steps": 10, "delta": DELTA}

    with pytest.raises(ValueError, match=message):
        epsilon(**{**arguments, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_epsilon": 0}, r"target_epsilon must be a finite number > 0, got 0"),
        ({"target_epsilon": -2.0}, r"target_epsilon must be a finite number > 0, got -2.0"),
        ({"delta": 2}, r"delta must be in \(0, 1\), got 2"),
        ({"tol": 0}, r"tol must be in \(0, 1\), got 0"),
        ({"method": "exact"}, r"method must be one of"),
    ],
)
def test_noise_multiplier_for_rejects_bad_arguments(kwargs, message):
    arguments = {"target_epsilon": 1.0, "sample_rate": 0.01, "steps": 10, "delta": DELTA}

    with pytest.raises(ValueError, match=message):
        noise_multiplier_for(**{**arguments, **kwargs})


def test_accountant_rejects_bad_steps():
    accountant = PrivacyAccountant()

    with pytest.raises(ValueError, match=r"sample_rate must be in \(0, 1\], got -0.1"):
        accountant.step(noise_multiplier=1.0, sample_rate=-0.1)
    with pytest.raises(ValueError, match=r"delta must be in \(0, 1\), got 0"):
        accountant.epsilon(0)
    assert accountant.history == []


@pytest.mark.parametrize("sigma", [1e-100, 1e-152, 1e-153, 1e-160, 1e-300, 5e-324])
@pytest.mark.parametrize("q", [1.0, 0.01])
def test_a_vanishing_noise_never_reads_as_perfect_privacy(sigma, q):
    # Regression (issue 14): below 1e-152 the RDP curve was NaN and epsilon came out 0.0.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eps = epsilon(noise_multiplier=sigma, sample_rate=q, steps=100, delta=DELTA)
        curve = rdp(noise_multiplier=sigma, sample_rate=q, steps=100)
    assert eps > 1e100
    assert not np.isnan(curve).any()


def test_rdp_to_epsilon_refuses_a_nan_curve():
    with pytest.raises(ValueError, match="rdp_curve"):
        rdp_to_epsilon([np.nan, 1.0], DELTA, orders=[2.0, 3.0])


@pytest.mark.parametrize("tol", [1e-300, 1e-17, 5e-324])
def test_noise_search_ends_for_a_tolerance_below_float_resolution(tol):
    # Regression (issue 14): tol=1e-300 looped for ever (1 + tol == 1).
    sigma = noise_multiplier_for(
        target_epsilon=2.0, sample_rate=0.01, steps=1000, delta=DELTA, tol=tol
    )
    assert epsilon(noise_multiplier=sigma, sample_rate=0.01, steps=1000, delta=DELTA) <= 2.0
    assert (
        epsilon(noise_multiplier=sigma * (1 - 1e-14), sample_rate=0.01, steps=1000, delta=DELTA)
        > 2.0
    )


def test_pld_at_small_noise_coarsens_its_grid_and_stays_a_tight_upper_bound():
    # Regression (issue 14): sigma 0.05 took 22 s, 1e-3 over 60 s. The grid step grows
    # as 1 / sigma^2 below 0.25, keeping the relative accuracy.
    from fedlab.privacy.accounting import _pld_epsilon

    _pld_epsilon.cache_clear()
    coarse = epsilon(noise_multiplier=0.05, sample_rate=0.5, steps=3, delta=DELTA, method="pld")
    fine = PLDAccountant(value_discretization_interval=1e-3)
    fine.compose(
        dp_accounting.SelfComposedDpEvent(
            dp_accounting.PoissonSampledDpEvent(0.5, dp_accounting.GaussianDpEvent(0.05)), 3
        )
    )
    reference = fine.get_epsilon(DELTA)
    assert reference <= coarse <= reference * (1 + 1e-3)
    assert coarse < epsilon(
        noise_multiplier=0.05, sample_rate=0.5, steps=3, delta=DELTA
    )  # still tighter than RDP


@pytest.mark.parametrize(
    "sigma, q, steps", [(1e-4, 0.01, 10), (1e-200, 0.01, 10), (1e-3, 1.0, 10**7)]
)
def test_pld_refuses_noise_it_cannot_grid(sigma, q, steps):
    with pytest.raises(ValueError, match="method='rdp'"):
        epsilon(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=DELTA, method="pld")
    accountant = PrivacyAccountant()
    accountant.step(noise_multiplier=sigma, sample_rate=q, steps=steps)
    with pytest.raises(ValueError, match="method='rdp'"):
        accountant.epsilon(DELTA, method="pld")


# -- extreme but legal inputs: a correct answer or a refusal naming the argument -------------


@pytest.mark.parametrize("sigma, q", [(1e10, 0.01), (1e300, 0.01), (1e300, 1.0), (1.0, 1e-300),
                                      (1e10, 1e-300), (1e150, 0.5)])
def test_rdp_answers_at_extreme_noise_and_rates(sigma, q):
    """The subsampled curve lies between 0 and the Gaussian's alpha / (2 sigma^2): epsilon 0."""
    curve = rdp(noise_multiplier=sigma, sample_rate=q, steps=100)
    assert np.all(curve >= 0)
    assert np.all(curve <= 100 * np.asarray(DEFAULT_ORDERS) / (2 * sigma) / sigma * (1 + 1e-12))
    assert epsilon(noise_multiplier=sigma, sample_rate=q, steps=100, delta=1e-5) == 0.0
    acc = PrivacyAccountant()
    acc.step(noise_multiplier=sigma, sample_rate=q, steps=100)
    assert acc.epsilon(1e-5) == 0.0


def test_rdp_near_the_series_limit_stays_monotone_in_the_noise():
    """Where the series hands over to the Gaussian bound, epsilon still falls as noise grows."""
    values = [epsilon(noise_multiplier=s, sample_rate=0.01, steps=10**6, delta=1e-300)
              for s in (1e2, 1e50, 1e99, 1e101, 1e200)]
    assert all(a >= b for a, b in zip(values, values[1:]))


@pytest.mark.parametrize("sigma", [1e30, 1e300])
def test_full_batch_pld_at_huge_noise_is_zero(sigma):
    assert epsilon(noise_multiplier=sigma, sample_rate=1.0, steps=100, delta=1e-5,
                   method="pld") == 0.0


def test_pld_refuses_a_subsampled_noise_it_cannot_grid_naming_it():
    with pytest.raises(ValueError, match=r"noise_multiplier must be <= 1e\+100 .*method='rdp'"):
        epsilon(noise_multiplier=1e300, sample_rate=0.01, steps=100, delta=1e-5, method="pld")


@pytest.mark.parametrize("steps", [2**63, 10**300, 10**400])
def test_epsilon_refuses_a_step_count_beyond_int64_naming_it(steps):
    for method in ("rdp", "pld"):
        with pytest.raises(ValueError, match=r"steps must be an integer from 1 to 2\*\*63 - 1, "
                                             r"got an integer of (19|301|401) digits"):
            epsilon(noise_multiplier=1.0, sample_rate=0.5, steps=steps, delta=1e-5,
                    method=method)


def test_noise_search_at_a_vanishing_rate_meets_the_budget():
    sigma = noise_multiplier_for(target_epsilon=1.0, sample_rate=1e-300, steps=100, delta=1e-5)
    assert 0 < sigma < 1
    assert epsilon(noise_multiplier=sigma, sample_rate=1e-300, steps=100, delta=1e-5) <= 1.0
