"""Server optimizers: FedAvgM (Hsu et al. 2019), FedAdagrad, FedAdam, FedYogi (Reddi et al. 2021).

The server treats the round's mean update as a pseudo-gradient and steps with momentum
or an adaptive optimizer, instead of adding it as it is. Clients train as in FedAvg.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_positive

from .strategy import Strategy, mean_update

__all__ = ["FedAvgM", "FedAdagrad", "FedAdam", "FedYogi"]


class FedAvgM(Strategy):
    """FedAvg with server momentum: ``v <- beta v + Delta``, ``theta <- theta + eta v``.

    The server learns what FedAvg's does.

    Parameters
    ----------
    server_momentum : float in [0, 1), default=0.9
        ``beta``; 0 is FedAvg.
    server_lr : float, default=1.0
        ``eta``.
    fraction_train, weighted : see :class:`~fedlab.federated.Strategy`

    References
    ----------
    Hsu, Qi, Brown (2019). Measuring the effects of non-identical data distribution for
    federated visual classification. arXiv:1909.06335.

    Examples
    --------
    >>> from fedlab.federated import Update
    >>> s = FedAvgM(server_momentum=0.5); s.start(1, 1)
    >>> theta = s.aggregate_train(1, np.zeros(1), [Update("a", np.array([1.0]), 1)], rng=None)
    >>> s.aggregate_train(2, theta, [Update("a", np.array([1.0]), 1)], rng=None)
    array([2.5])
    """

    def __init__(self, *, server_momentum=0.9, server_lr=1.0, fraction_train=1.0,
                 weighted=True):
        super().__init__(fraction_train=fraction_train, weighted=weighted,
                         server_lr=server_lr)
        self.server_momentum = _check_beta(server_momentum, "server_momentum")

    def start(self, n_params, n_clients):
        super().start(n_params, n_clients)
        self.velocity = np.zeros(n_params)

    def aggregate_sums(self, server_round, params, sums, *, rng):
        self.velocity = self.server_momentum * self.velocity + mean_update(sums)
        return params + self.server_lr * self.velocity


class _FedOpt(Strategy):
    """Adaptive server optimizers of Reddi et al. (2021), Algorithm 2.

    ``Delta`` is the round's mean update (the negative of a pseudo-gradient);
    ``m <- beta_1 m + (1 - beta_1) Delta``; ``v`` follows the optimizer's rule; then
    ``theta <- theta + eta m / (sqrt(v) + tau)``.
    """

    def __init__(self, *, server_lr=0.1, beta_1=0.9, beta_2=0.99, tau=1e-3,
                 fraction_train=1.0, weighted=True):
        super().__init__(fraction_train=fraction_train, weighted=weighted,
                         server_lr=server_lr)
        self.beta_1 = _check_beta(beta_1, "beta_1")
        self.beta_2 = _check_beta(beta_2, "beta_2")
        self.tau = check_positive(tau, "tau")

    def start(self, n_params, n_clients):
        super().start(n_params, n_clients)
        self.m = np.zeros(n_params)
        self.v = np.full(n_params, self.tau ** 2)  # v_{-1} >= tau^2 (Reddi et al.)
        self.steps = 0

    def aggregate_sums(self, server_round, params, sums, *, rng):
        delta = mean_update(sums)
        self.steps += 1
        self.m = self.beta_1 * self.m + (1.0 - self.beta_1) * delta
        self.v = self._second_moment(self.v, delta * delta)
        return params + self.server_lr * self._step()

    def _step(self):
        return self.m / (np.sqrt(self.v) + self.tau)


class FedAdagrad(_FedOpt):
    """Adaptive federated optimization with Adagrad at the server: ``v <- v + Delta^2``.

    The server learns what FedAvg's does. Parameters as :class:`FedAdam` (``beta_2`` is
    unused).

    References
    ----------
    Reddi, Charles, Zaheer, Garrett, Rush, Konečný, Kumar, McMahan (2021). Adaptive
    federated optimization. ICLR.
    """

    def _second_moment(self, v, g2):
        return v + g2


class FedAdam(_FedOpt):
    """Adaptive federated optimization with Adam at the server.

    ``v <- beta_2 v + (1 - beta_2) Delta^2``; with ``bias_correction`` the step uses
    ``m / (1 - beta_1^t)`` and ``v / (1 - beta_2^t)`` as in Adam (Kingma & Ba 2015);
    ``tau`` is added to ``sqrt(v)``, outside the root. The server learns what FedAvg's does.

    Parameters
    ----------
    server_lr : float, default=0.1
        ``eta``.
    beta_1, beta_2 : float in [0, 1), default=0.9 and 0.99
    tau : float, default=1e-3
        Adaptivity: how small a coordinate's ``sqrt(v)`` may get before steps stop growing.
    bias_correction : bool, default=True
        Reddi et al.'s Algorithm 2 has none (``False``); Flower's and Adam's have it.
    fraction_train, weighted : see :class:`~fedlab.federated.Strategy`

    References
    ----------
    Reddi et al. (2021). Adaptive federated optimization. ICLR.
    Kingma, Ba (2015). Adam: a method for stochastic optimization. ICLR.

    Examples
    --------
    >>> from fedlab.federated import Update
    >>> s = FedAdam(server_lr=0.1, tau=1e-9); s.start(1, 1)
    >>> s.aggregate_train(1, np.zeros(1), [Update("a", np.array([0.5]), 1)], rng=None)
    array([0.1])
    """

    def __init__(self, *, server_lr=0.1, beta_1=0.9, beta_2=0.99, tau=1e-3,
                 bias_correction=True, fraction_train=1.0, weighted=True):
        super().__init__(server_lr=server_lr, beta_1=beta_1, beta_2=beta_2, tau=tau,
                         fraction_train=fraction_train, weighted=weighted)
        self.bias_correction = bool(bias_correction)

    def start(self, n_params, n_clients):
        super().start(n_params, n_clients)
        if self.bias_correction:
            self.v = np.zeros(n_params)  # Adam's v_0; the correction makes it unbiased

    def _second_moment(self, v, g2):
        return self.beta_2 * v + (1.0 - self.beta_2) * g2

    def _step(self):
        if not self.bias_correction:
            return super()._step()
        m_hat = self.m / (1.0 - self.beta_1 ** self.steps)
        v_hat = self.v / (1.0 - self.beta_2 ** self.steps)
        return m_hat / (np.sqrt(v_hat) + self.tau)


class FedYogi(_FedOpt):
    """Adaptive federated optimization with Yogi at the server.

    ``v <- v - (1 - beta_2) Delta^2 sign(v - Delta^2)``: ``v`` grows as slowly as Adam's
    but shrinks only additively, so a few large updates do not blow up the step. The
    server learns what FedAvg's does. Parameters as :class:`FedAdam`.

    References
    ----------
    Reddi et al. (2021). Adaptive federated optimization. ICLR.
    Zaheer, Reddi, Sachan, Kale, Kumar (2018). Adaptive methods for nonconvex
    optimization. NeurIPS.
    """

    def _second_moment(self, v, g2):
        return v - (1.0 - self.beta_2) * g2 * np.sign(v - g2)


def _check_beta(value, name):
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise InvalidParameterError(f"{name} must be in [0, 1), got {value}")
    return value
