"""The messages a federated client and server exchange: nothing else crosses the wire."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Update"]

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
