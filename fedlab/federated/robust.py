"""Robust aggregation strategies: median, trimmed mean, (Multi-)Krum, norm bounding, a filter.

Each replaces FedAvg's mean by a rule that a few arbitrary updates cannot drag far
(Yin et al. 2018; Blanchard et al. 2017; Sun et al. 2019). All of them need to see
every update in the clear (``summed_arrays = None``), so none of them runs under secure
aggregation (norm bounding could move to the clients, who must then be trusted to clip).
"""

from __future__ import annotations

import numpy as np

from fedlab import aggregate as rules
from fedlab._validation import InvalidParameterError, check_finite, check_int, check_positive

from .messages import Updates
from .strategy import Strategy

__all__ = ["FedMedian", "FedTrimmedAvg", "Krum", "NormBounding", "CosineFilter",
           "tolerated_attackers"]


class FedMedian(Strategy):
    """The coordinate-wise median of the updates (breakdown point 1/2).

    The server learns every participating client's update.

    References
    ----------
    Yin, Chen, Ramchandran, Bartlett (2018). Byzantine-robust distributed learning:
    towards optimal statistical rates. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from fedlab.federated import Update
    >>> ups = [Update(k, np.array([v]), 1) for k, v in zip("abc", (0.0, 1.0, 100.0))]
    >>> FedMedian().combine(ups)
    array([1.])
    """

    summed_arrays = None

    def combine(self, updates, *, rng=None):
        return rules.coordinate_median(_finite(updates))


class FedTrimmedAvg(Strategy):
    """The coordinate-wise mean after dropping the ``beta`` largest and smallest fractions.

    The server learns every participating client's update.

    Parameters
    ----------
    beta : float in [0, 0.5), default=0.2
        Fraction cut at each end of every coordinate (Flower's name); up to
        ``floor(beta m)`` bad updates of ``m`` are ignored.
    fraction_train, server_lr : see :class:`~fedlab.federated.Strategy`

    References
    ----------
    Yin et al. (2018). Byzantine-robust distributed learning. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from fedlab.federated import Update
    >>> ups = [Update(str(v), np.array([v]), 1) for v in (0.0, 1.0, 2.0, 3.0, 1000.0)]
    >>> FedTrimmedAvg(beta=0.2).combine(ups)
    array([2.])
    """

    summed_arrays = None

    def __init__(self, *, beta=0.2, fraction_train=1.0, server_lr=1.0):
        super().__init__(fraction_train=fraction_train, weighted=False, server_lr=server_lr)
        if isinstance(beta, bool) or not isinstance(beta, (int, float, np.number)) \
                or not 0.0 <= float(beta) < 0.5:
            raise InvalidParameterError(
                f"beta must be in [0, 0.5) (a number: the fraction trimmed at each end), "
                f"got {beta!r}")
        self.beta = float(beta)

    def combine(self, updates, *, rng=None):
        return rules.trimmed_mean(_finite(updates), trim=self.beta)


