"""Synthetic patient records whose 10-year CVD label follows the Framingham equation."""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_int
from fedlab._validation import check_rng as check_random_state

from .follow_up import cvd_event_times, follow_up
from .framingham import framingham_risk
from .partition import permutation
from .profiles import get_profile
from .schema import FEATURES
from .sites import Site


def generate_patients(n, *, profile="metro_university", random_state=None):
    """Draw ``n`` synthetic patients of one hospital profile.

    Parameters
    ----------
    n : int
        Number of patients, >= 1.
    profile : str or Profile, default="metro_university"
        A slug of ``PROFILES`` or a ``Profile`` of your own.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator; the same seed gives the same patients.

    Returns
    -------
    Site
        Named after the profile, with columns ``FEATURES`` (as the site records them:
        device offset added, missing values as ``nan``) and labels ``cvd_10y``.

    Notes
    -----
    Patients are drawn feature by feature, each depending on the ones before it
    (a small structural causal model; all numbers in ``data/README.md``)::

        age ~ truncated normal, sex ~ Bernoulli(male_fraction), bmi ~ N(bmi_mean, 5)
        smoker   ~ Bernoulli(logistic(logit(smoking_rate) - 0.035 (age - 50)
                                      + 0.3 (male - 0.5)))
        diabetes ~ Bernoulli(logistic(-2.7 + 0.045 (age - 50) + 0.13 (bmi - 27) + 0.25 male))
        SBP before treatment = 118 + 0.6 (age - 50) + 0.9 (bmi - 27) + 4 male + N(0, 15)
        bp_treated ~ Bernoulli(logistic(-1.0 + 0.06 (SBP - 130) + 0.04 (age - 55)
                                        + 0.6 diabetes)); treatment lowers SBP ~10 mmHg
        total_chol = 188 + 0.5 (age - 50) + 1.0 (bmi - 27) + 6 female + N(0, 36)
        ln hdl = ln(46 men | 57 women) - 0.015 (bmi - 27) - 0.07 smoker
                 - 0.06 diabetes + N(0, 0.24)
        glucose, hba1c: about 95 mg/dL and 5.4 % without diabetes, 150 and 7.4 % with

    and the label is ``cvd_10y ~ Bernoulli(framingham_risk(..., shift=risk_shift))``,
    computed from the *true* values before the site's recording quirks are applied.

    Examples
    --------
    >>> site = generate_patients(500, profile="hillcrest_rural", random_state=0)
    >>> site.X.shape
    (500, 11)
    >>> bool(site.column("age").min() >= 30)
    True
    """
    n = check_int(n, "n", minimum=1)
    return _draw_site(n, get_profile(profile), check_random_state(random_state))[0]


def generate_cohort(n, *, profile="metro_university", random_state=None):
    """Draw ``n`` patients of one profile with their follow-up: event times and censoring.

    The same patients as :func:`generate_patients` with the same ``random_state`` (the
    same draws, in the same order), plus what a cohort study observes of them.

    Parameters
    ----------
    n : int
        Number of patients, >= 1.
    profile : str or Profile, default="metro_university"
        A slug of ``PROFILES`` or a ``Profile`` of your own (its ``follow_up`` and
        ``loss_rate`` set the censoring).
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator. The follow-up is drawn from a stream spawned from it
        (``Generator.spawn``), so drawing it moves none of the patients' values.

    Returns
    -------
    site : Site
        What :func:`generate_patients` returns.
    follow : dict of str to ndarray of shape (n,)
        ``cvd_time`` (years, observed: to the event or the end of follow-up),
        ``cvd_event`` (0/1) and ``noncvd_death`` (0/1, a competing event), as
        :func:`fedlab.data.follow_up.follow_up` describes. A patient's true event time is
        at most 10 years exactly when ``cvd_10y`` is 1.

    Examples
    --------
    >>> site, follow = generate_cohort(200, profile="rosewood_womens", random_state=0)
    >>> bool((site.X == generate_patients(200, profile="rosewood_womens",
    ...                                   random_state=0).X)[~np.isnan(site.X)].all())
    True
    >>> bool(np.all(follow["cvd_time"][site.y == 1] <= 10))
    True
    """
    n = check_int(n, "n", minimum=1)
    p = get_profile(profile)
    rng = check_random_state(random_state)
    [follow_rng] = rng.spawn(1)
    site, true, risk = _draw_site(n, p, rng)
    event_time = cvd_event_times(risk, site.y, random_state=follow_rng)
    follow = follow_up(event_time, true["age"], true["sex"], profile=p,
                       random_state=follow_rng)
    return site, follow


