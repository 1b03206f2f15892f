"""Robust aggregation strategies: median, trimmed mean and (Multi-)Krum.

Each replaces FedAvg's mean by a rule that a few arbitrary updates cannot drag far
(Yin et al. 2018; Blanchard et al. 2017). All of them need to see every update in the
clear, so none of them works under secure aggregation as it is.
"""

from __future__ import annotations

from fedlab import aggregate as rules
from fedlab._validation import InvalidParameterError, check_int

from .messages import Updates
from .strategy import Strategy

__all__ = ["FedMedian", "FedTrimmedAvg", "Krum"]


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

    def combine(self, updates, *, rng=None):
        return rules.coordinate_median(Updates.of(updates).vectors)


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

    def __init__(self, *, beta=0.2, fraction_train=1.0, server_lr=1.0):
        super().__init__(fraction_train=fraction_train, weighted=False, server_lr=server_lr)
        if not 0.0 <= float(beta) < 0.5:
            raise InvalidParameterError(f"beta must be in [0, 0.5), got {beta}")
        self.beta = float(beta)

    def __repr__(self):
        return f"FedTrimmedAvg(beta={self.beta:g})"

    def combine(self, updates, *, rng=None):
        return rules.trimmed_mean(Updates.of(updates).vectors, trim=self.beta)


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

    def __init__(self, *, num_malicious=1, num_to_keep=1, fraction_train=1.0, server_lr=1.0):
        super().__init__(fraction_train=fraction_train, weighted=False, server_lr=server_lr)
        self.num_malicious = check_int(num_malicious, "num_malicious", minimum=0)
        self.num_to_keep = check_int(num_to_keep, "num_to_keep", minimum=1)

    def __repr__(self):
        return f"Krum(num_malicious={self.num_malicious}, num_to_keep={self.num_to_keep})"

    def combine(self, updates, *, rng=None):
        m = len(updates)
        if m < 2 * self.num_malicious + 3:
            raise InvalidParameterError(
                f"Krum with num_malicious={self.num_malicious} needs at least "
                f"{2 * self.num_malicious + 3} updates in a round (m >= 2f + 3), got {m}")
        return rules.krum(Updates.of(updates).vectors, n_byzantine=self.num_malicious,
                          multi=self.num_to_keep)
