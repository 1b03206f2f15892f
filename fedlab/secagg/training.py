"""Secure aggregation in training: FedAvg and DP-FedAvg on sums only (Bonawitz et al. 2017).

:class:`SecureFedAvg` is a strategy for :func:`fedlab.federated.run`: every round the
clients' updates go through the real protocol of :func:`fedlab.secagg.secure_sum`, and
the server learns the weighted mean and nothing else. :class:`SecureSummation` is the
summation step of :class:`fedlab.privacy.DPFedAvg` done the same way, with the Gaussian
noise added by the clients themselves (distributed differential privacy).
"""

import math
import warnings

import numpy as np

from .encoding import _as_finite_floats, _check_clip_range
from .messages import SecAggAbort
from .protocol import secure_sum

__all__ = ["SecureFedAvg", "SecureSummation", "default_threshold"]

NOISE_MARGIN = 8.0
"""Standard deviations of a client's noise share kept inside the clip range (no clipping)."""


def default_threshold(n_clients):
    """Return the default threshold ``max(2, floor(2 n / 3) + 1)`` for ``n_clients`` clients.

    More than two thirds of the round's clients must stay to the end: a strict majority, as
    the security argument of Bonawitz et al. needs, with room for a third to drop out.

    Examples
    --------
    >>> [default_threshold(n) for n in (2, 3, 5, 10, 100)]
    [2, 3, 4, 7, 67]
    """
    n = int(n_clients)
    if n < 2:
        raise ValueError(f"secure aggregation needs at least 2 clients, got {n}")
    return min(n, max(2, 2 * n // 3 + 1))


class _SecureRounds:
    """What both strategies share: threshold per round, simulated dropouts, the log."""

    def __init__(self, *, threshold, bits, dropout_before_masking, dropout_after_masking,
                 random_state):
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float,
                                                                         np.number)):
                raise TypeError(f"threshold must be None, an int or a fraction, got "
                                f"{type(threshold).__name__}")
            if isinstance(threshold, (float, np.floating)) and not 0.5 < threshold <= 1:
                raise ValueError(f"a fractional threshold must be in (0.5, 1], got {threshold}")
            if isinstance(threshold, (int, np.integer)) and threshold < 2:
                raise ValueError(f"threshold must be >= 2, got {threshold}")
        for name, p in (("dropout_before_masking", dropout_before_masking),
                        ("dropout_after_masking", dropout_after_masking)):
            if isinstance(p, bool) or not isinstance(p, (int, float, np.number)) \
                    or not 0 <= p < 1:
                raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
        if dropout_before_masking + dropout_after_masking >= 1:
            raise ValueError("dropout_before_masking + dropout_after_masking must be < 1, got "
                             f"{dropout_before_masking + dropout_after_masking}")
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
            raise TypeError(f"bits must be an int, got {type(bits).__name__}")
        self.threshold, self.bits = threshold, int(bits)
        self.dropout_before_masking = float(dropout_before_masking)
        self.dropout_after_masking = float(dropout_after_masking)
        # keys, seeds and Shamir coefficients: os.urandom unless seeded (teaching only)
        self._keys = None if random_state is None else np.random.default_rng(random_state)
        self.rounds_run = 0
        self.log = []
        self.last_result = None

    def threshold_for(self, n_clients):
        """The threshold of a round with ``n_clients`` participants."""
        if self.threshold is None:
            return default_threshold(n_clients)
        if isinstance(self.threshold, (float, np.floating)):
            return min(n_clients, max(2, math.ceil(self.threshold * n_clients)))
        if self.threshold > n_clients:
            raise ValueError(f"threshold={self.threshold} exceeds the {n_clients} clients of "
                             "this round; pass a fraction such as threshold=0.7, or None")
        return int(self.threshold)

    def _run(self, rows, *, rng, clip_range, noise_shares=None):
        """One protocol round over ``rows``; returns the SecureSumResult or None on abort."""
        m = len(rows)
        t = self.threshold_for(m)
        before, after = self._dropouts(m, rng)
        entry = dict(round=self.rounds_run, n_clients=m, threshold=t,
                     dropped_before_masking=before, dropped_after_masking=after)
        self.rounds_run += 1
        if noise_shares is not None:
            rows = rows + noise_shares  # each client noises its own row, before masking
        try:
            result = secure_sum(rows, threshold=t, dropped=after, dropped_before_masking=before,
                                clip_range=clip_range, bits=self.bits,
                                round_id=entry["round"] % 2**32, random_state=self._keys)
        except SecAggAbort as err:
            warnings.warn(f"secure aggregation round {entry['round']} aborted ({err}); "
                          "nothing was revealed and the global model is left unchanged",
                          RuntimeWarning, stacklevel=3)
            self.log.append({**entry, "aborted": True, "survivors": (), "bytes_up": 0,
                             "bytes_down": 0})
            self.last_result = None
            return None
        self.last_result = result
        self.log.append({**entry, "aborted": False, "survivors": result.survivors,
                         "bytes_up": int(result.bytes_up.sum()),
                         "bytes_down": int(result.bytes_down.sum()), "step": result.step,
                         "clip_range": clip_range})
        return result

    def _dropouts(self, m, rng):
        if self.dropout_before_masking == 0 and self.dropout_after_masking == 0:
            return (), ()
        draw = (rng if rng is not None else np.random.default_rng()).random(m)
        before = np.flatnonzero(draw < self.dropout_before_masking)
        after = np.flatnonzero((draw >= self.dropout_before_masking)
                               & (draw < self.dropout_before_masking
                                  + self.dropout_after_masking))
        return tuple(before.tolist()), tuple(after.tolist())

    @property
    def aborted_rounds(self):
        """Rounds (counted from 0) that aborted because too few clients were left."""
        return [e["round"] for e in self.log if e["aborted"]]

    def bytes_up(self, updates):
        """Bytes the clients sent in the last round, all four phases (0 if it aborted)."""
        return self.log[-1]["bytes_up"] if self.log else 0

    def bytes_down(self, updates):
        """Bytes the server sent in the last round's protocol, beyond the model broadcast."""
        return self.log[-1]["bytes_down"] if self.log else 0


