"""SCAFFOLD: control variates that correct client drift (Karimireddy et al. 2020)."""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError

from .strategy import Strategy, mean_update

__all__ = ["Scaffold"]


class Scaffold(Strategy):
    """SCAFFOLD: every local step is corrected by ``c - c_i``, the drift of client ``i``.

    The server keeps a control variate ``c`` (its estimate of the global gradient) and
    sends it with the model; client ``i`` keeps its own ``c_i`` (its local gradient) in
    its per-run state, on its side of the wire. Local steps are
    ``y <- y - lr (g_i(y) - c_i + c)``. After ``K`` local steps the client sets
    ``c_i+ = c_i - c + (x - y) / (K lr)`` (option II of the paper) and sends
    ``Delta y = y - x`` and ``Delta c_i = c_i+ - c_i``. The server updates
    ``x <- x + eta mean(Delta y)`` and ``c <- c + sum_i Delta c_i / N`` over all ``N``
    clients, i.e. ``c = sum_i c_i / N`` with every ``c_i`` starting at 0. With
    ``weighted=True`` both averages weight client ``i`` by ``n_i / n`` (``n`` the
    federation's records): ``c = sum_i n_i c_i / n``, so that SCAFFOLD converges to the
    pooled objective that weighted FedAvg aims at; the plain version converges to the
    plain mean of the clients' losses (the paper's objective).

    The server needs only sums (``sum w_i Delta y_i``, ``sum w_i`` and
    ``sum w_i Delta c_i``), so SCAFFOLD runs under secure aggregation; without it the
    server learns every participating client's update and the change of its control
    variate (twice FedAvg's bytes both ways).

    Parameters
    ----------
    weighted : bool, default=False
        The paper averages ``Delta y`` and the control variates plainly; ``True`` weights
        both by ``n_k``, as FedAvg weights its updates.
    fraction_train, server_lr : see :class:`~fedlab.federated.Strategy`

    Notes
    -----
    With one client, ``c = c_1`` after every round, so the correction vanishes and
    SCAFFOLD is plain local SGD. Where the control variates live: the server's ``c`` on
    this object (reset by :meth:`start`); each client's ``c_i`` in the state dict the
    round loop keeps for that client during one run (Flower's ``Context.state``).
    The weighted version needs the federation's number of records ``n``, which the
    round loop passes to :meth:`start` (each site reports its size at setup).

    References
    ----------
    Karimireddy, Kale, Mohri, Reddi, Stich, Suresh (2020). SCAFFOLD: stochastic
    controlled averaging for federated learning. ICML.

    Examples
    --------
    >>> s = Scaffold(); s.start(3, 10)
    >>> _, config = s.configure_train(1, np.zeros(3), {"lr": 0.1}, 10,
    ...                               rng=np.random.default_rng(0))
    >>> config["control"]
    array([0., 0., 0.])
    """

    client_state = ("control",)
    reply_arrays = ("control",)
    summed_arrays = ("vector", "weight", "control")

    def __init__(self, *, weighted=False, fraction_train=1.0, server_lr=1.0):
        super().__init__(fraction_train=fraction_train, weighted=weighted,
                         server_lr=server_lr)

    def start(self, n_params, n_clients):
        super().start(n_params, n_clients)
        self.control = np.zeros(n_params)

    def configure_train(self, server_round, params, config, n_clients, *, rng):
        indices, config = super().configure_train(server_round, params, config, n_clients,
                                                  rng=rng)
        return indices, {**config, "control": self.control.copy()}

    def summands(self, update):
        sums = super().summands(update)
        sums["control"] = sums["weight"][0] * np.asarray(update.arrays["control"], dtype=float)
        return sums

    def aggregate_sums(self, server_round, params, sums, *, rng):
        total = self.total_samples if self.weighted else self.n_clients
        if total is None:
            raise InvalidParameterError(
                "Scaffold(weighted=True) needs the federation's number of records: set "
                "total_samples before start() (the round loop does)")
        self.control = self.control + sums["control"] / total
        return params + self.server_lr * mean_update(sums)

    def bytes_down(self, params, n_selected):
        return 2 * super().bytes_down(params, n_selected)  # the model and c
