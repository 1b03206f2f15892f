"""Federated learning in one process: :func:`run` and the round loop's in-process transport."""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_int, check_positive, check_sgd_step
from fedlab.federated.client import Client
from fedlab.federated.loop import TRAINING_DEFAULTS, RoundLoop
from fedlab.federated.messages import Updates
from fedlab.federated.progress import progress_callback
from fedlab.federated.strategy import Strategy, check_strategy, make_strategy
from fedlab.metrics import Evaluator

__all__ = ["run", "train_clients", "InProcess", "shared_model"]


def run(clients, *, strategy="fedavg", rounds=20, local_epochs=TRAINING_DEFAULTS["local_epochs"],
        batch_size=TRAINING_DEFAULTS["batch_size"], lr=TRAINING_DEFAULTS["lr"], l2=0.0,
        dropout=0.0, min_sites=1, standardize=True, test_sets=None, progress=False,
        callback=None, random_state=None, **strategy_params):
    """Train one global model (the clients' shared model) across ``clients``, in this process.

    Each round the strategy chooses clients and sends them the global model and its
    instructions; each trains on its own records and replies with an update; the
    strategy aggregates the updates into the next global model. Records never leave a
    client. The order of events is :class:`~fedlab.federated.RoundLoop`'s, the same on
    Flower.

    Parameters
    ----------
    clients : sequence of Client
    strategy : Strategy or str, default="fedavg"
        A :class:`~fedlab.federated.Strategy` (``FedAvg()``, ``FedProx(mu=0.1)``,
        ``DPFedAvg(...)``, ``SecureFedAvg()``, ...) or its name in
        :data:`~fedlab.federated.STRATEGY_NAMES`, built with ``strategy_params``.
    rounds : int, default=20
        Number of communication rounds.
    local_epochs : int, default=1
        Local epochs ``E`` of mini-batch SGD a client runs each round.
    batch_size : int or None, default=32
        Local mini-batch size ``B``; ``None`` is the whole local data set.
    lr : float, default=0.1
        Client learning rate (FedSGD: the server's step size).
    l2 : float, default=0.0
        L2 penalty on the model's weights.
    dropout : float in [0, 1), default=0.0
        Probability that a chosen client fails to reply in a round.
    min_sites : int, default=1
        Stop (:class:`~fedlab.federated.TooFewSites`) after a round that lost clients
        (dropouts, refused replies) and aggregated fewer updates than this.
    standardize : bool, default=True
        Federated standardization before training: the server combines the clients'
        per-feature sums into a global mean and spread, and each client applies it for
        this run (the clients are left as they were given).
    test_sets : mapping, sequence of hospitals or Evaluator, optional
        Held by the course's referee to score the model after every round (pooled and
        per site); ``None`` skips evaluation.
    progress : bool or str, default=False
        Show a progress bar (a string labels it): tqdm's, in a terminal or a notebook.
    callback : callable, optional
        Called with each :class:`RoundRecord` as it is made (e.g. to update a widget).
    random_state : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Seeds client sampling, dropouts, the strategy's noise and each client's own
        stream of shuffles. Same seed, same bits.
    **strategy_params
        With a strategy given by name only: its own parameters (e.g. ``mu=0.1`` for
        ``"fedprox"``, ``weighted=False`` for the plain mean of ``"fedavg"``).

    Returns
    -------
    History
        Per round: metrics, bytes, participants, dropped and refused clients and, for a
        private run, the epsilon spent so far: the strategy's (client-level DP, e.g.
        ``DPFedAvg``) or else the largest any client has reported in its updates
        (record-level DP, ``strategy="dpsgd"``: each hospital spends its own budget; the
        worst one is recorded).

    Notes
    -----
    Every client holds the same model (:attr:`Client.model`, logistic regression by
    default); the run asks it for the starting parameters (drawn from a child stream of
    ``random_state``) and the evaluation. Clients that train by plain local SGD (every
    :class:`Client`) are trained together by the model's
    :meth:`~fedlab.models.Model.stacked_train`, which gives the models their own
    :meth:`Client.fit` would (same shuffles); other tasks (DP-SGD's, FedSGD's gradients)
    and client classes with their own ``train`` are called one by one. A reply holding
    NaN or infinity is refused before aggregation and named in the round's ``refused``.

    Examples
    --------
    >>> import numpy as np
    >>> from fedlab.federated import Client
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] > 0).astype(int)
    >>> clients = [Client(X[:100], y[:100], name="a"), Client(X[100:], y[100:], name="b")]
    >>> h = run(clients, rounds=5, test_sets={"all": (X, y)}, random_state=0)
    >>> len(h.rounds), bool(h.final.pooled["auc"] > 0.9)
    (6, True)
    >>> h = run(clients, strategy="fedprox", mu=0.1, rounds=5, random_state=0)
    >>> h.config["strategy"]
    'FedProx(mu=0.1, fraction_train=1.0, weighted=True, server_lr=1.0)'
    """
    clients = list(clients)
    if not clients:
        raise InvalidParameterError("clients must hold at least one Client, got none")
    local_epochs = check_int(local_epochs, "local_epochs", minimum=1)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = check_positive(lr, "lr")
    l2 = check_positive(l2, "l2", strict=False)
    check_sgd_step(lr, l2)  # lr * l2 >= 2 would make the weights diverge to NaN
    n_features = {c.n_features for c in clients}
    if len(n_features) != 1:
        raise InvalidParameterError(
            f"all clients must have the same number of features, got {sorted(n_features)}")
    strategy = _strategy(strategy, lr, strategy_params)
    loop = RoundLoop(strategy, rounds=rounds, config={"epochs": local_epochs,
                     "batch_size": batch_size, "lr": lr, "l2": l2}, dropout=dropout,
                     min_sites=min_sites, standardize=standardize,
                     evaluate="every-round" if test_sets is not None else "none",
                     random_state=random_state)
    model = shared_model(clients)
    evaluator = None
    if test_sets is not None:
        evaluator = (test_sets if isinstance(test_sets, Evaluator)
                     else Evaluator(test_sets, model=model))
    callbacks = [c for c in (callback, progress_callback(progress, loop.rounds))
                 if c is not None]
    return loop.run(InProcess(clients, evaluator), callbacks=callbacks)