class SecureFedAvg(_SecureRounds):
    """Federated averaging through secure aggregation: the server learns only the mean.

    A strategy for :func:`fedlab.federated.run` (``aggregate=SecureFedAvg()``). Each
    round, every participating client turns its update into one vector, and the round's
    clients run the four phases of Bonawitz et al. (2017) in process: key agreement,
    Shamir-shared seeds, masked inputs, unmasking. The server only ever holds masked
    vectors and the unmasked sum.

    Parameters
    ----------
    threshold : None, int or float, default=None
        Clients needed to finish a round. ``None``: ``max(2, floor(2 m / 3) + 1)`` of the
        round's ``m`` participants (see :func:`default_threshold`); an int: that many;
        a float in (0.5, 1]: that fraction of ``m``, rounded up.
    clip_range : float, default=8.0
        Bound on each entry of a (weighted) update, the ``c`` of
        :func:`fedlab.secagg.encode`. Entries beyond it are clipped, with a warning.
    bits : int, default=32
        Width of the ring Z_{2^bits}; 32 sends 4 bytes per parameter.
    weighted : bool, default=True
        Weight each update by the client's number of records (FedAvg); ``False`` is the
        plain mean.
    dropout_before_masking, dropout_after_masking : float, default=0.0
        Probability that a participant drops out of the protocol after sharing its keys
        but before sending its masked update (its update is lost), or right after it (its
        update still counts; the others rebuild its masks). Drawn from the ``rng`` the
        engine passes to :meth:`combine`.
    random_state : None, int or numpy.random.Generator, default=None
        Source of the keys, mask seeds and Shamir coefficients. ``None`` uses
        ``os.urandom``, as a deployment must; the sums, and so the trained model, are
        the same whatever the keys, so runs stay reproducible. A seed also makes the
        masked vectors reproducible, for demonstrations.

    Attributes
    ----------
    log : list of dict
        One entry per round: participants, threshold, who dropped, survivors, bytes
        up and down, quantization step, and whether the round aborted.
    last_result : SecureSumResult or None
        The last round's protocol result, with its ``server_view``.
    aborted_rounds : list of int

    Raises
    ------
    ValueError
        From :meth:`combine`, when a round has exactly one participant: its "sum" would
        be its own update, so there is nothing to hide it among.

    Warns
    -----
    RuntimeWarning
        When a round aborts because fewer than ``threshold`` clients are left; the
        global model is then left unchanged for that round, as in a deployment.

    Notes
    -----
    **Weighting.** FedAvg needs ``sum_k n_k delta_k / sum_k n_k`` over the updates that
    arrive, and ``n_k`` is private too (a hospital's size). Each client sends the
    vector ``[w_k delta_k, c w_k]`` with ``w_k = n_k / B``: its weight rides along as
    one extra coordinate, and the server divides the first coordinates of the secure
    sum by the last (and multiplies by ``c``). ``B`` is a public scale, the smallest
    power of two at least the largest client's size (all it says about that client;
    a deployment would fix it at enrolment); it keeps every ``w_k`` in (0, 1],
    so ``w_k delta_k`` needs no wider range than ``delta_k`` and ``c w_k`` is never
    clipped, and the largest weight is above 1/2. Because the denominator is summed
    securely too, the mean stays correct when clients drop out before masking: their
    weight leaves the denominator with their update. The server learns the
    survivors' total weight, ``sum n_k / B``, and nothing per client.

    **Precision.** With ``m`` clients each entry is encoded with
    ``q = bits - ceil(log2 m)`` bits (step ``2 c / (2^q - 1)``), so the sum of ``m``
    encoded entries stays below ``2^bits``: overflow is impossible and values beyond
    ``c`` are clipped, never wrapped. The mean's error is at most about ``m`` steps:
    ``m * step / 2`` in the numerator over a total weight of at least 1/2 (plus the
    same relative error in the denominator). With the defaults and five hospitals,
    ``q = 29`` and the step is 3e-8.

    **Randomness.** The keys come from ``random_state`` (default ``os.urandom``); only
    the simulated dropouts use the engine's ``rng``, and only when a dropout
    probability is set, so the engine samples the same clients as without secure
    aggregation.

    Examples
    --------
    >>> from fedlab.federated.messages import Update
    >>> updates = [Update("a", np.array([0.1, -0.2]), 300), Update("b", np.array([0.5, 0.4]), 100),
    ...            Update("c", np.array([-0.3, 0.0]), 100)]
    >>> strategy = SecureFedAvg()
    >>> strategy.combine(updates, rng=None).round(6)
    array([ 0.1 , -0.04])
    >>> strategy.log[-1]["threshold"], strategy.log[-1]["survivors"]
    (3, (0, 1, 2))
    """

    def __init__(self, *, threshold=None, clip_range=8.0, bits=32, weighted=True,
                 dropout_before_masking=0.0, dropout_after_masking=0.0, random_state=None):
        super().__init__(threshold=threshold, bits=bits,
                         dropout_before_masking=dropout_before_masking,
                         dropout_after_masking=dropout_after_masking, random_state=random_state)
        self.clip_range = _check_clip_range(clip_range)
        self.weighted = bool(weighted)

    def __repr__(self):
        return (f"SecureFedAvg(threshold={self.threshold}, clip_range={self.clip_range}, "
                f"bits={self.bits}, weighted={self.weighted})")

    def combine(self, updates, *, rng=None, params=None):
        """Run one round of secure aggregation; return the (weighted) mean update.

        Parameters
        ----------
        updates : sequence of fedlab.federated.Update
        rng : numpy.random.Generator, optional
            Draws the simulated dropouts (nothing else).

        Returns
        -------
        ndarray of shape (n_params,), or 0.0 when there is nothing to add
            (no update, or the round aborted).
        """
        updates = list(updates)
        if not updates:
            return 0.0
        if len(updates) == 1:
            raise ValueError(
                "secure aggregation needs at least 2 clients in a round, got 1: the sum of "
                "one update is that update, so the server would see it in the clear; "
                "sample more clients (client_fraction) or use plain FedAvg")
        vectors = _as_finite_floats([u.vector for u in updates], "update vectors")
        if self.weighted:
            counts = np.array([u.n_samples for u in updates], dtype=float)
            if not (np.isfinite(counts) & (counts >= 1)).all():
                raise ValueError(f"every update must count n_samples >= 1 to be weighted, got "
                                 f"{counts.tolist()}")
            weights = counts / 2.0 ** math.ceil(math.log2(counts.max()))
        else:
            weights = np.ones(len(updates))
        c = self.clip_range  # the weight travels as w * c: in range whatever c is
        rows = np.hstack([weights[:, None] * vectors, c * weights[:, None]])
        result = self._run(rows, rng=rng, clip_range=c)
        if result is None:
            return 0.0
        return c * result.sum[:-1] / result.sum[-1]


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
    random_state : None, int or numpy.random.Generator, default=None
        Keys and seeds, as in :class:`SecureFedAvg`.

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
                 dropout_after_masking=0.0, expected_survivors=None, random_state=None):
        super().__init__(threshold=threshold, bits=bits,
                         dropout_before_masking=dropout_before_masking,
                         dropout_after_masking=dropout_after_masking, random_state=random_state)
        if expected_survivors not in (None, "threshold"):
            raise ValueError(f"expected_survivors must be None or 'threshold', got "
                             f"{expected_survivors!r}")
        self.clip_range = None if clip_range is None else _check_clip_range(clip_range)
        self.expected_survivors = expected_survivors

    def __repr__(self):
        return (f"SecureSummation(threshold={self.threshold}, clip_range={self.clip_range}, "
                f"bits={self.bits}, expected_survivors={self.expected_survivors!r})")

    def __call__(self, vectors, *, noise_std, rng=None):
        """Return the sum of the rows of ``vectors`` plus Gaussian noise of std ``noise_std``.

        Parameters
        ----------
        vectors : array-like of shape (m, dim)
            One clipped update per client of the round.
        noise_std : float
            Standard deviation of the noise in the sum (DP-FedAvg's
            ``noise_multiplier * clip_norm``).
        rng : numpy.random.Generator, optional
            Draws the clients' noise shares and the simulated dropouts.

        Returns
        -------
        ndarray of shape (dim,)
        """
        x = np.asarray(vectors, dtype=float)
        if x.ndim != 2:
            raise ValueError(f"vectors must have shape (m, dim), got shape {x.shape}")
        x = _as_finite_floats(x, "vectors")
        if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float, np.number)) \
                or not np.isfinite(noise_std) or noise_std < 0:
            raise ValueError(f"noise_std must be a finite number >= 0, got {noise_std!r}")
        rng = rng if rng is not None else np.random.default_rng()
        m, dim = x.shape
        if m < 2:  # no protocol: zero clients (the server adds the noise) or one
            self.log.append(dict(round=self.rounds_run, n_clients=m, aborted=False,
                                 survivors=tuple(range(m)), bytes_up=0, bytes_down=0,
                                 noise_std=float(noise_std), protocol=False))
            self.rounds_run += 1
            return x.sum(axis=0) + rng.normal(0.0, noise_std, dim)
        t = self.threshold_for(m)
        expected = m if self.expected_survivors is None else t
        share_std = noise_std / math.sqrt(expected)
        shares = rng.normal(0.0, share_std, (m, dim)) if noise_std > 0 else None
        clip_range = self.clip_range
        if clip_range is None:
            top = float(np.abs(x).max()) + NOISE_MARGIN * share_std
            clip_range = 2.0 ** math.ceil(math.log2(max(top, 2.0**-20)))
        result = self._run(x, rng=rng, clip_range=clip_range, noise_shares=shares)
        if result is None:
            self.log[-1].update(noise_std=0.0, protocol=True)
            return np.zeros(dim)
        actual = share_std * math.sqrt(len(result.survivors))
        self.log[-1].update(noise_std=actual, protocol=True)
        if actual < noise_std * (1 - 1e-12):
            warnings.warn(
                f"{m - len(result.survivors)} of {m} clients dropped out before masking and "
                f"took their noise shares with them: the sum carries noise of std "
                f"{actual:.4g} instead of {noise_std:.4g}, so the privacy accounting is too "
                "optimistic; use expected_survivors='threshold' to over-provision",
                RuntimeWarning, stacklevel=2)
        return result.sum
