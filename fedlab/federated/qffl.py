"""q-FFL: fair resource allocation, sites with a higher loss weigh more (Li et al. 2020)."""

from __future__ import annotations

import numpy as np

from fedlab._validation import check_positive

from .strategy import FedSGD

__all__ = ["QFedSGD"]


class QFedSGD(FedSGD):
    """q-FedSGD: each site's gradient weighted by its loss to the power ``q``.

    The server minimizes ``f_q(w) = sum_k p_k F_k(w)^(q+1) / (q+1)``: ``q = 0`` is the
    usual average loss; a larger ``q`` pulls the model towards the sites where it does
    worst, trading average performance for a more uniform one across sites. Each client
    sends its gradient ``g_k`` and its loss ``F_k`` at the global model (as FedSGD's do);
    the server steps ``w <- w - sum_k F_k^q g_k / sum_k h_k`` with
    ``h_k = q F_k^(q-1) ||g_k||^2 + L F_k^q`` and ``L = 1 / lr``.

    Parameters
    ----------
    q : float, default=1.0
        Fairness, >= 0. ``q = 0`` is FedSGD with the plain mean of the gradients.
    lr : float, default=0.1
        ``1 / L``, the step an ``L``-smooth loss allows.
    fraction_train : see :class:`~fedlab.federated.Strategy`

    Notes
    -----
    Algorithm 1 of Li et al. (the paper's q-FedSGD): exact here because a FedSGD reply
    carries ``F_k(w_t)``. The sites count equally (``p_k = 1 / m``) as in the paper;
    the server needs only the sums of ``F_k^q g_k`` and ``h_k`` (secure aggregation
    can mask them); without it, the server learns every site's gradient and loss.

    References
    ----------
    Li, Sanjabi, Beirami, Smith (2020). Fair resource allocation in federated learning.
    ICLR.

    Examples
    --------
    >>> from fedlab.federated import Update
    >>> ups = [Update("a", np.array([1.0]), 10, {"loss": 0.2}),
    ...        Update("b", np.array([-1.0]), 10, {"loss": 0.8})]
    >>> QFedSGD(q=0.0, lr=0.5).aggregate_train(1, np.zeros(1), ups, rng=None)
    array([0.])
    >>> QFedSGD(q=2.0, lr=0.5).aggregate_train(1, np.zeros(1), ups, rng=None) > 0
    array([ True])
    """

    def __init__(self, *, q=1.0, lr=0.1, fraction_train=1.0):
        super().__init__(lr=lr, fraction_train=fraction_train, weighted=False)
        self.q = check_positive(q, "q", strict=False)

    summed_arrays = ("vector", "h")

    def summands(self, update):
        """``F_k^q g_k`` and ``h_k = q F_k^(q-1) ||g_k||^2 + L F_k^q``."""
        loss = max(float(update.metrics["loss"]), 1e-10)
        grad = np.asarray(update.vector, dtype=float)
        weight = loss ** self.q
        h = self.q * loss ** (self.q - 1.0) * float(grad @ grad) + weight / self.lr
        return {"vector": weight * grad, "h": np.array([h])}

    def aggregate_sums(self, server_round, params, sums, *, rng):
        return params - sums["vector"] / sums["h"][0]
