"""Server strategies: the one protocol every way of running a round follows (McMahan et al. 2017).

A :class:`Strategy` decides, each round, which clients train and how
(:meth:`~Strategy.configure_train`), and turns their replies into the next global model
(:meth:`~Strategy.aggregate_train`), and declares what it needs (per-client state, extra
reply arrays, local step counts, the arrays it only sums). The phases carry Flower 1.42's
names. The one round loop, :class:`fedlab.federated.RoundLoop` (in process or over
Flower's Grid), calls nothing but these methods and reads those declarations.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from fedlab._validation import InvalidParameterError, check_fraction, check_positive

from .messages import Updates

__all__ = ["Strategy", "FedAvg", "FedSGD", "FedProx", "STRATEGY_NAMES", "make_strategy",
           "mean_update"]

STRATEGY_NAMES = {}
"""Strategy classes by their command-line name: every public :class:`Strategy` subclass
defined in fedlab, registered as it is defined (its lower-case name); ``fedlab.privacy``
(``dpsgd``, ``dpfedavg``) and ``fedlab.secagg`` (``securefedavg``) add theirs when
imported."""


class Strategy:
    """Base class of every server strategy: FedAvg's behaviour, each phase overridable.

    Subclasses override only what their algorithm changes; the defaults are plain
    federated averaging (McMahan et al. 2017). Every public subclass defined in fedlab
    is registered by its lower-case class name in :data:`STRATEGY_NAMES` (a user's own
    subclass is not).

    Parameters
    ----------
    fraction_train : float in (0, 1], default=1.0
        Fraction ``C`` of the clients sampled (without replacement) each round; at least
        one. Flower's name for McMahan et al.'s ``C``.
    weighted : bool, default=True
        Weight each update by its client's number of records ``n_k`` (FedAvg) or count
        every client the same (the plain mean).
    server_lr : float, default=1.0
        Step size of the server: ``theta <- theta + server_lr * mean update``.

    Attributes
    ----------
    samples_clients : bool
        ``True`` when the strategy chooses its clients by a rule of its own (e.g.
        DP-FedAvg's Poisson sampling).
    steps_with_run_lr : bool
        ``True`` when the server itself steps with the run's learning rate ``lr`` (FedSGD
        and its subclasses, whose clients send gradients): :func:`make_strategy` passes
        the run's ``lr`` to the constructor.
    client_state : tuple of str
        What each client keeps between its rounds, on its side of the wire (SCAFFOLD:
        ``("control",)``); the round loop holds one state per client for a run (Flower:
        the ClientApp's ``Context.state``).
    reply_arrays : tuple of str
        Arrays a reply carries besides its vector (SCAFFOLD: ``("control",)``).
    reads_local_steps : bool
        The strategy reads each client's number of local steps from its reply
        (``metrics["local_steps"]``; FedNova).
    summed_arrays : tuple of str or None
        The names of :meth:`summands`: the strategy needs only the sums, over the round's
        clients, of these arrays, so secure aggregation can mask every one of them.
        ``None``: it needs each update in the clear (median, Krum, ...) and cannot run
        under secure aggregation; a subclass that defines its own :meth:`combine` (and
        neither ``summands`` nor ``summed_arrays``) is declared so.

    Notes
    -----
    A round of :class:`fedlab.federated.RoundLoop`:

    1. ``configure_train(t, params, config, n_clients, rng=...)`` returns the indices of
       the round's clients and the instructions (a dict) each trains with;
    2. each client replies with an :class:`~fedlab.federated.Update`;
    3. ``aggregate_train(t, params, updates, rng=...)`` returns the new global model;
       for a strategy with ``summed_arrays`` this is
       ``aggregate_sums(t, params, sums, rng=...)`` of the sums of the clients'
       :meth:`summands` (under secure aggregation the clients compute their summands
       and only the sums are unmasked);
    4. ``configure_evaluate`` / ``aggregate_evaluate`` do the same for federated
       evaluation (each site scores the model on its own test records).

    :meth:`start` is called once before round 1, with the model's size and the number of
    clients, so a strategy can reset its state: one strategy object serves one run at a
    time, and running it again starts afresh. :meth:`get_params` lists the constructor's
    parameters and their values (``repr`` and ``History.config`` show them), as
    scikit-learn's estimators do.

    References
    ----------
    McMahan, Moore, Ramage, Hampson, Agüera y Arcas (2017). Communication-efficient
    learning of deep networks from decentralized data. AISTATS.
    """

    samples_clients = False
    steps_with_run_lr = False
    client_state = ()
    reply_arrays = ()
    reads_local_steps = False
    summed_arrays = ("vector", "weight")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "combine" in vars(cls) and not {"summed_arrays", "summands"} & set(vars(cls)):
            cls.summed_arrays = None  # a rule of its own over the updates: it needs each one
        if cls.__module__.startswith("fedlab.") and not cls.__name__.startswith("_"):
            STRATEGY_NAMES[cls.__name__.lower()] = cls

    def __init__(self, *, fraction_train=1.0, weighted=True, server_lr=1.0):
        self.fraction_train = check_fraction(fraction_train, "fraction_train")
        self.weighted = bool(weighted)
        self.server_lr = check_positive(server_lr, "server_lr")

    # -- parameters --------------------------------------------------------------------
    @classmethod
    def param_defaults(cls):
        """The constructor's parameters and their defaults (``inspect.Parameter.empty``
        for a required one), in the signature's order.

        Examples
        --------
        >>> FedProx.param_defaults()
        {'mu': 0.01, 'fraction_train': 1.0, 'weighted': True, 'server_lr': 1.0}
        """
        return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
                if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}

    def get_params(self):
        """Every constructor parameter and its value (what ``repr`` shows).

        Examples
        --------
        >>> FedAvg(weighted=False).get_params()
        {'fraction_train': 1.0, 'weighted': False, 'server_lr': 1.0}
        """
        return {name: getattr(self, name) for name in self.param_defaults()}

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # -- lifecycle ---------------------------------------------------------------------
    total_samples = None
    """The federation's number of training records, set by the round loop before
    :meth:`start` (public to the server: each site reports its size at setup)."""

    def start(self, n_params, n_clients):
        """Prepare for a new run of ``n_clients`` clients on a model of ``n_params``."""
        self.n_params, self.n_clients = int(n_params), int(n_clients)

    # -- training ----------------------------------------------------------------------
    def configure_train(self, server_round, params, config, n_clients, *, rng):
        """Choose this round's clients and tell them how to train.

        Parameters
        ----------
        server_round : int
            The round, from 1.
        params : ndarray of shape (n_params,)
            The global model.
        config : dict
            The run's training settings (``epochs``, ``batch_size``, ``lr``, ``l2``).
        n_clients : int
        rng : numpy.random.Generator

        Returns
        -------
        indices : ndarray of int
            Sorted indices of the clients that train this round.
        config : dict
            The instructions every chosen client trains with.
        """
        m = max(1, int(round(self.fraction_train * n_clients)))
        return np.sort(rng.choice(n_clients, size=m, replace=False)), dict(config)

    def summands(self, update):
        """What one client adds to the round's sums: ``w_k delta_k`` and ``w_k``.

        ``w_k`` is the client's number of records (``weighted``) or 1. Under secure
        aggregation each client computes this from its own reply, and only the sums of
        these arrays over the round's clients are unmasked.

        Returns
        -------
        dict of str to ndarray
            One array for each name of :attr:`summed_arrays`.
        """
        w = float(update.n_samples) if self.weighted else 1.0
        return {"vector": w * np.asarray(update.vector, dtype=float), "weight": np.array([w])}

    def summand_scales(self, sizes, config):
        """Public scales that bring each summand into secure aggregation's range.

        A client divides each summand by its scale before masking; the server multiplies
        the unmasked sum back. Default: ``B``, the smallest power of two at least the
        largest client's size (weighted) or 1, for every summand.

        Parameters
        ----------
        sizes : sequence of int
            The round's clients' numbers of records (public in fedlab).
        config : dict
            The round's instructions (``epochs``, ``batch_size``).
        """
        largest = max(int(n) for n in sizes) if len(sizes) else 1
        b = 2.0 ** math.ceil(math.log2(largest)) if self.weighted and largest > 1 else 1.0
        return {name: b for name in self.summed_arrays}

    def add_up(self, updates):
        """The sums of the updates' :meth:`summands`, name by name (what secure
        aggregation unmasks)."""
        updates = Updates.of(updates)
        rows = [self.summands(u) for u in updates]
        return {name: np.sum([r[name] for r in rows], axis=0) for name in rows[0]}

    def aggregate_sums(self, server_round, params, sums, *, rng):
        """The next global model from the round's sums: ``theta + eta sum w delta / sum w``."""
        return params + self.server_lr * mean_update(sums)

    def aggregate_train(self, server_round, params, updates, *, rng):
        """The next global model from the round's updates (unchanged if none arrived).

        Parameters
        ----------
        server_round : int
        params : ndarray of shape (n_params,)
        updates : list of Update
        rng : numpy.random.Generator

        Returns
        -------
        ndarray of shape (n_params,)
        """
        if not len(updates):
            return params
        if self.summed_arrays is None:
            return params + self.server_lr * self.combine(updates, rng=rng)
        return self.aggregate_sums(server_round, params, self.add_up(updates), rng=rng)

    def combine(self, updates, *, rng=None):
        """One vector from the updates: their (weighted) mean."""
        return mean_update(self.add_up(updates))

    # -- evaluation --------------------------------------------------------------------
    def configure_evaluate(self, server_round, params, n_clients, *, rng):
        """Indices of the clients that score the model this round (default: all)."""
        return np.arange(n_clients)

    def aggregate_evaluate(self, server_round, results):
        """Pool the sites' metrics, each weighted by its number of test records.

        Parameters
        ----------
        results : list of (int, dict)
            ``(n_test, metrics)`` from each site.

        Returns
        -------
        dict
        """
        if not results:
            return {}
        sizes = np.array([n for n, _ in results], dtype=float)
        keys = set.intersection(*(set(m) for _, m in results))
        return {k: float(np.average([m[k] for _, m in results], weights=sizes))
                for k in sorted(keys)}

    # -- what the protocol costs and reveals -------------------------------------------
    def bytes_up(self, updates):
        """Bytes the round's clients send (by default the updates themselves)."""
        return Updates.of(updates).nbytes

    def bytes_down(self, params, n_selected):
        """Bytes the server sends in a round (by default the model to every client)."""
        return int(params.nbytes) * int(n_selected)

    def epsilon(self):
        """Client-level privacy spent so far, or ``None`` for a strategy without DP."""
        return None

    def _weights(self, updates):
        return Updates.of(updates).n_samples if self.weighted else None


