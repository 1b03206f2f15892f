"""The messages a federated client and server exchange: nothing else crosses the wire."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Update", "Updates"]

HEADER_BYTES = 8
"""Bytes counted for a message's header (the sample count as one int64)."""


@dataclass(frozen=True)
class Update:
    """A client's reply to one round: a vector, its sample count and local metrics.

    Attributes
    ----------
    client : str
        The client's name.
    vector : ndarray of shape (n_params,)
        FedAvg: the change of the parameters after local training (``theta_k - theta``).
        FedSGD: the gradient of the local loss at ``theta``.
    n_samples : int
        Number of local training records (the FedAvg weight).
    metrics : dict
        Local training metrics (e.g. ``{"loss": 0.41}``).
    arrays : dict of str to ndarray
        Further arrays a strategy asks for (e.g. SCAFFOLD's ``"control"`` change).
    """

    client: str
    vector: np.ndarray
    n_samples: int
    metrics: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)

    @property
    def nbytes(self):
        """Bytes this update takes on the wire: the float64 arrays plus a header."""
        return (int(self.vector.nbytes) + sum(int(a.nbytes) for a in self.arrays.values())
                + HEADER_BYTES)


class Updates(Sequence):
    """One round's replies, held column-wise: a sequence of :class:`Update`.

    Indexing or iterating gives :class:`Update` objects; strategies that aggregate read
    the columns directly (:attr:`vectors`, :attr:`n_samples`), which keeps a round of a
    thousand clients cheap. What crosses the wire is the same.

    Parameters
    ----------
    clients : sequence of str
    vectors : array-like of shape (m, n_params)
    n_samples : array-like of shape (m,)
    metrics : sequence of dict, optional
    arrays : dict of str to array-like of shape (m, n_params), optional

    Examples
    --------
    >>> ups = Updates.of([Update("a", np.array([1.0, 2.0]), 3), Update("b", np.zeros(2), 1)])
    >>> ups.vectors.shape, ups.n_samples.tolist(), ups[1].client, ups.nbytes
    ((2, 2), [3, 1], 'b', 48)
    """

    def __init__(self, clients, vectors, n_samples, metrics=None, arrays=None):
        self.clients = list(clients)
        vectors = np.asarray(vectors, dtype=float)
        width = vectors.shape[-1] if vectors.ndim == 2 else 0
        self.vectors = vectors.reshape(len(self.clients), -1 if self.clients else width)
        self.n_samples = np.asarray(n_samples, dtype=int).reshape(len(self.clients))
        self.metrics = [{} for _ in self.clients] if metrics is None else list(metrics)
        self.arrays = {k: np.asarray(v, dtype=float) for k, v in (arrays or {}).items()}

    @classmethod
    def of(cls, updates):
        """``updates`` as :class:`Updates` (a list of :class:`Update` is converted)."""
        if isinstance(updates, Updates):
            return updates
        updates = list(updates)
        names = sorted({k for u in updates for k in u.arrays})
        return cls([u.client for u in updates], [np.asarray(u.vector, dtype=float)
                                                  for u in updates] or np.zeros((0, 0)),
                   [u.n_samples for u in updates], [u.metrics for u in updates],
                   {k: [u.arrays[k] for u in updates] for k in names})

    def __len__(self):
        return len(self.clients)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        return Update(self.clients[i], self.vectors[i], int(self.n_samples[i]),
                      self.metrics[i], {k: v[i] for k, v in self.arrays.items()})

    def take(self, indices):
        """The replies at ``indices``, in that order, as :class:`Updates`."""
        indices = list(indices)
        return Updates([self.clients[k] for k in indices], self.vectors[indices].reshape(
                           len(indices), self.vectors.shape[1]),
                       self.n_samples[indices], [self.metrics[k] for k in indices],
                       {name: v[indices] for name, v in self.arrays.items()})

    @property
    def nbytes(self):
        """Bytes the replies take on the wire: the sum of their :attr:`Update.nbytes`."""
        per_row = self.vectors.shape[1] + sum(v.shape[1] for v in self.arrays.values())
        return len(self) * (8 * per_row + HEADER_BYTES)
