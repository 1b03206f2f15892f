"""Rényi DP of the Poisson-subsampled Gaussian mechanism (Mironov, Talwar & Zhang 2019).

The maths behind :func:`fedlab.privacy.epsilon`: the RDP curve of one noisy step, and
the conversion of a (composed) RDP curve into an (epsilon, delta) guarantee.
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np
from scipy import special

from fedlab._validation import InvalidParameterError

__all__ = ["DEFAULT_ORDERS", "rdp", "rdp_to_epsilon"]

#: Rényi orders alpha tried by default: those of ``dp_accounting``'s ``RdpAccountant``
#: (and, up to 63, of Opacus). Small fractional orders suit large epsilons, large orders
#: small ones.
DEFAULT_ORDERS = tuple(
    [1 + x / 10.0 for x in range(1, 100)] + list(range(11, 64)) + [128, 256, 512, 1024]
)

_FRAC_TERMS = 128  # terms of the fractional-order series beyond ceil(alpha)
_EULER_LEVELS = 8  # rounds of averaging of its alternating tail
_SERIES_MAX_NOISE = 1e100  # beyond it sigma**2 nears overflow; the Gaussian bound is ~0 there


def rdp(*, noise_multiplier, sample_rate, steps, orders=None):
    """RDP curve of the Poisson-subsampled Gaussian mechanism run ``steps`` times.

    Parameters
    ----------
    noise_multiplier : float
        Noise standard deviation divided by the L2 sensitivity (the clipping norm), >= 0.
    sample_rate : float
        Probability ``q`` in (0, 1] that a record (or client) takes part in a step.
    steps : int
        Number of steps composed, >= 1.
    orders : sequence of float, optional
        Rényi orders alpha > 1; default :data:`DEFAULT_ORDERS`.

    Returns
    -------
    ndarray of shape (n_orders,)
        The Rényi divergence bound at each order (``inf`` when ``noise_multiplier`` is 0).

    Raises
    ------
    ValueError
        If an argument is out of range (see :func:`fedlab.privacy.epsilon`).

    Notes
    -----
    One step releases ``sum_{i in batch} g_i + N(0, sigma^2)`` with each record in the
    batch with probability ``q``. For neighbouring datasets the output densities are
    ``mu0 = N(0, sigma^2)`` and ``mu = (1 - q) mu0 + q N(1, sigma^2)``, and the RDP at
    order alpha is ``log(A_alpha) / (alpha - 1)`` with
    ``A_alpha = E_{z ~ mu0}[(mu(z) / mu0(z))^alpha]`` (Mironov et al. 2019). At integer
    alpha the binomial theorem gives the finite sum

    ``A_alpha = sum_{i=0}^{alpha} C(alpha, i) (1 - q)^(alpha - i) q^i exp((i^2 - i) / (2 sigma^2))``

    computed here as ``A_alpha - 1`` (the ``i = 0, 1`` terms cancel the 1) in log space.
    At fractional alpha the integral is split at ``z0 = sigma^2 log(1/q - 1) + 1/2`` and
    each half expanded in a binomial series with ``erfc`` weights (their Section 3.3);
    its terms alternate in sign and shrink only polynomially, so the tail is summed with
    Euler's trick of averaging consecutive partial sums. At ``q = 1`` the curve is the
    Gaussian mechanism's ``alpha / (2 sigma^2)``. Composition adds curves, so the result
    is ``steps`` times the curve of one step.

    References
    ----------
    .. [1] Mironov, I. (2017). Rényi differential privacy. CSF.
    .. [2] Mironov, I., Talwar, K., & Zhang, L. (2019). Rényi differential privacy of the
       sampled Gaussian mechanism. arXiv:1908.10530.

    Examples
    --------
    >>> # full-batch Gaussian: alpha / (2 sigma^2)
    >>> rdp(noise_multiplier=2.0, sample_rate=1.0, steps=1, orders=[2, 4])
    array([0.25, 0.5 ])
    >>> curve = rdp(noise_multiplier=1.0, sample_rate=0.01, steps=1000)
    >>> bool(np.all(np.diff(curve) >= 0))  # RDP grows with the order
    True
    """
    noise_multiplier = check_noise_multiplier(noise_multiplier)
    sample_rate = check_sample_rate(sample_rate)
    steps = check_steps(steps)
    orders = check_orders(orders)
    with np.errstate(over="ignore"):
        return steps * _rdp_one_step(noise_multiplier, sample_rate, orders)


def rdp_to_epsilon(rdp_curve, delta, *, orders=None):
    """Smallest epsilon over the orders for an RDP curve, with the improved conversion.

    Parameters
    ----------
    rdp_curve : array-like of shape (n_orders,)
        RDP at each order, e.g. from :func:`rdp`.
    delta : float
        Target delta in (0, 1).
    orders : sequence of float, optional
        The orders of ``rdp_curve``; default :data:`DEFAULT_ORDERS`.

    Returns
    -------
    float
        The epsilon, >= 0 (``inf`` when every order is ``inf``).

    Notes
    -----
    An (alpha, r)-RDP mechanism is (epsilon, delta)-DP with (Balle et al. 2020, Prop. 12;
    Canonne, Kamath & Steinke 2020)

    ``epsilon = r + log((alpha - 1) / alpha) - (log(delta) + log(alpha)) / (alpha - 1)``,

    a little tighter than Mironov's ``r + log(1 / delta) / (alpha - 1)``. As in
    ``dp_accounting``, an order whose ``r`` is so small that
    ``delta >= sqrt(1 - exp(-r))`` gives epsilon 0 (the total-variation bound).

    References
    ----------
    .. [1] Balle, B., Barthe, G., Gaboardi, M., Hsu, J., & Sato, T. (2020). Hypothesis
       testing interpretations and Rényi differential privacy. AISTATS.
    .. [2] Canonne, C., Kamath, G., & Steinke, T. (2020). The discrete Gaussian for
       differential privacy. NeurIPS.

    Examples
    --------
    >>> round(rdp_to_epsilon([0.5], 1e-5, orders=[2.0]), 3)  # 0.5 + log(1/2) - log(2e-5)
    10.627
    """
    delta = check_delta(delta)
    orders = np.asarray(check_orders(orders))
    r = np.asarray(rdp_curve, dtype=float)
    if r.shape != orders.shape:
        raise InvalidParameterError(
            f"rdp_curve must have one value per order ({orders.size}), got shape {r.shape}"
        )
    if np.isnan(r).any() or (r < 0).any():
        raise InvalidParameterError(
            "rdp_curve must hold numbers >= 0 (inf allowed), got "
            f"{r[np.isnan(r) | (r < 0)][0]!r}; a NaN would read as epsilon 0"
        )
    with np.errstate(invalid="ignore", over="ignore"):
        eps = r + np.log1p(-1 / orders) - (math.log(delta) + np.log(orders)) / (orders - 1)
        eps = np.where(delta**2 + np.expm1(-r) > 0, 0.0, eps)
    return max(0.0, float(np.min(eps)))


# -- input checks shared by the privacy modules -------------------------------------------


def check_noise_multiplier(value):
    if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise InvalidParameterError(f"noise_multiplier must be a finite number >= 0, got {value!r}")
    return float(value)


def check_sample_rate(value):
    if not isinstance(value, numbers.Real) or not 0 < value <= 1:
        raise InvalidParameterError(f"sample_rate must be in (0, 1], got {value!r}")
    return float(value)


def check_delta(value):
    if not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise InvalidParameterError(f"delta must be in (0, 1), got {value!r}")
    return float(value)


def check_steps(value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 1 <= value < _MAX_STEPS  # compared exactly, before any float conversion
        or not float(value).is_integer()
    ):
        big = isinstance(value, numbers.Integral) and value >= _MAX_STEPS
        shown = f"an integer of {len(str(value))} digits" if big else repr(value)
        raise InvalidParameterError(f"steps must be an integer from 1 to 2**63 - 1, got "
                                    f"{shown}")
    return int(value)


_MAX_STEPS = 2**63  # a step count beyond int64 (and beyond any training) is refused


def check_orders(orders):
    """Return ``orders`` as a hashable tuple of floats, each > 1."""
    if orders is None:
        return DEFAULT_ORDERS
    arr = np.atleast_1d(np.asarray(orders, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidParameterError(f"orders must be a non-empty 1-D sequence, got shape "
                                    f"{arr.shape}")
    bad = arr[~(arr > 1)]
    if bad.size:
        raise InvalidParameterError(f"orders must all be > 1, got {float(bad[0])!r}")
    return tuple(arr.tolist())


# -- the per-step curve, cached so widgets and training loops can ask every round ----------


@functools.lru_cache(maxsize=4096)
def _rdp_one_step(sigma, q, orders):
    """RDP of one step at each order (read-only array; cached on ``(sigma, q, orders)``)."""
    alphas = np.asarray(orders, dtype=float)
    with np.errstate(over="ignore", divide="ignore", under="ignore"):
        # the Gaussian mechanism's curve, inf once sigma**2 underflows, 0 once it overflows
        gaussian = alphas / (2 * sigma) / sigma if sigma > 0 else np.full(alphas.shape, np.inf)
    if sigma == 0:
        out = np.full(alphas.shape, np.inf)
    elif q == 1 or sigma > _SERIES_MAX_NOISE:
        out = gaussian  # subsampling never costs more than the full-batch release
    else:
        out = np.empty(alphas.shape)
        is_int = alphas == np.round(alphas)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out[is_int] = [_log_a_int(q, sigma, int(a)) / (a - 1) for a in alphas[is_int]]
            out[~is_int] = _log_a_frac(q, sigma, alphas[~is_int]) / (alphas[~is_int] - 1)
        # A NaN comes from inf - inf when exp((i^2 - i) / (2 sigma^2)) overflows float64
        # (sigma below about 1e-150): the divergence is then beyond float64, and +inf is
        # its limit as sigma -> 0 (never 0, which would read as perfect privacy).
        out[np.isnan(out)] = np.inf
        # The true curve lies in [0, alpha / (2 sigma^2)]; at a very large noise or a very
        # small rate the series' rounding (about 1e-15) can fall outside it, even below 0.
        out = np.clip(out, 0.0, gaussian)
    out.flags.writeable = False
    return out


def _log_a_int(q, sigma, alpha):
    """``log A_alpha`` at an integer order ``alpha >= 2`` via ``log(A - 1)``: positive terms."""
    i = np.arange(2, alpha + 1)
    y = (i * i - i) / (2 * sigma**2)
    log_terms = (
        _log_comb(alpha, i)
        + i * math.log(q)
        + (alpha - i) * math.log1p(-q)
        + y
        + np.log(-np.expm1(-y))  # log(exp(y) - 1), stable for small and large y
    )
    top = log_terms.max()
    log_a_minus_1 = top + math.log(np.exp(log_terms - top).sum())
    return float(np.logaddexp(0.0, log_a_minus_1))


def _log_a_frac(q, sigma, alphas):
    """``log A_alpha`` at fractional orders: the two-sided series of Mironov et al. 2019."""
    a = alphas[:, None]
    i = np.arange(math.ceil(alphas.max(initial=1)) + _FRAC_TERMS)[None, :]
    j = a - i
    z0 = sigma**2 * math.log(1 / q - 1) + 0.5
    log_coef = _log_comb(a, i)
    sign = special.gammasgn(a - i + 1)  # sign of C(alpha, i): alternates once i > alpha
    log_s0 = (
        log_coef
        + i * math.log(q)
        + j * math.log1p(-q)
        + (i * i - i) / (2 * sigma**2)
        + special.log_ndtr((z0 - i) / sigma)
    )
    log_s1 = (
        log_coef
        + j * math.log(q)
        + i * math.log1p(-q)
        + (j * j - j) / (2 * sigma**2)
        + special.log_ndtr((j - z0) / sigma)
    )
    log_t = np.logaddexp(log_s0, log_s1)
    top = log_t.max(axis=1, keepdims=True)
    partial = np.cumsum(sign * np.exp(log_t - top), axis=1)[:, -(_EULER_LEVELS + 1) :]
    for _ in range(_EULER_LEVELS):  # Euler: average consecutive partial sums
        partial = 0.5 * (partial[:, :-1] + partial[:, 1:])
    return top[:, 0] + np.log(partial[:, 0])


def _log_comb(n, k):
    """``log |C(n, k)|`` for real ``n`` and array ``k``."""
    return special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
