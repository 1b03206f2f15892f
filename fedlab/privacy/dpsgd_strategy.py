"""FedAvg whose clients train with record-level DP-SGD (Abadi et al. 2016), as a strategy.

:class:`DPSGD` is a server strategy like any other (``strategy="dpsgd"`` by name): its
instructions tell every chosen client to run :func:`fedlab.privacy.dp_sgd` from the
global model instead of plain SGD, and the server averages the replies as FedAvg does.
Each site keeps its own privacy accounting (its records, its sampling rate, its steps):
:func:`dp_sgd_reply` is the client's side, called by ``Client.train`` for the task
``"dp_sgd"``, and reports the site's epsilon so far with every update.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_int, check_positive
from fedlab.federated.messages import Update
from fedlab.federated.strategy import FedAvg

from .accounting import noise_multiplier_for
from .dpsgd import dp_sgd
from .renyi import (
    DEFAULT_ORDERS,
    _rdp_one_step,
    check_delta,
    check_noise_multiplier,
    check_sample_rate,
    rdp_to_epsilon,
)

__all__ = ["DPSGD", "dp_sgd_reply", "local_dp_steps"]


class DPSGD(FedAvg):
    """FedAvg with record-level differential privacy: every client trains by DP-SGD.

    Each round the chosen clients run DP-SGD (Poisson batches, each record's gradient
    clipped to ``clip_norm``, Gaussian noise of ``noise_multiplier * clip_norm`` on the
    sum) from the global model, and reply with the change; the server takes their
    (weighted) mean. What is protected is each patient record of each site: a site's
    updates, and everything computed from them, are (epsilon, delta)-DP with respect to
    adding or removing one of its records, where epsilon is that site's own (it depends
    on its number of records through the sampling rate). The server learns every update
    and each site's number of records.

    Parameters
    ----------
    noise_multiplier : float
        ``sigma``, the DP-SGD noise in units of ``clip_norm``, >= 0 (0: no privacy).
    clip_norm : float, default=1.0
        ``C``: each record's gradient is scaled down to L2 norm at most ``C``, > 0.
    delta : float, default=1e-5
        The delta at which each site reports its epsilon; well below 1 / n_records.
    sample_rate : float in (0, 1], optional
        Each record's probability of joining a local step's batch; by default the run's
        ``batch_size`` over the site's number of records.
    fraction_train, weighted, server_lr : see :class:`~fedlab.federated.Strategy`

    Attributes
    ----------
    site_epsilons : dict of str to float
        Each site's epsilon after its last round, as it reported it.

    Notes
    -----
    A site with ``n`` records and sampling rate ``q = batch_size / n`` runs
    ``round(epochs / q)`` DP-SGD steps a round (:func:`local_dp_steps`); its accountant
    composes every step of every round it took part in. Outside the guarantee, as in
    most DP-FL systems: the number of records (the FedAvg weight; ``weighted=False``
    avoids it) and the per-feature sums of federated standardization. A model without
    per-example gradients (a Cox model: one record sits in many risk sets) cannot be
    trained this way, and is refused.

    References
    ----------
    .. [1] Abadi, M., et al. (2016). Deep learning with differential privacy. CCS.
    .. [2] McMahan, H. B., et al. (2017). Communication-efficient learning of deep
       networks from decentralized data. AISTATS.

    Examples
    --------
    >>> from fedlab import federated
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2)); y = (X[:, 0] > 0).astype(int)
    >>> clients = [federated.Client(X[:200], y[:200], name="a"),
    ...            federated.Client(X[200:], y[200:], name="b")]
    >>> strategy = DPSGD(noise_multiplier=1.0)
    >>> h = federated.run(clients, strategy=strategy, rounds=3, batch_size=20, random_state=0)
    >>> round(strategy.site_epsilons["a"], 2)  # 3 rounds x 10 steps of rate 20 / 200
    4.85
    """

    def __init__(self, *, noise_multiplier, clip_norm=1.0, delta=1e-5, sample_rate=None,
                 fraction_train=1.0, weighted=True, server_lr=1.0):
        super().__init__(fraction_train=fraction_train, weighted=weighted, server_lr=server_lr)
        self.noise_multiplier = check_noise_multiplier(noise_multiplier)
        self.clip_norm = float(check_positive(clip_norm, "clip_norm"))
        self.delta = check_delta(delta)
        self.sample_rate = None if sample_rate is None else check_sample_rate(sample_rate)
        self.site_epsilons = {}

    @classmethod
    def for_epsilon(cls, target_epsilon, *, rounds, n_records, epochs=1, batch_size=32,
                    delta=1e-5, sample_rate=None, **params):
        """The least noise that keeps every site within ``target_epsilon`` after ``rounds``.

        One noise multiplier for all sites: the site that spends the most (the smallest,
        whose sampling rate is the highest) reaches ``target_epsilon`` at the last round,
        the others stay below it.

        Parameters
        ----------
        target_epsilon : float
        rounds : int
        n_records : sequence of int
            Each site's number of training records.
        epochs, batch_size : the run's local training settings
        delta, sample_rate, **params : as in the class

        Examples
        --------
        >>> dp = DPSGD.for_epsilon(3.0, rounds=5, n_records=[200, 800], batch_size=20)
        >>> round(dp.noise_multiplier, 3)
        1.453
        >>> from fedlab.privacy import epsilon  # the small site (q = 0.1) reaches the budget
        >>> round(epsilon(noise_multiplier=dp.noise_multiplier, sample_rate=0.1, steps=50,
        ...               delta=1e-5), 2)
        3.0
        """
        rounds = check_int(rounds, "rounds", minimum=1)
        sizes = [check_int(n, "n_records", minimum=1) for n in n_records]
        if not sizes:
            raise InvalidParameterError("n_records must hold each site's number of "
                                        "records, got none")
        sigmas = []
        for n in sizes:
            q = _rate(sample_rate, batch_size, n)
            sigmas.append(noise_multiplier_for(
                target_epsilon=target_epsilon, sample_rate=q, delta=delta,
                steps=rounds * local_dp_steps(q, epochs)))
        return cls(noise_multiplier=max(sigmas), delta=delta, sample_rate=sample_rate,
                   **params)

    def start(self, n_params, n_clients):
        """A new run: every site's accounting starts from zero."""
        super().start(n_params, n_clients)
        self.site_epsilons = {}

    def configure_train(self, server_round, params, config, n_clients, *, rng):
        """FedAvg's sampling; the instructions ask for DP-SGD with this noise and clipping."""
        indices, config = super().configure_train(server_round, params, config, n_clients,
                                                  rng=rng)
        dp = {"task": "dp_sgd", "noise_multiplier": self.noise_multiplier,
              "clip_norm": self.clip_norm, "delta": self.delta}
        if self.sample_rate is not None:
            dp["sample_rate"] = self.sample_rate
        return indices, {**config, **dp}

    def aggregate_train(self, server_round, params, updates, *, rng):
        """FedAvg's mean; each site's reported epsilon is kept in :attr:`site_epsilons`."""
        for update in updates:
            if "epsilon" in update.metrics:
                self.site_epsilons[update.client] = float(update.metrics["epsilon"])
        return super().aggregate_train(server_round, params, updates, rng=rng)

    def privacy(self):
        """What a report says of this run's guarantee (record level, each site's epsilon).

        Under secure aggregation no site's epsilon reaches the server (only the masked
        sum does): ``epsilon`` is then ``None``, with the reason beside it.
        """
        spent = self.site_epsilons
        out = {"level": "record", "epsilon": max(spent.values()) if spent else None,
               "delta": self.delta, "noise_multiplier": self.noise_multiplier,
               "clip_norm": self.clip_norm, "sites": dict(spent)}
        if not spent:
            out["epsilon_reason"] = ("undefined: no site reported its epsilon to the server "
                                     "(none trained, or secure aggregation hid the replies)")
        return out