def mean_update(sums):
    """``sum w_k delta_k / sum w_k`` from a round's sums.

    Examples
    --------
    >>> mean_update({"vector": np.array([3.0, 6.0]), "weight": np.array([3.0])})
    array([1., 2.])
    """
    return sums["vector"] / sums["weight"][0]


class FedAvg(Strategy):
    """Federated averaging: local SGD at each client, the (weighted) mean at the server.

    The server learns every participating client's update and its number of records.
    See :class:`Strategy` for the parameters.

    References
    ----------
    McMahan et al. (2017). Communication-efficient learning of deep networks from
    decentralized data. AISTATS.

    Examples
    --------
    >>> from fedlab.federated import Update
    >>> s = FedAvg()
    >>> s.aggregate_train(1, np.zeros(2), [Update("a", np.array([0.1, 0.2]), 1),
    ...                                    Update("b", np.array([0.3, 0.4]), 1)], rng=None)
    array([0.2, 0.3])
    """


class FedSGD(Strategy):
    """FedSGD: each client sends the gradient of its loss; the server takes one step.

    The server learns every participating client's gradient (which can reveal its
    records, lesson 05) and its number of records.

    Parameters
    ----------
    lr : float, default=0.1
        The server's step size against the mean gradient.
    fraction_train, weighted : see :class:`Strategy`

    Notes
    -----
    ``theta <- theta - lr * sum_k w_k g_k`` with ``w_k = n_k / n``: with every client
    taking part and the weighted mean this is exactly full-batch gradient descent on
    the pooled records (McMahan et al. 2017, section 2).

    References
    ----------
    McMahan et al. (2017). AISTATS.

    Examples
    --------
    >>> from fedlab.federated import Update
    >>> FedSGD(lr=0.5).aggregate_train(1, np.zeros(1), [Update("a", np.array([1.0]), 1)],
    ...                                rng=None)
    array([-0.5])
    """

    steps_with_run_lr = True

    def __init__(self, *, lr=0.1, fraction_train=1.0, weighted=True):
        super().__init__(fraction_train=fraction_train, weighted=weighted)
        self.lr = check_positive(lr, "lr")

    def configure_train(self, server_round, params, config, n_clients, *, rng):
        indices, config = super().configure_train(server_round, params, config, n_clients,
                                                  rng=rng)
        return indices, {**config, "task": "gradient"}

    def aggregate_sums(self, server_round, params, sums, *, rng):
        return params - self.lr * mean_update(sums)