class InProcess:
    """The in-process transport of :class:`~fedlab.federated.RoundLoop`: calls on clients.

    Parameters
    ----------
    clients : sequence of Client
    evaluator : Evaluator, optional
        The referee that scores the model (pooled and per site); ``None``: no scores.

    Notes
    -----
    ``start`` applies the run's standardizer to every client and ``finish`` gives each
    back the preprocessing it had before, so a run leaves its clients as it found them.
    Each client's state (SCAFFOLD's ``c_i``) lives here for one run.
    """

    def __init__(self, clients, evaluator=None):
        self.clients, self.evaluator = list(clients), evaluator
        self.model = shared_model(self.clients)
        self.names = [c.name for c in self.clients]
        self.sizes = [c.n_samples for c in self.clients]
        self.n_features = self.clients[0].n_features

    def feature_sums(self):
        return [c.feature_sums() for c in self.clients]

    def start(self, standardizer, seeds):
        # a client without a `preprocessing` property keeps the run's (no way to undo it)
        self._before = [getattr(c, "preprocessing", standardizer) for c in self.clients]
        if standardizer is not None:
            for c in self.clients:
                c.preprocess(standardizer)
        self.rngs = [np.random.default_rng(s) for s in seeds]
        self.states = [{} for _ in self.clients]  # each client's own memory for this run

    def train(self, server_round, indices, params, config):
        updates = train_clients([self.clients[i] for i in indices], params, config,
                                states=[self.states[i] for i in indices],
                                rngs=[self.rngs[i] for i in indices])
        return updates, {}

    def train_secure(self, server_round, indices, params, config, strategy):
        raise InvalidParameterError(
            "in process, secure aggregation is a strategy: strategy=SecureFedAvg(...)")

    def evaluate(self, server_round, params, standardizer):
        return ({}, {}) if self.evaluator is None else self.evaluator(params, standardizer)

    def finish(self):
        for c, before in zip(self.clients, getattr(self, "_before", ())):
            if hasattr(c, "preprocessing") and c.preprocessing is not before:
                c.preprocess(before)


