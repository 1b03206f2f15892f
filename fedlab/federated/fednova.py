"""FedNova: normalized averaging against objective inconsistency (Wang et al. 2020)."""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError

from .strategy import Strategy, mean_update

__all__ = ["FedNova", "local_steps"]


class FedNova(Strategy):
    """Average each client's update per local step, then take the average number of steps.

    With unequal numbers of local steps ``tau_i`` (sites of unequal size train for the
    same epochs), FedAvg's mean of ``Delta_i`` weights a site by how many steps it took
    as well as by ``p_i``: it converges to the optimum of a different, step-weighted
    objective. FedNova divides each update by its ``tau_i`` and rescales:
    ``Delta = tau_eff * sum_i p_i Delta_i / tau_i`` with ``tau_eff = sum_i p_i tau_i``.
    Each reply says its ``tau_i`` (``metrics["local_steps"]``); the server needs only
    the sums ``sum p_i Delta_i / tau_i``, ``sum p_i`` and ``sum p_i tau_i``, so FedNova
    runs under secure aggregation; without it the server learns what FedAvg's does,
    and each client's number of steps.

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
    >>> # 10 records: 1 step; 30 records: 3 steps. Per-step updates 1.0 and 0.5
    >>> s.aggregate_train(1, np.zeros(1),
    ...                   [Update("a", np.array([1.0]), 10, {"local_steps": 1}),
    ...                    Update("b", np.array([1.5]), 30, {"local_steps": 3})], rng=None)
    array([1.5625])
    """

    reads_local_steps = True
    summed_arrays = ("vector", "weight", "steps")

    def summands(self, update):
        """``p_i Delta_i / tau_i``, ``p_i`` and ``p_i tau_i`` (unnormalized ``p_i``)."""
        steps = local_steps(update)
        w = float(update.n_samples) if self.weighted else 1.0
        return {"vector": (w / steps) * np.asarray(update.vector, dtype=float),
                "weight": np.array([w]), "steps": np.array([w * steps])}

    def summand_scales(self, sizes, config):
        """As the base class's, and ``p_i tau_i`` also over the most steps a client can take."""
        scales = super().summand_scales(sizes, config)
        batch = config.get("batch_size") or max(sizes)
        scales["steps"] *= config.get("epochs", 1) * -(-max(int(n) for n in sizes) // batch)
        return scales

    def aggregate_sums(self, server_round, params, sums, *, rng):
        tau_eff = sums["steps"][0] / sums["weight"][0]
        return params + self.server_lr * tau_eff * mean_update(sums)


def local_steps(update):
    """``tau_i``: the local steps a client reports in its reply (``metrics["local_steps"]``).

    Raises
    ------
    InvalidParameterError
        When the reply does not say, or says a number that is not >= 1.
    """
    steps = update.metrics.get("local_steps")
    if steps is None or not np.isfinite(steps) or steps < 1:
        raise InvalidParameterError(
            f"FedNova reads each client's local_steps from its reply; client "
            f"{update.client!r} sent local_steps={steps!r} (a number >= 1 is needed)")
    return float(steps)
