"""Clipping and the Gaussian mechanism, and its calibration (Dwork & Roth 2014; Balle & Wang 2018).

Clipping bounds how much one record (or one client) can move a sum: its L2
sensitivity. Gaussian noise scaled to that bound then hides any single contribution.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from scipy import optimize, special

from fedlab._validation import InvalidParameterError, check_rng

from .renyi import check_delta, check_noise_multiplier

__all__ = [
    "EXACT_MIN_NOISE",
    "add_gaussian_noise",
    "classic_gaussian_sigma",
    "clip_by_l2_norm",
    "noisy_clipped_sum",
    "gaussian_epsilon",
    "gaussian_mechanism",
]


#: Smallest noise multiplier :func:`gaussian_epsilon` takes: its epsilon is already
#: above 10^11, and float64 breaks down two decades lower.
EXACT_MIN_NOISE = 1e-6


def clip_by_l2_norm(vectors, clip_norm, *, return_norms=False):
    """Scale each vector down to L2 norm at most ``clip_norm``; shorter ones are unchanged.

    Parameters
    ----------
    vectors : array-like of shape (n_features,) or (n_vectors, n_features)
        One vector, or one per row (e.g. per-example gradients, per-client updates).
    clip_norm : float
        The clipping bound ``C``, > 0.
    return_norms : bool, default=False
        Also return the norms before clipping (to see how many were clipped).

    Returns
    -------
    clipped : ndarray of the same shape as ``vectors``
    norms : float or ndarray of shape (n_vectors,)
        Only if ``return_norms``: the L2 norm of each input vector.

    Raises
    ------
    ValueError
        If ``clip_norm`` is not a finite number > 0, ``vectors`` is not 1-D or 2-D, or a
        vector holds NaN or infinity (its norm would be NaN or infinite: clipping could not
        bound it, and the noisy sum would be NaN).

    Notes
    -----
    Each row ``g`` becomes ``g * min(1, C / ||g||_2)``: the direction is kept and the norm
    becomes ``min(||g||, C)`` (up to floating-point rounding). After clipping, adding or
    removing one row changes the sum by at most ``C`` in L2 norm, the sensitivity the
    Gaussian mechanism needs (Abadi et al. 2016).

    References
    ----------
    .. [1] Abadi, M., et al. (2016). Deep learning with differential privacy. CCS.

    Examples
    --------
    >>> clip_by_l2_norm([[3.0, 4.0], [0.3, 0.4]], 1.0)
    array([[0.6, 0.8],
           [0.3, 0.4]])
    >>> clipped, norms = clip_by_l2_norm([3.0, 4.0], 1.0, return_norms=True)
    >>> float(norms)
    5.0
    """
    clip_norm = _check_positive(clip_norm, "clip_norm")
    arr = np.asarray(vectors, dtype=float)
    if arr.ndim not in (1, 2):
        raise InvalidParameterError(
            "vectors must be 1-D (n_features,) or 2-D (n_vectors, n_features), "
            f"got shape {arr.shape}"
        )
    finite = np.isfinite(arr).all(axis=-1)
    if not np.all(finite):
        where = "" if arr.ndim == 1 else f" (row {int(np.argmin(finite))})"
        raise InvalidParameterError(
            f"vectors must be finite to be clipped, got NaN or infinity{where}"
        )
    norms = np.linalg.norm(arr, axis=-1, keepdims=True)
    clipped = arr * (clip_norm / np.maximum(norms, clip_norm))
    if return_norms:
        return clipped, (float(norms[0]) if arr.ndim == 1 else norms[:, 0])
    return clipped


def noisy_clipped_sum(vectors, clip_norm, noise_std, *, rng, return_norms=False):
    """Clip each row to L2 norm ``clip_norm``, sum the rows, add ``N(0, noise_std^2)`` noise.

    The one step that DP-SGD (per example) and DP-FedAvg (per client) share.

    Parameters
    ----------
    vectors : array-like of shape (n_vectors, n_params)
        Possibly no rows: the noise is added to a zero sum all the same.
    clip_norm : float
        ``C``, > 0.
    noise_std : float
        Standard deviation of the noise on each coordinate of the sum (``sigma C``), >= 0.
    rng : numpy.random.Generator
    return_norms : bool, default=False
        Also return the rows' norms before clipping.

    Returns
    -------
    ndarray of shape (n_params,)
        ``sum_i clip(v_i) + N(0, noise_std^2 I)``; with ``return_norms``, also the norms.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noisy_clipped_sum([[3.0, 4.0], [0.3, 0.4]], 1.0, 0.0, rng=rng)
    array([0.9, 1.2])
    """
    arr = np.asarray(vectors, dtype=float)
    if arr.ndim != 2:
        raise InvalidParameterError(
            f"vectors must be 2-D (n_vectors, n_params), got shape {arr.shape}"
        )
    if len(arr):
        clipped, norms = clip_by_l2_norm(arr, clip_norm, return_norms=True)
        total = clipped.sum(axis=0)
    else:
        _check_positive(clip_norm, "clip_norm")
        total, norms = np.zeros(arr.shape[1]), np.zeros(0)
    total = total + rng.normal(0.0, noise_std, size=arr.shape[1])
    return (total, norms) if return_norms else total


def gaussian_mechanism(value, *, sensitivity, noise_multiplier, random_state=None):
    """Release ``value`` plus Gaussian noise of std ``noise_multiplier * sensitivity``.

    Parameters
    ----------
    value : float or array-like
        The exact answer (a count, a mean, a sum of clipped updates).
    sensitivity : float
        L2 sensitivity: the most one individual can change ``value``, > 0.
    noise_multiplier : float
        Noise standard deviation in units of ``sensitivity``, >= 0.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator for the noise.

    Returns
    -------
    float or ndarray
        ``value`` plus independent ``N(0, (noise_multiplier * sensitivity)^2)`` noise in
        each coordinate; a float for a scalar ``value``.

    Notes
    -----
    With ``noise_multiplier = sigma`` one release is (epsilon, delta)-DP for the epsilon
    of :func:`gaussian_epsilon`; repeated or subsampled releases are counted by
    :func:`fedlab.privacy.epsilon`.

    References
    ----------
    .. [1] Dwork, C., & Roth, A. (2014). The algorithmic foundations of differential
       privacy, Section 3.5 and Appendix A.

    Examples
    --------
    >>> noisy = gaussian_mechanism(120.0, sensitivity=1.0, noise_multiplier=2.0,
    ...                            random_state=0)
    >>> round(noisy, 2)
    120.25
    """
    sensitivity = _check_positive(sensitivity, "sensitivity")
    noise_multiplier = check_noise_multiplier(noise_multiplier)
    return add_gaussian_noise(
        value, noise_std=noise_multiplier * sensitivity, random_state=random_state
    )


def add_gaussian_noise(values, *, noise_std, random_state=None):
    """Add independent ``N(0, noise_std^2)`` noise to every coordinate of ``values``.

    Parameters
    ----------
    values : float or array-like
    noise_std : float
        Standard deviation of the noise, >= 0.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator for the noise.

    Returns
    -------
    float or ndarray
        Same shape as ``values``; a float for a scalar.

    Examples
    --------
    >>> add_gaussian_noise([1.0, 2.0], noise_std=0.0)
    array([1., 2.])
    """
    if not isinstance(noise_std, numbers.Real) or not 0 <= noise_std < math.inf:
        raise InvalidParameterError(f"noise_std must be a finite number >= 0, got {noise_std!r}")
    rng = check_rng(random_state)
    arr = np.asarray(values, dtype=float)
    noisy = arr + rng.normal(0.0, noise_std, size=arr.shape)
    return float(noisy) if noisy.ndim == 0 else noisy


def gaussian_epsilon(noise_multiplier, delta):
    """Exact epsilon of one Gaussian release with sensitivity 1 (analytic Gaussian mechanism).

    Parameters
    ----------
    noise_multiplier : float
        Noise standard deviation over the L2 sensitivity, >= :data:`EXACT_MIN_NOISE`.
    delta : float
        Target delta in (0, 1).

    Returns
    -------
    float
        The smallest epsilon >= 0 for which the release is (epsilon, delta)-DP.

    Notes
    -----
    Balle & Wang (2018, Thm. 8): ``N(0, sigma^2)`` noise on a sensitivity-1 query is
    (epsilon, delta)-DP exactly when
    ``Phi(1/(2 sigma) - epsilon sigma) - exp(epsilon) Phi(-1/(2 sigma) - epsilon sigma) <= delta``.
    The left side falls with epsilon; it is solved with ``scipy.optimize.brentq`` in log
    scale. Any accountant (RDP, PLD) must give at least this for one step at ``q = 1``.

    References
    ----------
    .. [1] Balle, B., & Wang, Y.-X. (2018). Improving the Gaussian mechanism for
       differential privacy: analytical calibration and optimal denoising. ICML.

    Examples
    --------
    >>> round(gaussian_epsilon(1.0, 1e-5), 3)
    4.377
    >>> from fedlab.privacy import epsilon
    >>> rdp_bound = epsilon(noise_multiplier=1.0, sample_rate=1.0, steps=1, delta=1e-5)
    >>> gaussian_epsilon(1.0, 1e-5) < rdp_bound  # RDP is looser
    True
    """
    sigma = check_noise_multiplier(noise_multiplier)
    if sigma < EXACT_MIN_NOISE:
        raise InvalidParameterError(
            f"noise_multiplier must be >= {EXACT_MIN_NOISE:g} (its epsilon is "
            f"already above 10^11), got {sigma!r}"
        )
    delta = check_delta(delta)

    def log_delta_gap(eps):
        log_p = special.log_ndtr(1 / (2 * sigma) - eps * sigma)
        log_m = eps + special.log_ndtr(-1 / (2 * sigma) - eps * sigma)
        gap = -math.expm1(log_m - log_p)  # 0 when the two tails round alike (huge sigma)
        return log_p + math.log(gap) - math.log(delta) if gap > 0 else -math.inf

    if log_delta_gap(0.0) <= 0:
        return 0.0
    hi = 1.0
    while log_delta_gap(hi) > 0:
        hi *= 2
    return optimize.brentq(log_delta_gap, 0.0, hi, xtol=1e-12, rtol=1e-12)


def classic_gaussian_sigma(epsilon, delta):
    """Noise multiplier of the classic Gaussian mechanism, ``sqrt(2 ln(1.25 / delta)) / epsilon``.

    Parameters
    ----------
    epsilon : float
        Target epsilon, in (0, 1) for the guarantee to hold.
    delta : float
        Target delta in (0, 1).

    Returns
    -------
    float

    Warns
    -----
    UserWarning
        If ``epsilon >= 1``, where the textbook proof does not apply.

    Notes
    -----
    The textbook bound is loose: :func:`gaussian_epsilon` of the returned sigma is
    well below ``epsilon``.

    References
    ----------
    .. [1] Dwork, C., & Roth, A. (2014). The algorithmic foundations of differential
       privacy, Theorem A.1.

    Examples
    --------
    >>> sigma = classic_gaussian_sigma(0.5, 1e-5)
    >>> round(sigma, 3)
    9.69
    >>> round(gaussian_epsilon(sigma, 1e-5), 3)  # what that sigma really buys
    0.353
    """
    if not isinstance(epsilon, numbers.Real) or not 0 < epsilon < math.inf:
        raise InvalidParameterError(f"epsilon must be a finite number > 0, got {epsilon!r}")
    delta = check_delta(delta)
    if epsilon >= 1:
        warnings.warn(
            f"the classic Gaussian calibration is proven only for epsilon < 1, got {epsilon!r}; "
            "gaussian_epsilon gives the exact epsilon of a noise multiplier",
            UserWarning,
            stacklevel=2,
        )
    return math.sqrt(2 * math.log(1.25 / delta)) / epsilon


def _check_positive(value, name):
    if not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise InvalidParameterError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)