class Krum(Strategy):
    """Krum and Multi-Krum: keep the updates closest to their neighbours.

    Each update is scored by the sum of squared distances to its ``m - f - 2`` nearest
    others; Krum keeps the best one, Multi-Krum averages the ``num_to_keep`` best. The
    server learns every participating client's update.

    Parameters
    ----------
    num_malicious : int, default=1
        ``f``, the number of Byzantine clients tolerated; Krum needs
        ``m >= 2 f + 3`` updates in a round.
    num_to_keep : int, default=1
        1 is Krum; more is Multi-Krum (the plain mean of the best).
    fraction_train, server_lr : see :class:`~fedlab.federated.Strategy`

    Attributes
    ----------
    skipped_rounds : list of int
        Rounds in which fewer than ``2 f + 3`` updates arrived (clients dropped out):
        the model was left unchanged.

    References
    ----------
    Blanchard, El Mhamdi, Guerraoui, Stainer (2017). Machine learning with adversaries:
    Byzantine tolerant gradient descent. NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from fedlab.federated import Update
    >>> ups = [Update(str(v), np.array([v]), 1) for v in (0.0, 0.1, 0.15, 0.3, 50.0)]
    >>> Krum(num_malicious=1).combine(ups)
    array([0.1])
    """

    summed_arrays = None

    def __init__(self, *, num_malicious=1, num_to_keep=1, fraction_train=1.0, server_lr=1.0):
        super().__init__(fraction_train=fraction_train, weighted=False, server_lr=server_lr)
        self.num_malicious = check_int(num_malicious, "num_malicious", minimum=0)
        self.num_to_keep = check_int(num_to_keep, "num_to_keep", minimum=1)

    def start(self, n_params, n_clients):
        """Refuse a run whose rounds are too small for ``num_malicious`` (``m >= 2f + 3``)."""
        super().start(n_params, n_clients)
        self.skipped_rounds = []
        m = max(1, int(round(self.fraction_train * n_clients)))
        if m < 2 * self.num_malicious + 3:
            fix = (f"lower num_malicious to {(m - 3) // 2} or add clients" if m >= 3 else
                   "Krum needs at least 3 clients a round even with num_malicious=0: add "
                   "clients")
            raise InvalidParameterError(
                f"Krum with num_malicious={self.num_malicious} needs at least "
                f"{2 * self.num_malicious + 3} clients a round (m >= 2f + 3), but this run "
                f"has {m}: {fix}")

    def aggregate_train(self, server_round, params, updates, *, rng):
        """Krum's choice; a round with fewer than ``2f + 3`` replies (dropouts) is skipped.

        The model stays as it was and the round is listed in :attr:`skipped_rounds` (and
        the run's ``History.config["skipped_rounds"]``): with so few updates Krum cannot
        tell ``f`` attackers from the honest, and averaging instead would drop the defence.
        """
        if updates and len(updates) < 2 * self.num_malicious + 3:
            self.skipped_rounds = [*getattr(self, "skipped_rounds", []), server_round]
            return params
        return super().aggregate_train(server_round, params, updates, rng=rng)

    def combine(self, updates, *, rng=None):
        m = len(updates)
        if m < 2 * self.num_malicious + 3:
            raise InvalidParameterError(
                f"Krum with num_malicious={self.num_malicious} needs at least "
                f"{2 * self.num_malicious + 3} updates in a round (m >= 2f + 3), got {m}")
        return rules.krum(_finite(updates), n_byzantine=self.num_malicious,
                          multi=self.num_to_keep)


class NormBounding(Strategy):
    """FedAvg of updates scaled down to L2 norm at most ``clip_norm`` (Sun et al. 2019).

    A scaled or boosted update (model replacement) loses its boost: one client can move
    the weighted mean by at most ``w_k clip_norm``. It bounds the damage rather than
    removing it (no breakdown point: a bounded attacker still pushes), and it leaves
    honest updates alone when ``clip_norm`` is above their norms. The server learns
    every update; clipping at the clients instead works under secure aggregation, but
    then an attacker simply does not clip.

    Parameters
    ----------
    clip_norm : float, default=1.0
        The largest L2 norm an update keeps, > 0.
    noise_std : float, default=0.0
        Optional Gaussian noise added to the mean ("weak DP", Sun et al.), >= 0.
    fraction_train, weighted, server_lr : see :class:`~fedlab.federated.Strategy`

    References
    ----------
    Sun, Kairouz, Suresh, McMahan (2019). Can you really backdoor federated learning?
    arXiv:1911.07963.

    Examples
    --------
    >>> from fedlab.federated import Update
    >>> ups = [Update("a", np.array([0.3, 0.4]), 1), Update("b", np.array([-30.0, -40.0]), 1)]
    >>> NormBounding(clip_norm=1.0, weighted=False).combine(ups)
    array([-0.15, -0.2 ])
    """

    summed_arrays = None

    def __init__(self, *, clip_norm=1.0, noise_std=0.0, fraction_train=1.0, weighted=True,
                 server_lr=1.0):
        super().__init__(fraction_train=fraction_train, weighted=weighted, server_lr=server_lr)
        self.clip_norm = check_positive(clip_norm, "clip_norm")
        self.noise_std = check_positive(noise_std, "noise_std", strict=False)

    def combine(self, updates, *, rng=None):
        updates = Updates.of(updates)
        vectors = check_finite(updates.vectors, "update vectors")
        norms = np.linalg.norm(vectors, axis=1)
        scale = np.minimum(1.0, self.clip_norm / np.maximum(norms, 1e-300))
        mean = rules.weighted_mean(vectors * scale[:, None], self._weights(updates))
        if self.noise_std:
            if rng is None:
                raise InvalidParameterError("NormBounding with noise_std > 0 needs an rng")
            mean = mean + rng.normal(scale=self.noise_std, size=mean.shape)
        return mean


