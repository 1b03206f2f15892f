"""The noisy sum of DP-FedAvg by secure aggregation, noise added by the clients (distributed DP).

:class:`SecureSummation` is the summation step of :class:`fedlab.privacy.DPFedAvg`
done through the protocol of Bonawitz et al. (2017): each client adds its share of the
Gaussian noise before masking, so the server never holds an un-noised sum.
"""

import math
import warnings

import numpy as np

from fedlab._validation import InvalidParameterError

from .encoding import _as_finite_floats, _check_clip_range
from .rounds import _SecureRounds

__all__ = ["SecureSummation"]

NOISE_MARGIN = 8.0
"""Standard deviations of a client's noise share kept inside the clip range (no clipping)."""


class SecureSummation(_SecureRounds):
    """The noisy sum of DP-FedAvg, computed by secure aggregation with distributed noise.

    Pass it as ``DPFedAvg(..., summation=SecureSummation())``: DP-FedAvg clips the
    updates and then asks for their sum plus Gaussian noise of standard deviation
    ``noise_std``. Here each of the ``m`` clients adds its own share of that noise,
    with standard deviation ``noise_std / sqrt(m)``, to its clipped update *before*
    masking, so the server never holds an un-noised sum, or any single update.

    Parameters
    ----------
    threshold : None, int or float, default=None
        As in :class:`SecureFedAvg`.
    clip_range : float, optional
        Bound on each entry of a noised update, the ``c`` of
        :func:`fedlab.secagg.encode`. ``None`` (default) picks, per round, the smallest
        power of two above the largest entry plus ``NOISE_MARGIN`` (8) standard
        deviations of a noise share, so nothing is clipped. A deployment fixes it from
        public numbers instead: DP-FedAvg's ``clip_norm`` bounds every entry of a
        clipped update, so ``clip_norm + 8 noise_std / sqrt(m)``.
    bits : int, default=32
    dropout_before_masking, dropout_after_masking : float, default=0.0
        As in :class:`SecureFedAvg`.
    expected_survivors : None or "threshold", default=None
        How many noise shares the clients count on. ``None``: all ``m``, so each adds
        ``noise_std / sqrt(m)``. ``"threshold"``: only ``t``, so each adds
        ``noise_std / sqrt(t)``: the sum keeps at least ``noise_std`` however many clients
        drop out before the round would abort, at the price of ``sqrt(m / t)`` times more
        noise when nobody drops.
    authenticated : bool, default=False
        The actively secure version of the protocol, as in :class:`SecureFedAvg`.
    random_state : None, int or numpy.random.Generator, default=None
        Keys and seeds, as in :class:`SecureFedAvg`. The noise shares and dropouts
        come from the ``rng`` DP-FedAvg passes (the run's seed).

    Warns
    -----
    RuntimeWarning
        When clients drop out before masking and take their noise shares with them, so
        the sum carries less noise than ``noise_std``: the privacy accountant, which
        assumes ``noise_std``, then overstates the protection. Over-provision with
        ``expected_survivors="threshold"``. Also when a round aborts (the sum is then
        zero: nothing is released and the model does not move).

    Notes
    -----
    The sum of ``k`` independent shares of variance ``noise_std^2 / m`` has variance
    ``k / m * noise_std^2``: exactly ``noise_std^2`` when all ``m`` shares arrive, less
    when clients drop out before masking. Clients who drop *after* masking still count,
    with their noise. A round of one client is its own sum: the client adds all the
    noise and sends its noised update, which the server sees as DP-FedAvg would release
    it. A round of no client returns pure noise of standard deviation ``noise_std``, so
    that an empty round looks like any other.

    The noise is continuous Gaussian, added in floating point before quantization, a
    teaching simplification; deployments add discrete Gaussian noise in the ring
    (Kairouz, Liu and Steinke 2021), since the sum of rounded continuous noise is not
    exactly Gaussian.

    **Who must be trusted.** The epsilon of central DP-FedAvg carries over only if no
    client colludes with the server: a colluding client knows its own noise share and
    can subtract it, leaving ``(m - 1) / m`` of the variance; ``k`` colluders leave
    ``(m - k) / m``. Which server the protocol itself protects against (honest but
    curious, or actively cheating with ``authenticated=True``) is as in
    :class:`SecureFedAvg`.

    Examples
    --------
    >>> summation = SecureSummation()
    >>> vectors = np.array([[0.5, -0.5], [0.25, 0.25], [0.0, 1.0]])
    >>> summation(vectors, noise_std=0.0, rng=np.random.default_rng(0)).round(6)
    array([0.75, 0.75])
    >>> noisy = summation(vectors, noise_std=1.0, rng=np.random.default_rng(0))
    >>> round(summation.log[-1]["noise_std"], 12)
    1.0
    """

    def __init__(self, *, threshold=None, clip_range=None, bits=32, dropout_before_masking=0.0,
                 dropout_after_masking=0.0, expected_survivors=None, authenticated=False,
                 random_state=None):
        super().__init__(threshold=threshold, bits=bits,
                         dropout_before_masking=dropout_before_masking,
                         dropout_after_masking=dropout_after_masking,
                         authenticated=authenticated, random_state=random_state)
        if expected_survivors not in (None, "threshold"):
            raise InvalidParameterError(f"expected_survivors must be None or 'threshold', got "
                             f"{expected_survivors!r}")
        self.clip_range = None if clip_range is None else _check_clip_range(clip_range)
        self.expected_survivors = expected_survivors

    def __repr__(self):
        return (f"SecureSummation(threshold={self.threshold}, clip_range={self.clip_range}, "
                f"bits={self.bits}, expected_survivors={self.expected_survivors!r}, "
                f"authenticated={self.authenticated})")

    def __call__(self, vectors, *, noise_std, bound=None, rng=None):
        """Return the sum of the rows of ``vectors`` plus Gaussian noise of std ``noise_std``.

        Parameters
        ----------
        vectors : array-like of shape (m, dim)
            One clipped update per client of the round.
        noise_std : float
            Standard deviation of the noise in the sum (DP-FedAvg's
            ``noise_multiplier * clip_norm``).
        bound : float, optional
            A public bound on every row's L2 norm (DP-FedAvg's ``clip_norm``). Without a
            fixed ``clip_range`` the ring's range is then set from public numbers only,
            ``bound`` plus ``NOISE_MARGIN`` noise-share deviations; without it, from the
            round's largest entry (a simulation convenience that reveals a magnitude).
        rng : numpy.random.Generator, optional
            Draws the clients' noise shares and the simulated dropouts; ``None``: this
            object's own generator, seeded by ``random_state``.

        Returns
        -------
        ndarray of shape (dim,)
        """
        x = np.asarray(vectors, dtype=float)
        if x.ndim != 2:
            raise InvalidParameterError(f"vectors must have shape (m, dim), got shape {x.shape}")
        x = _as_finite_floats(x, "vectors")
        if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float, np.number)) \
                or not np.isfinite(noise_std) or noise_std < 0:
            raise InvalidParameterError(f"noise_std must be a finite number >= 0, got "
                                        f"{noise_std!r}")
        rng = self._rng(rng)
        m, dim = x.shape
        if m < 2:  # no protocol: zero clients (the server adds the noise) or one
            self.log.append(
                dict(
                    round=self.rounds_run,
                    n_clients=m,
                    aborted=False,
                    survivors=tuple(range(m)),
                    bytes_up=0,
                    bytes_down=0,
                    noise_std=float(noise_std),
                    protocol=False,
                )
            )
            self.rounds_run += 1
            return x.sum(axis=0) + rng.normal(0.0, noise_std, dim)
        t = self.threshold_for(m)
        expected = m if self.expected_survivors is None else t
        share_std = noise_std / math.sqrt(expected)
        clip_range = self.clip_range
        if clip_range is None:
            largest = float(np.abs(x).max()) if bound is None else float(bound)
            top = largest + NOISE_MARGIN * share_std
            clip_range = 2.0 ** math.ceil(math.log2(max(top, 2.0**-20)))
        result = self._run(
            x, rng=rng, clip_range=clip_range, noise_std=noise_std, expected_survivors=expected
        )
        if result is None:
            self.log[-1].update(noise_std=0.0, protocol=True)
            return np.zeros(dim)
        actual = result.sum_noise_std
        self.log[-1].update(noise_std=actual, protocol=True)
        if actual < noise_std * (1 - 1e-12):
            warnings.warn(
                f"{m - len(result.survivors)} of {m} clients dropped out before masking and "
                f"took their noise shares with them: the sum carries noise of std "
                f"{actual:.4g} instead of {noise_std:.4g}, so the privacy accounting is too "
                "optimistic; use expected_survivors='threshold' to over-provision",
                RuntimeWarning,
                stacklevel=2,
            )
        return result.sum