def _draw_site(n, p, rng):
    """The recorded ``Site``, the true values and each patient's 10-year risk."""
    true = _draw_true_values(n, p, rng)
    risk = framingham_risk(
        true["age"], true["sex"], true["total_chol"], true["hdl"], true["sbp"],
        true["bp_treated"], true["smoker"], true["diabetes"], shift=p.risk_shift,
    )
    y = (rng.random(n) < risk).astype(np.int64)

    recorded = dict(true)
    recorded["sbp"] = true["sbp"] + p.sbp_offset
    for column, fraction in p.missing:
        if column not in recorded:
            raise InvalidParameterError(
                f"profile {p.slug!r}: missing column {column!r} is not a feature"
            )
        rows = permutation(rng, n)[: int(round(fraction * n))]
        recorded[column] = recorded[column].copy()
        recorded[column][rows] = np.nan
    X = np.column_stack([recorded[name] for name in FEATURES])
    return Site(p.name, X, y, FEATURES), true, risk


def _draw_true_values(n, p, rng):
    """The true, rounded values of every feature (before device offsets and missingness)."""
    age = np.floor(_truncated_normal(rng, p.age_mean, p.age_sd, p.age_min, p.age_max + 1, n))
    male = (rng.random(n) < p.male_fraction).astype(float)
    bmi = np.round(_truncated_normal(rng, p.bmi_mean, 5.0, 16, 55, n), 1)

    smoke_logit = _logit(p.smoking_rate) - 0.035 * (age - 50) + 0.3 * (male - 0.5)
    smoker = _bernoulli(rng, smoke_logit)
    diabetes = _bernoulli(rng, -2.7 + 0.045 * (age - 50) + 0.13 * (bmi - 27) + 0.25 * male)

    sbp_untreated = _truncated_normal(
        rng, 118 + 0.6 * (age - 50) + 0.9 * (bmi - 27) + 4 * male, 15, 85, 240, n
    )
    treated = _bernoulli(
        rng, -1.0 + 0.06 * (sbp_untreated - 130) + 0.04 * (age - 55) + 0.6 * diabetes
    )
    drop = _truncated_normal(rng, 10, 6, 0, 30, n)
    sbp = np.round(np.maximum(sbp_untreated - treated * drop, 80))

    total_chol = np.round(
        _truncated_normal(
            rng, 188 + 0.5 * (age - 50) + 1.0 * (bmi - 27) + 6 * (1 - male), 36, 110, 360, n
        )
    )
    log_hdl_mean = (
        np.log(np.where(male == 1, 46.0, 57.0))
        - 0.015 * (bmi - 27)
        - 0.07 * smoker
        - 0.06 * diabetes
    )
    hdl = np.round(np.exp(_truncated_normal(rng, log_hdl_mean, 0.24, np.log(20), np.log(120), n)))

    glucose_normal = _truncated_normal(rng, 93 + 0.7 * (bmi - 27) + 0.1 * (age - 50), 9, 65, 125, n)
    glucose_diabetic = np.exp(_truncated_normal(rng, np.log(150), 0.28, np.log(90), np.log(450), n))
    glucose_normal, glucose_diabetic = np.round(glucose_normal), np.round(glucose_diabetic)
    glucose = np.where(diabetes == 1, glucose_diabetic, glucose_normal)
    hba1c_normal = _truncated_normal(rng, 5.35 + 0.018 * (glucose_normal - 93), 0.28, 4.0, 6.4, n)
    hba1c_diabetic = _truncated_normal(
        rng, 7.4 + 0.018 * (glucose_diabetic - 150), 0.9, 5.6, 14.0, n
    )
    hba1c = np.round(np.where(diabetes == 1, hba1c_diabetic, hba1c_normal), 1)

    return {
        "age": age,
        "sex": male,
        "bmi": bmi,
        "sbp": sbp,
        "bp_treated": treated,
        "total_chol": total_chol,
        "hdl": hdl,
        "smoker": smoker,
        "diabetes": diabetes,
        "glucose": glucose,
        "hba1c": hba1c,
    }


def _truncated_normal(rng, mean, sd, low, high, n):
    """Normal(mean, sd) draws redrawn until they fall in ``[low, high)``.

    After 50 rounds (only if a mean lies far outside the range) the rest are clipped.
    """
    mean = np.broadcast_to(np.asarray(mean, dtype=float), (n,))
    x = mean + sd * rng.standard_normal(n)
    for _ in range(50):
        bad = (x < low) | (x >= high)
        if not bad.any():
            return x
        x[bad] = mean[bad] + sd * rng.standard_normal(int(bad.sum()))
    return np.clip(x, low, np.nextafter(high, low))


def _bernoulli(rng, logit):
    """0/1 floats drawn with probability ``logistic(logit)``."""
    logit = np.asarray(logit, dtype=float)
    return (rng.random(logit.shape) < 1.0 / (1.0 + np.exp(-logit))).astype(float)


def _logit(p):
    return float(np.log(p / (1 - p)))