def local_dp_steps(sample_rate, epochs):
    """DP-SGD steps of one round: ``round(epochs / q)``, at least 1.

    Examples
    --------
    >>> local_dp_steps(0.1, 1), local_dp_steps(1.0, 2)
    (10, 2)
    """
    return max(1, int(round(epochs / sample_rate)))


def dp_sgd_reply(client, params, config, *, state, random_state=None):
    """The client's side of a :class:`DPSGD` round: DP-SGD on its records, its accounting.

    Parameters
    ----------
    client : Client
        The site (its records never leave this function but as the update).
    params : ndarray of shape (n_params,)
    config : dict
        The round's instructions: ``noise_multiplier``, ``clip_norm``, ``delta``,
        optionally ``sample_rate``, and ``epochs``, ``batch_size``, ``lr``, ``l2``.
    state : dict
        The site's memory across rounds: ``"dp_rdp"`` holds its accumulated RDP curve
        (over :data:`~fedlab.privacy.DEFAULT_ORDERS`), so the accounting survives
        between rounds, also on Flower (where the state is a record of arrays).
    random_state : numpy.random.Generator, optional

    Returns
    -------
    Update
        ``metrics`` holds this site's ``epsilon`` after this round (no loss: the local
        loss is not covered by the guarantee).

    Raises
    ------
    ValueError
        For a model without per-example gradients, or FedProx/SCAFFOLD instructions.
    """
    model = getattr(client, "model", None)
    if model is not None and not getattr(model, "supports_per_example", True):
        raise InvalidParameterError(
            f"strategy 'dpsgd' needs per-example gradients, which model "
            f"{getattr(model, 'name', type(model).__name__)!r} does not have "
            "(supports_per_example=False: clipping one record bounds nothing when it sits "
            "in many risk sets); use strategy 'dpfedavg' (client-level DP) instead")
    if config.get("mu") or config.get("control") is not None:
        raise InvalidParameterError("strategy 'dpsgd' runs plain DP-SGD: FedProx's mu and "
                                    "SCAFFOLD's control variates are not covered")
    sigma = check_noise_multiplier(config["noise_multiplier"])
    X, y = client._records(), client._y  # at the site: DP-SGD reads its own records
    q = _rate(config.get("sample_rate"), config.get("batch_size", 32), len(y))
    steps = local_dp_steps(q, config.get("epochs", 1))
    new, _ = dp_sgd(params, X, y, noise_multiplier=sigma, clip_norm=config["clip_norm"],
                    sample_rate=q, steps=steps, lr=config.get("lr", 0.1),
                    l2=config.get("l2", 0.0), model=model, random_state=random_state)
    spent = np.asarray(state.get("dp_rdp", np.zeros(len(DEFAULT_ORDERS))), dtype=float)
    with np.errstate(over="ignore"):
        spent = spent + steps * _rdp_one_step(sigma, q, DEFAULT_ORDERS)
    state["dp_rdp"] = spent
    epsilon = rdp_to_epsilon(spent, check_delta(config.get("delta", 1e-5)))
    return Update(client.name, new - params, client.n_samples, {"epsilon": epsilon})


def _rate(sample_rate, batch_size, n):
    """A site's sampling rate: the one given, else ``batch_size / n`` (whole batch: 1)."""
    if sample_rate is not None:
        return check_sample_rate(sample_rate)
    return 1.0 if not batch_size else min(1.0, batch_size / n)