class FedProx(Strategy):
    """FedProx: FedAvg whose clients add a proximal term ``mu / 2 ||theta - theta_t||^2``.

    The term keeps each client's local model near the global one, limiting client drift
    on heterogeneous sites. The server learns what FedAvg's does.

    Parameters
    ----------
    mu : float, default=0.01
        Proximal weight, >= 0 (0 trains as FedAvg does).
    fraction_train, weighted, server_lr : see :class:`Strategy`

    References
    ----------
    Li, Sahu, Zaheer, Sanjabi, Talwalkar, Smith (2020). Federated optimization in
    heterogeneous networks. MLSys.

    Examples
    --------
    >>> s = FedProx(mu=0.1)
    >>> _, config = s.configure_train(1, np.zeros(2), {"lr": 0.1}, 3,
    ...                               rng=np.random.default_rng(0))
    >>> config["mu"]
    0.1
    """

    def __init__(self, *, mu=0.01, fraction_train=1.0, weighted=True, server_lr=1.0):
        super().__init__(fraction_train=fraction_train, weighted=weighted,
                         server_lr=server_lr)
        self.mu = check_positive(mu, "mu", strict=False)

    def configure_train(self, server_round, params, config, n_clients, *, rng):
        indices, config = super().configure_train(server_round, params, config, n_clients,
                                                  rng=rng)
        return indices, {**config, "mu": self.mu}


