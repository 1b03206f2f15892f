"""Time to a cardiovascular event, and the follow-up that censors it, for synthetic patients.

The event times come from the same Cox model as the 10-year label (the Framingham general
CVD equation, D'Agostino et al. 2008) with a Weibull baseline hazard, drawn *conditional on
the label*: the time is at most 10 years exactly when ``cvd_10y`` is 1. Follow-up then ends
at the first of the event, the site's end of study (administrative censoring), loss to
follow-up, or a death from another cause (a competing event).
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_positive

#: Shape ``k`` of the Weibull baseline: cumulative hazard ``H0(t) = H0(10) (t / 10) ** k``.
#: ``k > 1`` makes the hazard rise with time since the baseline visit, as patients age.
WEIBULL_SHAPE = 1.25

#: Non-CVD mortality (Gompertz): hazard ``rate * exp(slope * (age + t - 50))`` a year.
OTHER_DEATH_RATE = {"women": 0.0025, "men": 0.0035}
OTHER_DEATH_SLOPE = 0.085  # the hazard doubles every ln 2 / 0.085 = 8.2 years of age

#: Observed times are rounded *up* to this many decimals of a year (0.001 y = 8.8 hours),
#: so a time above 10 years never rounds down to 10 and no time rounds to 0.
TIME_DECIMALS = 3


def cvd_event_times(risk, label, *, shape=WEIBULL_SHAPE, horizon=10.0, random_state):
    """True times to a CVD event, in years, drawn given each patient's 10-year label.

    Parameters
    ----------
    risk : array-like of shape (n_patients,)
        Each patient's risk of an event within ``horizon`` years, in (0, 1).
    label : array-like of shape (n_patients,)
        0/1: whether the event happened within ``horizon`` years (drawn with ``risk``).
    shape : float, default=WEIBULL_SHAPE
        Weibull shape of the baseline hazard.
    horizon : float, default=10.0
        Years at which ``risk`` is given.
    random_state : numpy.random.Generator
        The stream the times are drawn from (two arrays of ``n_patients`` draws).

    Returns
    -------
    ndarray of shape (n_patients,)
        Positive times, ``<= horizon`` exactly where ``label`` is 1.

    Notes
    -----
    A proportional-hazards model with cumulative hazard :math:`H(t) = H(\\tau) (t/\\tau)^k`
    and :math:`H(\\tau) = -\\ln(1 - \\text{risk})` reproduces the risk at :math:`\\tau`. Its
    time :math:`T` given the label is drawn by inverting the conditional distribution:

    .. math::

        T \\mid T \\le \\tau:\\ H(T) = -\\ln(1 - U\\,\\text{risk}), \\qquad
        T \\mid T > \\tau:\\ H(T) = H(\\tau) + E,

    with :math:`U` uniform and :math:`E` standard exponential (memorylessness of the
    cumulative hazard), then :math:`T = \\tau\\,(H(T)/H(\\tau))^{1/k}`. Mixing the two
    with probabilities risk and 1 - risk gives back the unconditional Weibull time, so the
    labels already drawn keep their meaning.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = cvd_event_times([0.2, 0.2, 0.05], [1, 0, 0], random_state=rng)
    >>> bool(t[0] <= 10 < t[1] and 10 < t[2])
    True
    """
    risk = np.asarray(risk, dtype=float)
    label = np.asarray(label)
    if risk.shape != label.shape or risk.ndim != 1:
        raise InvalidParameterError(f"risk and label must be 1-D of one shape, got {risk.shape} "
                                    f"and {label.shape}")
    if not np.all((risk > 0) & (risk < 1)):
        raise InvalidParameterError("risk must lie strictly between 0 and 1")
    shape = check_positive(shape, "shape")
    uniform = random_state.random(len(risk))
    extra = random_state.standard_exponential(len(risk))
    h_horizon = -np.log1p(-risk)
    h_event = np.where(label == 1, -np.log1p(-uniform * risk), h_horizon + extra)
    time = horizon * (h_event / h_horizon) ** (1.0 / shape)
    return np.where(label == 1, time, np.maximum(time, np.nextafter(horizon, np.inf)))


def other_death_times(age, male, *, random_state):
    """Years from the baseline visit to a death from a non-cardiovascular cause.

    Gompertz hazard ``OTHER_DEATH_RATE[sex] * exp(OTHER_DEATH_SLOPE * (age + t - 50))``,
    drawn by inverting its cumulative hazard (one exponential draw a patient).

    Examples
    --------
    >>> t = other_death_times([50, 80], [0, 1], random_state=np.random.default_rng(0))
    >>> bool(np.all(t > 0))
    True
    """
    age, male = np.asarray(age, dtype=float), np.asarray(male)
    rate = np.where(male == 1, OTHER_DEATH_RATE["men"], OTHER_DEATH_RATE["women"])
    at_entry = rate * np.exp(OTHER_DEATH_SLOPE * (age - 50))
    exposure = random_state.standard_exponential(len(age))
    return np.log1p(exposure * OTHER_DEATH_SLOPE / at_entry) / OTHER_DEATH_SLOPE


def follow_up(event_time, age, male, *, profile, random_state):
    """What the site observes: ``cvd_time``, ``cvd_event`` and ``noncvd_death``.

    Parameters
    ----------
    event_time : ndarray of shape (n_patients,)
        True times to a CVD event (:func:`cvd_event_times`).
    age, male : ndarray of shape (n_patients,)
        Age at the baseline visit and sex (1 = male), for the competing non-CVD deaths.
    profile : Profile
        Gives the site's ``follow_up`` (years from the baseline visit to the end of the
        study, uniform between the two values: patients enrolled at an even pace) and
        ``loss_rate`` (loss to follow-up, an exponential rate per year).
    random_state : numpy.random.Generator
        Draws, in order: the end of study, the loss to follow-up, the non-CVD death.

    Returns
    -------
    dict of str to ndarray
        ``cvd_time``: years to the first of event, end of study, loss or death, rounded up
        to ``TIME_DECIMALS``; ``cvd_event``: 1 if that is the CVD event; ``noncvd_death``:
        1 if it is a death from another cause (a competing event: a Cox model of CVD
        treats it as censoring). Both 0: censored alive.
    """
    n = len(event_time)
    low, high = profile.follow_up
    if not 0 < low <= high or not profile.loss_rate > 0:
        raise InvalidParameterError(
            f"profile {profile.slug!r}: follow_up must be (low, high) with 0 < low <= high "
            f"and loss_rate > 0, got {profile.follow_up} and {profile.loss_rate}")
    end_of_study = low + (high - low) * random_state.random(n)
    lost = random_state.standard_exponential(n) / profile.loss_rate
    death = other_death_times(age, male, random_state=random_state)
    observed = np.minimum.reduce([event_time, end_of_study, lost, death])
    scale = 10.0 ** TIME_DECIMALS
    return {
        "cvd_time": np.ceil(observed * scale) / scale,
        "cvd_event": (event_time == observed).astype(np.int64),
        "noncvd_death": ((death == observed) & (event_time != observed)).astype(np.int64),
    }
