"""Privacy accounting for noisy training: epsilon of the sampled Gaussian (Mironov et al. 2019).

``epsilon`` and ``PrivacyAccountant`` answer "how much privacy did this training spend?";
``noise_multiplier_for`` answers "how much noise do I need for a budget?". The RDP
accountant is the default; ``method="pld"`` asks Google's ``dp_accounting`` privacy loss
distribution accountant for a tighter number.
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from fedlab._validation import InvalidParameterError

from .mechanisms import EXACT_MIN_NOISE, classic_gaussian_sigma, gaussian_epsilon
from .renyi import (
    DEFAULT_ORDERS,
    _rdp_one_step,
    check_delta,
    check_noise_multiplier,
    check_orders,
    check_sample_rate,
    check_steps,
    rdp,
    rdp_to_epsilon,
)

__all__ = [
    "DEFAULT_ORDERS",
    "PLD_COARSEN_BELOW",
    "PLD_DISCRETIZATION",
    "PLD_MAX_NOISE",
    "PLD_MIN_NOISE",
    "PrivacyAccountant",
    "classic_gaussian_sigma",
    "epsilon",
    "gaussian_epsilon",
    "noise_multiplier_for",
    "rdp",
    "rdp_to_epsilon",
]

#: Privacy-loss grid step of the PLD accountant: epsilon comes out a hair (about 0.1%)
#: pessimistic, at tens to hundreds of milliseconds a call.
PLD_DISCRETIZATION = 1e-3

#: Below this noise multiplier the PLD grid step grows as ``1 / sigma^2`` (the privacy
#: loss range does too), so that a call stays near a second at the same relative accuracy.
PLD_COARSEN_BELOW = 0.25

#: Smallest noise multiplier of a subsampled step the PLD accountant takes: below it
#: the grid would not fit in memory (and epsilon is beyond 10^4 anyway).
PLD_MIN_NOISE = 1e-3

#: Largest noise multiplier of a subsampled step the PLD accountant takes: beyond it
#: ``dp_accounting`` overflows (``sigma**2``); epsilon is 0 to float precision anyway.
PLD_MAX_NOISE = 1e100
_METHODS = ("rdp", "pld")
_MAX_NOISE = 1e6


def epsilon(*, noise_multiplier, sample_rate, steps, delta, orders=None, method="rdp"):
    """Epsilon of the Poisson-subsampled Gaussian mechanism composed ``steps`` times.

    Parameters
    ----------
    noise_multiplier : float
        Noise standard deviation divided by the clipping norm (the L2 sensitivity), >= 0.
    sample_rate : float
        Probability in (0, 1] that a record (DP-SGD) or a client (DP-FedAvg) takes part in
        a step; 1 is full-batch training.
    steps : int
        Number of noisy steps (or rounds), >= 1.
    delta : float
        Target delta in (0, 1); usually well below ``1 / n_records``.
    orders : sequence of float, optional
        Rényi orders (> 1) tried by ``method="rdp"``; default :data:`DEFAULT_ORDERS`.
        Ignored by ``method="pld"``.
    method : {"rdp", "pld"}, default="rdp"
        ``"rdp"``: Rényi DP accounting, an upper bound, fast and cached. ``"pld"``: the
        numerical privacy loss distribution accountant of ``dp_accounting``, tighter
        (near-exact, about 0.1% pessimistic) but 0.01 to about 1 s a call; at
        ``sample_rate=1`` the exact analytic Gaussian answer (:func:`gaussian_epsilon`).
        ``"pld"`` needs ``noise_multiplier >= 0.001`` (:data:`PLD_MIN_NOISE`; below it
        epsilon exceeds 10^4 anyway).

    Returns
    -------
    float
        The epsilon; ``inf`` when ``noise_multiplier`` is 0.

    Raises
    ------
    ValueError
        If an argument is out of range or ``method`` is unknown.

    Warns
    -----
    Nothing: a noise multiplier so small that the RDP overflows float64 (below about
    1e-150) gives ``inf``, never 0.

    Notes
    -----
    The RDP accountant (Mironov 2017) adds the per-step RDP curves of
    :func:`fedlab.privacy.rdp` over the steps, then converts with
    :func:`fedlab.privacy.rdp_to_epsilon`, taking the best order. The per-step curve is
    cached on ``(noise_multiplier, sample_rate, orders)``, so repeated calls (a slider,
    a training loop) cost microseconds.

    References
    ----------
    .. [1] Abadi, M., et al. (2016). Deep learning with differential privacy. CCS.
    .. [2] Mironov, I., Talwar, K., & Zhang, L. (2019). Rényi differential privacy of the
       sampled Gaussian mechanism. arXiv:1908.10530.
    .. [3] Doroshenko, V., Ghazi, B., Kamath, P., Kumar, R., & Manurangsi, P. (2022).
       Connect the dots: tighter discrete approximations of privacy loss distributions.
       PETS.

    Examples
    --------
    >>> round(epsilon(noise_multiplier=1.0, sample_rate=0.01, steps=1000, delta=1e-5), 2)
    2.1
    >>> epsilon(noise_multiplier=0.0, sample_rate=0.01, steps=1000, delta=1e-5)
    inf
    >>> setting = dict(noise_multiplier=1.0, sample_rate=0.01, steps=1000, delta=1e-5)
    >>> epsilon(**setting, method="pld") < epsilon(**setting)
    True
    """
    noise_multiplier = check_noise_multiplier(noise_multiplier)
    sample_rate = check_sample_rate(sample_rate)
    steps = check_steps(steps)
    delta = check_delta(delta)
    orders = check_orders(orders)
    _check_method(method)
    if noise_multiplier == 0:
        return math.inf
    if method == "pld":
        return _pld_epsilon(((noise_multiplier, sample_rate, steps),), delta)
    with np.errstate(over="ignore"):  # inf is the honest answer past float64
        curve = steps * _rdp_one_step(noise_multiplier, sample_rate, orders)
    return rdp_to_epsilon(curve, delta, orders=orders)


def noise_multiplier_for(*, target_epsilon, sample_rate, steps, delta, orders=None,
                         method="rdp", tol=1e-4):
    """Smallest noise multiplier whose epsilon is at most ``target_epsilon``.

    Parameters
    ----------
    target_epsilon : float
        The privacy budget, > 0.
    sample_rate, steps, delta, orders, method
        As in :func:`epsilon`.
    tol : float, default=1e-4
        Relative tolerance on the noise multiplier, in (0, 1). Below float64's
        resolution (about 1e-16) the search stops at adjacent floats.

    Returns
    -------
    float
        A noise multiplier ``sigma`` with ``epsilon(sigma, ...) <= target_epsilon`` and
        ``epsilon(sigma * (1 - tol), ...) > target_epsilon``.

    Raises
    ------
    ValueError
        If an argument is out of range, or no noise multiplier up to 1e6 reaches the
        target.

    Notes
    -----
    Epsilon falls as the noise grows, so a bracket ``[lo, hi]`` with
    ``epsilon(lo) > target >= epsilon(hi)`` is found by halving and doubling, then
    bisected (in log scale) until ``hi / lo < 1 + tol``; ``hi`` is returned, so the
    answer always meets the budget.

    Examples
    --------
    >>> sigma = noise_multiplier_for(target_epsilon=2.0, sample_rate=0.01, steps=1000,
    ...                              delta=1e-5)
    >>> round(sigma, 3)
    1.022
    >>> epsilon(noise_multiplier=sigma, sample_rate=0.01, steps=1000, delta=1e-5) <= 2.0
    True
    """
    if not isinstance(target_epsilon, numbers.Real) or not 0 < target_epsilon < math.inf:
        raise InvalidParameterError(f"target_epsilon must be a finite number > 0, got "
                                    f"{target_epsilon!r}")
    if not isinstance(tol, numbers.Real) or not 0 < tol < 1:
        raise InvalidParameterError(f"tol must be in (0, 1), got {tol!r}")

    def eps(sigma):
        return epsilon(
            noise_multiplier=sigma,
            sample_rate=sample_rate,
            steps=steps,
            delta=delta,
            orders=orders,
            method=method,
        )

    eps(1.0)  # validates every argument before the search starts
    lo, hi = 0.5, 1.0
    while eps(hi) > target_epsilon:
        lo, hi = hi, 2 * hi
        if hi > _MAX_NOISE:
            raise InvalidParameterError(
                f"target_epsilon={target_epsilon!r} is out of reach: even "
                f"noise_multiplier={_MAX_NOISE:g} gives epsilon={eps(_MAX_NOISE):.3g} "
                f"(sample_rate={sample_rate!r}, steps={steps!r}, delta={delta!r})"
            )
    while eps(lo) <= target_epsilon:  # ends: epsilon grows without bound as noise -> 0
        lo, hi = lo / 2, lo
    while hi > lo * (1 + tol):
        mid = math.sqrt(lo) * math.sqrt(hi)
        if not lo < mid < hi:  # adjacent floats: tol is below float64's resolution
            break
        if eps(mid) <= target_epsilon:
            hi = mid
        else:
            lo = mid
    return hi


class PrivacyAccountant:
    """Running privacy budget of a training loop: call ``step`` as noise is added.

    Parameters
    ----------
    orders : sequence of float, optional
        Rényi orders (> 1); default :data:`DEFAULT_ORDERS`.

    Attributes
    ----------
    history : list of tuple
        ``(noise_multiplier, sample_rate, steps)`` for every call of :meth:`step`.

    Notes
    -----
    Rényi DP composes by addition (Mironov 2017, Prop. 1): the accountant keeps the sum
    of the per-step RDP curves, so steps with different noise or sampling rates (say a
    warm-up with more noise) mix freely. Each ``(noise_multiplier, sample_rate)`` curve
    is computed once and cached.

    Examples
    --------
    >>> acc = PrivacyAccountant()
    >>> for _ in range(10):
    ...     acc.step(noise_multiplier=1.0, sample_rate=0.01, steps=100)
    >>> acc.steps
    1000
    >>> acc.epsilon(1e-5) == epsilon(noise_multiplier=1.0, sample_rate=0.01, steps=1000,
    ...                              delta=1e-5)
    True
    """

    def __init__(self, *, orders=None):
        self._orders = check_orders(orders)
        self._rdp = np.zeros(len(self._orders))
        self.history = []

    def step(self, *, noise_multiplier, sample_rate, steps=1):
        """Record ``steps`` noisy steps with this noise multiplier and sample rate."""
        noise_multiplier = check_noise_multiplier(noise_multiplier)
        sample_rate = check_sample_rate(sample_rate)
        steps = check_steps(steps)
        with np.errstate(over="ignore"):
            self._rdp = self._rdp + steps * _rdp_one_step(
                noise_multiplier, sample_rate, self._orders
            )
        self.history.append((noise_multiplier, sample_rate, steps))

    def epsilon(self, delta, *, method="rdp"):
        """Epsilon spent so far at this ``delta`` (0 before any step); see :func:`epsilon`."""
        delta = check_delta(delta)
        _check_method(method)
        if not self.history:
            return 0.0
        if method == "pld":
            if any(sigma == 0 for sigma, _, _ in self.history):
                return math.inf
            return _pld_epsilon(tuple(self.history), delta)
        return rdp_to_epsilon(self._rdp, delta, orders=self._orders)

    @property
    def steps(self):
        """Total number of steps recorded."""
        return sum(s for _, _, s in self.history)

    @property
    def orders(self):
        """The Rényi orders, as an array."""
        return np.array(self._orders)

    @property
    def rdp(self):
        """The accumulated RDP curve, one value per order (a copy)."""
        return self._rdp.copy()

    def __repr__(self):
        return f"PrivacyAccountant(steps={self.steps}, events={len(self.history)})"


def _check_method(method):
    if method not in _METHODS:
        raise InvalidParameterError(f"method must be one of {_METHODS}, got {method!r}")


@functools.lru_cache(maxsize=256)
def _pld_epsilon(events, delta):
    """Epsilon of ``events = ((sigma, q, steps), ...)`` by ``dp_accounting``'s PLD accountant.

    Full-batch steps (``q = 1``) are merged first: ``T`` Gaussian releases with noise
    ``sigma_t`` are exactly one release with ``sigma = (sum_t 1 / sigma_t^2)^(-1/2)``
    (Dong, Roth & Su 2022, Gaussian DP). With no subsampled steps that single release has
    the exact answer :func:`gaussian_epsilon`, which the PLD grid would only approximate,
    slowly. The privacy loss of a step ranges over about ``1 / sigma^2``; so that the grid
    keeps a bounded number of points (and a call about a second), its step grows as
    ``(PLD_COARSEN_BELOW / sigma)^2`` below :data:`PLD_COARSEN_BELOW`: the same relative
    accuracy, still pessimistic (an upper bound).
    """
    full_batch = [(sigma, steps) for sigma, q, steps in events if q == 1]
    merged = []
    if full_batch:  # scaled by the smallest sigma, so that no 1 / sigma^2 under- or overflows
        least = min(sigma for sigma, _ in full_batch)
        merged = [least / math.sqrt(sum(steps * (least / sigma) ** 2
                                        for sigma, steps in full_batch))]
    largest = max([sigma for sigma, q, _ in events if q < 1], default=0.0)
    if largest > PLD_MAX_NOISE:
        raise InvalidParameterError(
            f"noise_multiplier must be <= {PLD_MAX_NOISE:g} for a subsampled step with "
            f"method='pld', got {largest:.3g}: dp_accounting's grid overflows beyond it "
            "(epsilon is 0 to float precision there); use method='rdp'"
        )
    if all(q == 1 for _, q, _ in events):
        if merged[0] < EXACT_MIN_NOISE:
            raise InvalidParameterError(
                f"the full-batch steps together are one Gaussian release with noise "
                f"multiplier {merged[0]:.3g}, below the {EXACT_MIN_NOISE:g} that "
                "method='pld' takes (epsilon beyond 10^11); use method='rdp'"
            )
        return gaussian_epsilon(merged[0], delta)
    smallest = min([sigma for sigma, q, _ in events if q < 1] + merged)
    if smallest < PLD_MIN_NOISE:
        raise InvalidParameterError(
            f"noise_multiplier must be >= {PLD_MIN_NOISE:g} with method='pld', got "
            f"{smallest:.3g} (for full-batch steps: all of them together): the privacy-loss "
            "grid would not fit in memory, and epsilon is beyond 10^4 anyway; use "
            "method='rdp'"
        )
    import dp_accounting  # imported here: a second or so, and only the PLD needs it
    from dp_accounting.pld import PLDAccountant

    interval = PLD_DISCRETIZATION * max(1.0, (PLD_COARSEN_BELOW / smallest) ** 2)
    accountant = PLDAccountant(value_discretization_interval=interval)
    if merged:
        accountant.compose(dp_accounting.GaussianDpEvent(merged[0]))
    for sigma, q, steps in events:
        if q < 1:
            event = dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma))
            accountant.compose(dp_accounting.SelfComposedDpEvent(event, steps))
    return max(0.0, float(accountant.get_epsilon(delta)))