def check_strategy(strategy):
    """Raise unless ``strategy`` is a :class:`Strategy` (the run's one protocol)."""
    if not isinstance(strategy, Strategy):
        raise InvalidParameterError(
            f"strategy must be a fedlab.federated.Strategy (e.g. FedAvg(), FedProx(mu=0.1)) "
            f"or one of the names {sorted(STRATEGY_NAMES)}, got {strategy!r}")
    return strategy




def make_strategy(name="fedavg", *, lr=0.1, **params):
    """Build a strategy from its name and its own parameters.

    Parameters
    ----------
    name : str, default="fedavg"
        One of :data:`STRATEGY_NAMES` (case does not matter).
    lr : float, default=0.1
        The run's learning rate: the server's step for a strategy whose clients send
        gradients (``steps_with_run_lr``: FedSGD, q-FedSGD); unused by the others.
    **params
        The strategy's own constructor parameters (see its ``param_defaults()``).

    Returns
    -------
    Strategy

    Examples
    --------
    >>> make_strategy("fedavg", weighted=False)
    FedAvg(fraction_train=1.0, weighted=False, server_lr=1.0)
    >>> make_strategy("FedProx", mu=0.5, fraction_train=0.5)
    FedProx(mu=0.5, fraction_train=0.5, weighted=True, server_lr=1.0)
    >>> make_strategy("qfedsgd", lr=0.5, q=2)
    QFedSGD(q=2.0, lr=0.5, fraction_train=1.0)
    >>> make_strategy("dpfedavg", noise_multiplier=1.0).__class__.__name__
    'DPFedAvg'
    """
    if isinstance(name, str) and name.lower() not in STRATEGY_NAMES:
        _register_private_and_secure()  # only then: both are slow to import
    if not isinstance(name, str) or name.lower() not in STRATEGY_NAMES:
        raise InvalidParameterError(
            f"strategy must be one of {sorted(STRATEGY_NAMES)} or a Strategy object, "
            f"got {name!r}")
    name = name.lower()
    cls = STRATEGY_NAMES[name]
    if cls.steps_with_run_lr:
        params.setdefault("lr", lr)
    accepted = cls.param_defaults()
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InvalidParameterError(
            f"{', '.join(unknown)} does not apply to strategy {name!r}; its options are "
            f"{', '.join(accepted) or 'none'}")
    return cls(**params)


def _register_private_and_secure():
    """Import :mod:`fedlab.privacy` and :mod:`fedlab.secagg`, whose strategies (``dpsgd``,
    ``dpfedavg``, ``securefedavg``) register themselves on import; lazily, since both
    packages build on this one."""
    import fedlab.privacy
    import fedlab.secagg  # noqa: F401
