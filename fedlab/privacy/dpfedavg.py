"""Client-level DP-FedAvg (McMahan et al. 2018): clip each client's update, noise the sum.

:class:`DPFedAvg` is a server strategy for :func:`fedlab.federated.run`: it samples
clients by Poisson sampling, clips every update, adds Gaussian noise to their sum and
divides by the expected number of clients, so the model sequence is differentially
private with respect to adding or removing *a whole client* (all of its records).
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_int, check_positive, check_rng
from fedlab.federated.messages import Updates
from fedlab.federated.strategy import Strategy

from .accounting import PrivacyAccountant, noise_multiplier_for
from .mechanisms import clip_by_l2_norm, noisy_clipped_sum
from .renyi import check_delta, check_noise_multiplier, check_sample_rate

__all__ = ["DPFedAvg"]


class DPFedAvg(Strategy):
    """DP-FedAvg strategy: Poisson client sampling, update clipping, noise on the sum.

    Pass it as ``strategy=`` to :func:`fedlab.federated.run`; the run's ``History``
    then records the epsilon spent after every round. It chooses its own clients (each
    with probability ``q``), so its ``fraction_train`` does not apply.

    What the server learns: every sampled client's update in the clear unless
    ``summation`` is secure aggregation, in which case only the noisy sum; what it
    releases (the model sequence) is (epsilon, delta)-DP for each whole client.

    Parameters
    ----------
    noise_multiplier : float
        ``sigma``: noise standard deviation on the sum in units of ``clip_norm``, >= 0.
    clip_norm : float, default=1.0
        ``C``: each client's update (its parameter change) is scaled down to L2 norm at
        most ``C``, > 0.
    sample_rate : float in (0, 1], default=1.0
        ``q``: each client takes part in a round independently with this probability.
    delta : float, default=1e-5
        The delta at which :meth:`epsilon` reports; well below ``1 / n_clients``.
    summation : callable, optional
        How the noisy sum is formed. ``None``: in the clear,
        ``vectors.sum(0) + N(0, noise_std^2)``. Otherwise an object called as
        ``summation(vectors, *, noise_std, bound, rng)`` that returns the sum of the rows
        of ``vectors`` (each of L2 norm at most ``bound``, the clipping norm) plus Gaussian
        noise of total standard deviation ``noise_std`` per coordinate, e.g. secure
        aggregation where each client adds its share of the noise before masking
        (``fedlab.secagg.SecureSummation``).
    n_params : int, optional
        Length of the model's parameter vector. Needed only if a round samples no client
        before any update has been seen (the noise needs a shape); learnt otherwise.

    Attributes
    ----------
    accountant : PrivacyAccountant
        One step of rate ``q`` per round.
    n_clients : int or None
        ``K``, set by :meth:`select`.
    last_norms : ndarray
        The updates' norms before clipping in the last round (to tune ``clip_norm``).

    Notes
    -----
    Each round, with ``S`` the sampled clients and ``Delta_k`` client ``k``'s update:

    ``direction = (sum_{k in S} clip_C(Delta_k) + N(0, sigma^2 C^2 I)) / (q K)``

    This is the fixed-denominator estimator of McMahan et al. (2018): dividing by the
    expected number of clients ``q K`` instead of ``|S|`` keeps one client's influence on
    the direction at most ``C / (q K)``, whatever the others do. A round that samples no
    client still releases the noise, as the analysis assumes. With ``K`` clients the
    noise on the average shrinks like ``sigma C / (q K)``: client-level DP needs many
    clients. Each round is the sampled Gaussian mechanism, composed by the RDP
    accountant: after ``T`` rounds epsilon is
    ``fedlab.privacy.epsilon(noise_multiplier=sigma, sample_rate=q, steps=T, delta=delta)``.

    References
    ----------
    .. [1] McMahan, H. B., Ramage, D., Talwar, K., & Zhang, L. (2018). Learning
       differentially private recurrent language models. ICLR.

    Examples
    --------
    >>> from fedlab.federated.messages import Update
    >>> dp = DPFedAvg(noise_multiplier=0.0, clip_norm=1.0, sample_rate=0.5)
    >>> rng = np.random.default_rng(0)
    >>> chosen = dp.select(4, rng=rng)  # each of 4 clients with probability 0.5
    >>> ups = [Update("a", np.array([3.0, 4.0]), 10), Update("b", np.array([0.3, 0.4]), 10)]
    >>> dp.combine(ups, rng=rng)  # ([0.6, 0.8] + [0.3, 0.4]) / (0.5 * 4)
    array([0.45, 0.6 ])
    >>> dp = DPFedAvg(noise_multiplier=1.0, clip_norm=1.0, sample_rate=0.1)
    >>> for _ in range(100):  # 100 rounds, each client in a round with probability 0.1
    ...     chosen = dp.select(500, rng=rng)
    ...     direction = dp.combine(ups, rng=rng)
    >>> round(dp.epsilon(), 2)
    7.9
    """

    samples_clients = True

    summed_arrays = None  # clips each update at the server, then adds its own noise

    def __init__(self, *, noise_multiplier, clip_norm=1.0, sample_rate=1.0, delta=1e-5,
                 summation=None, n_params=None):
        super().__init__(weighted=False)
        self.noise_multiplier = check_noise_multiplier(noise_multiplier)
        self.clip_norm = float(check_positive(clip_norm, "clip_norm"))
        self.sample_rate = check_sample_rate(sample_rate)
        self.delta = check_delta(delta)
        if summation is not None and not callable(summation):
            raise InvalidParameterError(
                f"summation must be None or callable as summation(vectors, *, "
                f"noise_std, bound, rng), got {type(summation).__name__}"
            )
        self.summation = summation
        self.n_params = None if n_params is None else check_int(n_params, "n_params", minimum=1)
        self.accountant = PrivacyAccountant()
        self.n_clients = None
        self.last_norms = np.zeros(0)

    @classmethod
    def for_epsilon(cls, target_epsilon, *, rounds, clip_norm, sample_rate, delta=1e-5, **kwargs):
        """The least noise that keeps ``rounds`` rounds within ``target_epsilon``.

        Examples
        --------
        >>> dp = DPFedAvg.for_epsilon(2.0, rounds=50, clip_norm=0.5, sample_rate=0.1)
        >>> round(dp.noise_multiplier, 3)
        1.89
        """
        sigma = noise_multiplier_for(
            target_epsilon=target_epsilon, sample_rate=sample_rate, steps=rounds, delta=delta
        )
        return cls(
            noise_multiplier=sigma,
            clip_norm=clip_norm,
            sample_rate=sample_rate,
            delta=delta,
            **kwargs,
        )

    @property
    def noise_std(self):
        """Standard deviation of the noise added to the sum of clipped updates, ``sigma C``."""
        return self.noise_multiplier * self.clip_norm

    def start(self, n_params, n_clients):
        """A new run: the accountant starts from zero, ``K`` is the run's clients."""
        super().start(n_params, n_clients)
        self.n_params = int(n_params)
        self.accountant = PrivacyAccountant()

    def configure_train(self, server_round, params, config, n_clients, *, rng):
        """Poisson sampling of the round's clients (:meth:`select`); FedAvg's instructions."""
        return self.select(n_clients, rng=rng), dict(config)

    def aggregate_train(self, server_round, params, updates, *, rng):
        """``params`` plus the noisy mean update; the noise is added even with no update."""
        return params + self.combine(updates, rng=rng, params=params)

    def select(self, n_clients, *, rng):
        """Poisson sampling: each of ``n_clients`` joins with probability ``q`` (maybe none).

        Returns
        -------
        ndarray of int
            Sorted indices of the sampled clients; possibly empty.
        """
        self.n_clients = check_int(n_clients, "n_clients", minimum=1)
        rng = check_rng(rng)
        return np.flatnonzero(rng.random(self.n_clients) < self.sample_rate)

    def combine(self, updates, *, rng=None, params=None):
        """Clip each update, sum, add ``N(0, (sigma C)^2)``, divide by ``q K``.

        Parameters
        ----------
        updates : sequence of Update
            This round's replies (possibly none).
        rng : numpy.random.Generator, optional
        params : ndarray, optional
            The global model, only used for its length when no update arrived.

        Returns
        -------
        ndarray of shape (n_params,)
            The noisy direction the server adds to the model.
        """
        vectors = Updates.of(updates).vectors
        if not len(vectors):
            d = self._dimension(None if params is None else len(params))
            vectors = np.zeros((0, d))
        return self.combine_vectors(vectors, rng=rng)

    def combine_vectors(self, vectors, *, rng=None):
        """:meth:`combine` on the update vectors alone, one per row (possibly no rows).

        Parameters
        ----------
        vectors : array-like of shape (n_updates, n_params)
        rng : numpy.random.Generator, optional

        Returns
        -------
        ndarray of shape (n_params,)
        """
        if self.n_clients is None:
            raise InvalidParameterError(
                "DPFedAvg.combine needs the number of clients K: call "
                "select(n_clients, rng=...) first (federated.run does)"
            )
        rng = check_rng(rng)
        vectors = np.asarray(vectors, dtype=float)
        if vectors.ndim != 2:
            raise InvalidParameterError(
                f"vectors must be 2-D of shape (n_updates, n_params), got shape {vectors.shape}"
            )
        d = self._dimension(vectors.shape[1] or None)
        vectors = vectors.reshape(len(vectors), d)
        if self.summation is None:
            total, self.last_norms = noisy_clipped_sum(
                vectors, self.clip_norm, self.noise_std, rng=rng, return_norms=True
            )
        else:  # each client clips its own update; the summation adds the noise
            if len(vectors):
                vectors, self.last_norms = clip_by_l2_norm(
                    vectors, self.clip_norm, return_norms=True
                )
            else:
                self.last_norms = np.zeros(0)
            total = np.asarray(
                self.summation(vectors, noise_std=self.noise_std, bound=self.clip_norm, rng=rng),
                dtype=float,
            )
            if total.shape != (d,):
                raise InvalidParameterError(
                    f"summation must return a vector of shape ({d},), got shape {total.shape}"
                )
        self.accountant.step(noise_multiplier=self.noise_multiplier, sample_rate=self.sample_rate)
        return total / (self.sample_rate * self.n_clients)

    def epsilon(self):
        """Epsilon spent after the rounds so far, at :attr:`delta` (0 before any round)."""
        return self.accountant.epsilon(self.delta)

    def privacy(self):
        """What a report says of this run's guarantee (client level)."""
        return {"level": "client", "epsilon": self.epsilon(), "delta": self.delta,
                "noise_multiplier": self.noise_multiplier, "clip_norm": self.clip_norm,
                "sample_rate": self.sample_rate}

    @property
    def rounds(self):
        """Number of rounds aggregated so far."""
        return self.accountant.steps

    def _dimension(self, n_params):
        """The model's size: from this round (``n_params``), or remembered from before."""
        if n_params is None:
            if self.n_params is None:
                raise InvalidParameterError(
                    "no client was sampled this round and the model's size is "
                    "not known yet, so the noise has no shape: pass n_params "
                    "(the number of features + 1) to DPFedAvg"
                )
            return self.n_params
        if self.n_params is not None and n_params != self.n_params:
            raise InvalidParameterError(
                f"every update must have n_params={self.n_params} entries (the "
                f"model's size), got {n_params}"
            )
        self.n_params = int(n_params)
        return self.n_params
