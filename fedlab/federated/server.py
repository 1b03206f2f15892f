"""The federated server: samples clients, aggregates their updates, keeps the global model."""

from __future__ import annotations

import numpy as np

from fedlab import aggregate as rules
from fedlab._validation import check_fraction

__all__ = ["Server"]

ALGORITHMS = ("fedavg", "fedsgd")


class Server:
    """Holds the global model and applies one aggregation rule to the clients' updates.

    Parameters
    ----------
    params : ndarray of shape (n_params,)
        The initial global model.
    aggregate : {"weighted", "mean", "median", "trimmed_mean", "krum"}, callable or strategy
        ``"weighted"`` weights each update by its sample count (FedAvg);
        ``"mean"`` is the plain mean. A callable is called as ``rule(vectors, weights)``
        with ``vectors`` of shape (n_updates, n_params) and must return one vector.
        A strategy is an object with ``combine(updates, *, rng, params)`` returning the
        direction
        (e.g. DP-FedAvg or secure aggregation); it may also define
        ``select(n_clients, *, rng)`` to choose each round's clients itself,
        ``bytes_up(updates)`` and ``bytes_down(updates)`` to count what its protocol
        sends beyond the updates and the model, and ``epsilon()`` to
        report the privacy spent so far.
    algorithm : {"fedavg", "fedsgd"}, default="fedavg"
        FedAvg updates are parameter changes, added to the model;
        FedSGD updates are gradients, stepped against with ``lr``.
    lr : float, default=1.0
        Server learning rate (the FedSGD step size; 1 gives plain FedAvg).

    Notes
    -----
    FedAvg: ``theta <- theta + lr * sum_k w_k (theta_k - theta)``; FedSGD:
    ``theta <- theta - lr * sum_k w_k g_k``, with ``w_k = n_k / sum n`` (weighted) or
    ``1 / m`` (mean).

    Examples
    --------
    >>> from fedlab.federated.messages import Update
    >>> s = Server(np.zeros(2))
    >>> s.step([Update("a", np.array([0.1, 0.2]), 1), Update("b", np.array([0.3, 0.4]), 1)])
    array([0.2, 0.3])
    """

    def __init__(self, params, *, aggregate="weighted", algorithm="fedavg", lr=1.0):
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        if not (callable(aggregate) or hasattr(aggregate, "combine")
                or aggregate in rules.RULES):
            raise ValueError(
                f"aggregate must be one of {sorted(rules.RULES)} or a callable, got {aggregate!r}"
            )
        self.params = np.array(params, dtype=float)
        self.aggregate = aggregate
        self.algorithm = algorithm
        self.lr = float(lr)

    def select(self, n_clients, fraction, *, rng):
        """Indices of the ``max(1, round(fraction * n_clients))`` clients for this round."""
        if hasattr(self.aggregate, "select"):
            return np.asarray(self.aggregate.select(n_clients, rng=rng), dtype=int)
        check_fraction(fraction, "client_fraction")
        m = max(1, int(round(fraction * n_clients)))
        return np.sort(rng.choice(n_clients, size=m, replace=False))

    def combine(self, updates, *, rng=None):
        """Aggregate the updates' vectors into one vector with the configured rule."""
        if hasattr(self.aggregate, "combine"):
            return np.asarray(self.aggregate.combine(updates, rng=rng, params=self.params),
                              dtype=float)
        vectors = np.array([u.vector for u in updates])
        if callable(self.aggregate):
            weights = np.array([u.n_samples for u in updates], dtype=float)
            return np.asarray(self.aggregate(vectors, weights), dtype=float)
        weights = None if self.aggregate == "mean" else [u.n_samples for u in updates]
        return rules.RULES[self.aggregate](vectors, weights)

    def step(self, updates, *, rng=None):
        """Apply one round's updates to the global model and return it."""
        if updates or hasattr(self.aggregate, "combine"):
            direction = self.combine(updates, rng=rng)
            sign = 1.0 if self.algorithm == "fedavg" else -1.0
            self.params = self.params + sign * self.lr * direction
        return self.params