def train_clients(clients, params, config, *, states, rngs):
    """Every chosen client's reply to one round's instructions, in order, as :class:`Updates`.

    Clients that train by plain local SGD are trained together (their model's
    :meth:`~fedlab.models.Model.stacked_train`); the others through their own
    :meth:`~fedlab.federated.Client.train`. Either way each uses its own stream, and
    a training reply says how many local steps the client took
    (``metrics["local_steps"]``, which FedNova reads).
    """
    fit = config.get("task", "fit") == "fit"
    records = [c.stacked_records() if fit and isinstance(c, Client) else None
               for c in clients]
    stackable = [k for k, r in enumerate(records) if r is not None]
    if len(stackable) == len(clients) and clients:
        return _train_stacked(clients, records, params, config, states, rngs)
    replies = [None] * len(clients)
    for k in sorted(set(range(len(clients))) - set(stackable)):
        replies[k] = clients[k].train(params, config, state=states[k], random_state=rngs[k])
        if fit and hasattr(clients[k], "local_steps"):
            replies[k].metrics.setdefault("local_steps", clients[k].local_steps(config))
    if stackable:
        stacked = _train_stacked([clients[k] for k in stackable],
                                 [records[k] for k in stackable], params, config,
                                 [states[k] for k in stackable], [rngs[k] for k in stackable])
        for k, update in zip(stackable, stacked):
            replies[k] = update
    return Updates.of(replies)


def _train_stacked(clients, records, params, config, states, rngs):
    """:func:`train_clients` for plain-SGD clients, all at once (same models as ``train``)."""
    control = config.get("control")
    own = corrections = None
    if control is not None:
        own = np.array([s.get("control", np.zeros_like(params)) for s in states])
        corrections = control - own
    local, losses = clients[0].model.stacked_train(
        records, params, epochs=config["epochs"], batch_size=config["batch_size"],
        lr=config["lr"], l2=config["l2"], mu=config.get("mu", 0.0), corrections=corrections,
        rngs=rngs, return_loss=True)
    vectors = local - params
    arrays = {}
    by_size = {}  # a client's number of steps depends only on its size and the config
    for c, (_, y) in zip(clients, records):
        if len(y) not in by_size:
            by_size[len(y)] = c.local_steps(config)
    steps = np.array([by_size[len(y)] for _, y in records], dtype=float)
    if control is not None:
        new_own = own - control - vectors / (steps[:, None] * config["lr"])
        for state, row in zip(states, new_own):
            state["control"] = row
        arrays["control"] = new_own - own
    return Updates([c.name for c in clients], vectors, [len(y) for _, y in records],
                   [{"loss": float(v), "local_steps": int(k)} for v, k in zip(losses, steps)],
                   arrays)


def shared_model(clients):
    """The one model every client of a run holds; raise if they hold different ones."""
    models = [getattr(c, "model", None) for c in clients]
    if models[0] is None or any(m != models[0] for m in models):
        raise InvalidParameterError(
            "every client of a run must hold the same model (e.g. Client(X, y, "
            f"model=MLP(hidden=8)) for all), got {sorted(set(map(repr, models)))}")
    return models[0]


def _strategy(strategy, lr, params):
    """The run's strategy: the object given, or one built from its name and parameters."""
    if isinstance(strategy, Strategy):
        if params:
            raise InvalidParameterError(
                f"{', '.join(sorted(params))} cannot be combined with a strategy object "
                f"({strategy!r}): set them on the strategy itself")
        return strategy
    return check_strategy(make_strategy(strategy, lr=lr, **params))