class CosineFilter(Strategy):
    """Drop updates that point away from the others, then FedAvg the rest (a detection rule).

    Each update's cosine similarity to the coordinate-wise median of the round's updates
    is computed; those below ``min_similarity`` are left out, and :attr:`flagged` names
    them, round by round. A sign flip or a flipped outcome points backwards (similarity
    near -1) and is caught; "a little is enough" and a moderate backdoor point forwards
    and pass. Honest but unusual sites (non-IID) may be dropped too: that is the price.

    Parameters
    ----------
    min_similarity : float in [-1, 1), default=0.0
        Updates less similar than this to the median update are dropped.
    fraction_train, weighted, server_lr : see :class:`~fedlab.federated.Strategy`

    Attributes
    ----------
    flagged : list of list of str
        The clients dropped in each round so far.

    Notes
    -----
    No breakdown point is claimed: the median reference tolerates fewer than half
    attackers, but an attacker aligned with the median is never flagged. The
    server learns every update, as for every rule of this module. A server validation set
    (FLTrust, Cao et al. 2021) is the other common reference; it needs records at the
    server, which these hospitals cannot share.

    References
    ----------
    Fung, Yoon, Beschastnikh (2020). The limitations of federated learning in Sybil
    settings (FoolsGold). RAID. Cao, Fang, Liu, Gong (2021). FLTrust. NDSS.

    Examples
    --------
    >>> from fedlab.federated import Update
    >>> ups = [Update(k, np.array(v), 1) for k, v in
    ...        (("a", [1.0, 0.1]), ("b", [0.9, 0.2]), ("c", [1.1, 0.0]), ("d", [-9.0, -1.0]))]
    >>> s = CosineFilter()
    >>> s.combine(ups)
    array([1. , 0.1])
    >>> s.flagged
    [['d']]
    """

    summed_arrays = None

    def __init__(self, *, min_similarity=0.0, fraction_train=1.0, weighted=True,
                 server_lr=1.0):
        super().__init__(fraction_train=fraction_train, weighted=weighted, server_lr=server_lr)
        if isinstance(min_similarity, bool) or not isinstance(
                min_similarity, (int, float, np.number)) or not -1 <= min_similarity < 1:
            raise InvalidParameterError(
                f"min_similarity must be a number in [-1, 1), got {min_similarity!r}")
        self.min_similarity = float(min_similarity)
        self.flagged = []

    def start(self, n_params, n_clients):
        super().start(n_params, n_clients)
        self.flagged = []

    def similarities(self, vectors):
        """Cosine similarity of each row of ``vectors`` to their coordinate-wise median."""
        vectors = np.asarray(vectors, dtype=float)
        reference = np.median(vectors, axis=0)
        norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference)
        return np.divide(vectors @ reference, norms, out=np.zeros(len(vectors)),
                         where=norms > 0)

    def combine(self, updates, *, rng=None):
        updates = Updates.of(updates)
        vectors = check_finite(updates.vectors, "update vectors")
        keep = self.similarities(vectors) >= self.min_similarity
        if not keep.any():  # nothing trustworthy: fall back to the median itself
            keep[:] = False
            self.flagged.append(list(updates.clients))
            return np.median(vectors, axis=0)
        self.flagged.append([c for c, k in zip(updates.clients, keep) if not k])
        weights = self._weights(updates)
        weights = None if weights is None else np.asarray(weights, dtype=float)[keep]
        return rules.weighted_mean(vectors[keep], weights)


def _finite(updates):
    """The update vectors, refused when one holds NaN or infinity (no sort position of a
    NaN may decide a robust rule's answer; the round loop refuses such replies first)."""
    return check_finite(Updates.of(updates).vectors, "update vectors")


def tolerated_attackers(strategy, n_clients):
    """How many arbitrary (Byzantine) updates of ``n_clients`` a rule provably survives.

    FedAvg, norm bounding and the cosine filter: 0 (one unbounded update moves the mean
    anywhere; norm bounding only limits how far). Median: fewer than half,
    ``ceil(n / 2) - 1``. Trimmed mean: ``floor(beta n)``. Krum: its ``num_malicious``
    ``f``, which must satisfy ``n >= 2 f + 3``.

    Examples
    --------
    >>> [tolerated_attackers(s, 5) for s in (FedMedian(), FedTrimmedAvg(beta=0.2),
    ...                                      Krum(num_malicious=1), NormBounding())]
    [2, 1, 1, 0]
    """
    n = check_int(n_clients, "n_clients", minimum=1)
    if isinstance(strategy, FedMedian):
        return -(-n // 2) - 1
    if isinstance(strategy, FedTrimmedAvg):
        return int(np.floor(strategy.beta * n))
    if isinstance(strategy, Krum):
        return strategy.num_malicious if n >= 2 * strategy.num_malicious + 3 else 0
    if not isinstance(strategy, Strategy):
        raise InvalidParameterError(f"strategy must be a Strategy, got {strategy!r}")
    return 0
