"""FedNova: normalized averaging against objective inconsistency (Wang et al. 2020)."""

from __future__ import annotations

import numpy as np

from .messages import Updates
from .strategy import Strategy

__all__ = ["FedNova"]


class FedNova(Strategy):
    """Average each client's update per local step, then take the average number of steps.

    With unequal numbers of local steps ``tau_i`` (sites of unequal size train for the
    same epochs), FedAvg's mean of ``Delta_i`` weights a site by how many steps it took
    as well as by ``p_i``: it converges to the optimum of a different, step-weighted
    objective. FedNova divides each update by its ``tau_i`` and rescales:
    ``Delta = tau_eff * sum_i p_i Delta_i / tau_i`` with ``tau_eff = sum_i p_i tau_i``.
    The server learns what FedAvg's does (``tau_i`` follows from ``n_i`` and the
    instructions it sent).

    Parameters
    ----------
    fraction_train, weighted, server_lr : see :class:`~fedlab.federated.Strategy`
        ``p_i`` is ``n_i / n`` (weighted) or ``1 / m``.

    Notes
    -----
    Vanilla local SGD (no momentum): ``a_i = (1, ..., 1)``, ``||a_i||_1 = tau_i`` with
    ``tau_i = E * ceil(n_i / B)`` (``B = n_i`` for full batches). With equal ``tau_i``
    FedNova is FedAvg.

    References
    ----------
    Wang, Liu, Liang, Joshi, Poor (2020). Tackling the objective inconsistency problem
    in heterogeneous federated optimization. NeurIPS.

    Examples
    --------
    >>> from fedlab.federated import Update
    >>> s = FedNova(); s.start(1, 2)
    >>> _, cfg = s.configure_train(1, np.zeros(1), {"epochs": 1, "batch_size": 10}, 2,
    ...                            rng=np.random.default_rng(0))
    >>> # 10 records: 1 step; 30 records: 3 steps. Per-step updates 1.0 and 0.5
    >>> s.aggregate_train(1, np.zeros(1), [Update("a", np.array([1.0]), 10),
    ...                                    Update("b", np.array([1.5]), 30)], rng=None)
    array([1.5625])
    """

    def __repr__(self):
        return (f"FedNova(fraction_train={self.fraction_train:g}, weighted={self.weighted}, "
                f"server_lr={self.server_lr:g})")

    def configure_train(self, server_round, params, config, n_clients, *, rng):
        indices, config = super().configure_train(server_round, params, config, n_clients,
                                                  rng=rng)
        self._config = config
        return indices, config

    def combine(self, updates, *, rng=None):
        updates = Updates.of(updates)
        steps = np.array([self.local_steps(n) for n in updates.n_samples], dtype=float)
        p = updates.n_samples.astype(float) if self.weighted else np.ones(len(updates))
        p /= p.sum()
        normalized = updates.vectors / steps[:, None]
        return float(p @ steps) * (p @ normalized)

    def local_steps(self, n_samples):
        """``tau_i``: local SGD steps a client of ``n_samples`` records took this round."""
        config = getattr(self, "_config", {})
        batch = config.get("batch_size", 32) or n_samples
        return config.get("epochs", 1) * -(-int(n_samples) // int(batch))
