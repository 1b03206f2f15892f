"""A server for one round by hand (lesson 03a): the global model and its strategy, step by step.

A whole run is :class:`fedlab.federated.RoundLoop`'s (through :func:`fedlab.federated.run`
or Flower); :class:`Server` applies the same strategy to updates a notebook collects.
"""

from __future__ import annotations

import numpy as np

from .messages import Updates
from .strategy import FedAvg, check_strategy

__all__ = ["Server"]


class Server:
    """Holds the global model; its :class:`~fedlab.federated.Strategy` does the rest.

    Parameters
    ----------
    params : ndarray of shape (n_params,)
        The initial global model.
    strategy : Strategy, default=FedAvg()
        How rounds are configured and updates aggregated.
    n_clients : int, default=1
        Size of the federation (SCAFFOLD's server variate averages over it).

    Examples
    --------
    >>> from fedlab.federated.messages import Update
    >>> s = Server(np.zeros(2))
    >>> s.step([Update("a", np.array([0.1, 0.2]), 1), Update("b", np.array([0.3, 0.4]), 1)])
    array([0.2, 0.3])
    """

    def __init__(self, params, *, strategy=None, n_clients=1):
        self.params = np.array(params, dtype=float)
        self.strategy = FedAvg() if strategy is None else check_strategy(strategy)
        self.strategy.start(len(self.params), n_clients)
        self.round = 0

    def __repr__(self):
        return f"Server(round={self.round}, strategy={self.strategy!r})"

    def step(self, updates, *, rng=None):
        """Aggregate one round's updates into the next global model, and return it."""
        self.round += 1
        self.params = np.asarray(self.strategy.aggregate_train(
            self.round, self.params, Updates.of(updates), rng=rng), dtype=float)
        return self.params
