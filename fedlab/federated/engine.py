"""The one round loop of federated learning (McMahan et al. 2017), driven by a strategy."""

from __future__ import annotations

import numpy as np

from fedlab._validation import (
    InvalidParameterError,
    check_int,
    check_positive,
    check_rng,
    check_sgd_step,
)
from fedlab.federated.client import Client
from fedlab.federated.history import History, RoundRecord
from fedlab.federated.messages import Updates
from fedlab.federated.preprocessing import combine
from fedlab.federated.progress import progress_callback
from fedlab.federated.server import Server
from fedlab.federated.strategy import Strategy, check_strategy, make_strategy
from fedlab.metrics import Evaluator

__all__ = ["run"]


def run(clients, *, strategy="fedavg", rounds=20, local_epochs=1, batch_size=32, lr=0.1,
        l2=0.0, dropout=0.0, standardize=True, test_sets=None, progress=False,
        callback=None, random_state=None, **shortcuts):
    """Train one global model (the clients' shared model) across ``clients``.

    Each round the strategy chooses clients and sends them the global model and its
    instructions; each trains on its own records and replies with an update; the
    strategy aggregates the updates into the next global model. Records never leave a
    client.

    Parameters
    ----------
    clients : sequence of Client
    strategy : Strategy or str, default="fedavg"
        A :class:`~fedlab.federated.Strategy` (``FedAvg()``, ``FedProx(mu=0.1)``,
        ``DPFedAvg(...)``, ``SecureFedAvg()``, ...) or its name (``"fedavg"``,
        ``"fedsgd"``, ``"fedprox"``, ``"fedavgm"``, ``"fedadam"``, ``"fedyogi"``,
        ``"fedadagrad"``, ``"scaffold"``, ``"fedmedian"``, ``"fedtrimmedavg"``,
        ``"krum"``), built with the shortcuts below.
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
    standardize : bool, default=True
        Federated standardization before training: the server combines the clients'
        per-feature sums into a global mean and spread, and each client applies it.
    test_sets : mapping, sequence of hospitals or Evaluator, optional
        Held by the course's referee to score the model after every round (pooled and
        per site); ``None`` skips evaluation.
    progress : bool or str, default=False
        Show a progress bar (a string labels it): tqdm's, in a terminal or a notebook.
    callback : callable, optional
        Called with each :class:`RoundRecord` as it is made (e.g. to update a widget).
    random_state : None, int or numpy.random.Generator
        Seeds client sampling, dropouts, the strategy's noise and each client's own
        stream of shuffles. Same seed, same bits.
    **shortcuts
        With a strategy given by name only: ``algorithm`` (``"fedavg"`` or
        ``"fedsgd"``), ``aggregate`` (``"weighted"``, ``"mean"``, ``"median"``,
        ``"trimmed_mean"``, ``"krum"``), ``client_fraction``, ``mu``, ``server_lr`` and
        the named strategy's own parameters (see :func:`make_strategy`).

    Returns
    -------
    History
        Per round: metrics, bytes, participants and, for a private run, the epsilon
        spent so far: the strategy's (client-level DP, e.g. ``DPFedAvg``) or else the
        largest any client has reported in its updates (record-level DP, e.g.
        ``DPSGDClient``: each hospital spends its own budget; the worst one is recorded).

    Notes
    -----
    Every client holds the same model (:attr:`Client.model`, logistic regression by
    default); the run asks it for the starting parameters (drawn from a child stream of
    ``random_state``) and the evaluation. Clients that train by plain local SGD (every
    :class:`Client`) are trained together by the model's
    :meth:`~fedlab.models.Model.stacked_train`, which gives the models their own
    :meth:`Client.fit` would (same shuffles); others (e.g. ``DPSGDClient``) are called
    one by one.

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
    'FedProx(mu=0.1, fraction_train=1)'
    """
    clients = list(clients)
    if not clients:
        raise InvalidParameterError("clients must hold at least one Client, got none")
    rounds = check_int(rounds, "rounds", minimum=0)
    local_epochs = check_int(local_epochs, "local_epochs", minimum=1)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = check_positive(lr, "lr")
    l2 = check_positive(l2, "l2", strict=False)
    check_sgd_step(lr, l2)  # lr * l2 >= 2 would make the weights diverge to NaN
    if not 0 <= dropout < 1:
        raise InvalidParameterError(f"dropout must be in [0, 1), got {dropout!r}")
    n_features = {c.n_features for c in clients}
    if len(n_features) != 1:
        raise InvalidParameterError(
            f"all clients must have the same number of features, got {sorted(n_features)}")
    strategy = _strategy(strategy, lr, shortcuts)
    model = shared_model(clients)

    rng = check_rng(random_state)
    client_rngs = rng.spawn(len(clients))
    states = [{} for _ in clients]  # each client's own memory for this run
    server = Server(model.init_params(n_features.pop(), random_state=rng.spawn(1)[0]),
                    strategy=strategy, n_clients=len(clients))
    evaluator = None
    if test_sets is not None:
        evaluator = (test_sets if isinstance(test_sets, Evaluator)
                     else Evaluator(test_sets, model=model))

    standardizer, up, down = None, 0, 0
    if standardize:
        sums = [c.feature_sums() for c in clients]
        standardizer = combine(sums, names=[c.name for c in clients])
        for c in clients:
            c.preprocess(standardizer)
        up = sum(s.nbytes for s in sums)
        down = standardizer.nbytes * len(clients)
    config = {"epochs": local_epochs, "batch_size": batch_size, "lr": lr, "l2": l2}
    history = History([], standardizer=standardizer, config=dict(
        rounds=rounds, strategy=repr(strategy), local_epochs=local_epochs,
        batch_size=batch_size, lr=lr, l2=l2, dropout=dropout, n_clients=len(clients),
        standardize=standardize))
    callbacks = [c for c in (callback, progress_callback(progress, rounds)) if c is not None]
    _record(history, evaluator, server.params, 0, up, down, [], callbacks)
    client_epsilons = {}  # record-level DP: each client's own budget, as it reported it

    for t in range(1, rounds + 1):
        params = server.params
        selected, instructions = strategy.configure_train(t, params, config, len(clients),
                                                          rng=rng)
        selected = np.asarray(selected, dtype=int)
        replied = selected[rng.random(len(selected)) >= dropout].tolist()
        updates = train_clients([clients[i] for i in replied], params, instructions,
                                states=[states[i] for i in replied],
                                rngs=[client_rngs[i] for i in replied])
        server.step(updates, rng=rng)
        client_epsilons.update({name: m["epsilon"] for name, m in
                                zip(updates.clients, updates.metrics) if "epsilon" in m})
        epsilon = strategy.epsilon()
        if epsilon is None and client_epsilons:
            epsilon = max(client_epsilons.values())
        _record(history, evaluator, server.params, t, strategy.bytes_up(updates),
                strategy.bytes_down(params, len(selected)),
                [clients[i].name for i in replied], callbacks, epsilon=epsilon)
    history.params = server.params.copy()
    if getattr(strategy, "skipped_rounds", None):  # e.g. Krum with too few replies
        history.config["skipped_rounds"] = list(strategy.skipped_rounds)
    return history


def train_clients(clients, params, config, *, states, rngs):
    """Every chosen client's reply to one round's instructions, in order, as :class:`Updates`.

    Clients that train by plain local SGD are trained together (their model's
    :meth:`~fedlab.models.Model.stacked_train`); the others through their own
    :meth:`~fedlab.federated.Client.train`. Either way each uses its own stream.
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
        records, params, epochs=config.get("epochs", 1),
        batch_size=config.get("batch_size", 32), lr=config.get("lr", 0.1),
        l2=config.get("l2", 0.0), mu=config.get("mu", 0.0), corrections=corrections,
        rngs=rngs, return_loss=True)
    vectors = local - params
    arrays = {}
    if control is not None:
        steps = np.array([c.local_steps(config) for c in clients], dtype=float)
        new_own = own - control - vectors / (steps[:, None] * config.get("lr", 0.1))
        for state, row in zip(states, new_own):
            state["control"] = row
        arrays["control"] = new_own - own
    return Updates([c.name for c in clients], vectors, [len(y) for _, y in records],
                   [{"loss": float(v)} for v in losses], arrays)


def shared_model(clients):
    """The one model every client of a run holds; raise if they hold different ones."""
    models = [getattr(c, "model", None) for c in clients]
    if models[0] is None or any(m != models[0] for m in models):
        raise InvalidParameterError(
            "every client of a run must hold the same model (e.g. Client(X, y, "
            f"model=MLP(hidden=8)) for all), got {sorted(set(map(repr, models)))}")
    return models[0]


def _strategy(strategy, lr, shortcuts):
    """The run's strategy: the object given, or one built from its name and shortcuts."""
    if isinstance(strategy, Strategy):
        if strategy.samples_clients and shortcuts.get("client_fraction") is not None:
            raise InvalidParameterError(
                f"client_fraction={shortcuts['client_fraction']!r} does not apply to "
                f"{type(strategy).__name__}, which chooses its own clients (e.g. DP-FedAvg's "
                "Poisson sampling with sample_rate): leave client_fraction out")
        legacy = shortcuts.pop("aggregate", None)
        if shortcuts or (legacy is not None):
            given = sorted(shortcuts) + (["aggregate"] if legacy is not None else [])
            raise InvalidParameterError(
                f"{', '.join(given)} cannot be combined with a strategy object "
                f"({strategy!r}): set them on the strategy itself")
        return strategy
    aggregate = shortcuts.get("aggregate")
    if isinstance(aggregate, Strategy):  # aggregate=DPFedAvg(...), the older spelling
        rest = {k: v for k, v in shortcuts.items() if k != "aggregate"}
        return _strategy(aggregate, lr, rest)
    if strategy is None:
        strategy = "fedavg"
    return check_strategy(make_strategy(strategy, lr=lr, **shortcuts))


def _record(history, evaluator, params, t, up, down, participants, callbacks, epsilon=None):
    """Evaluate ``params`` (when there is a referee) and append a :class:`RoundRecord`."""
    pooled, sites = ({}, {}) if evaluator is None else evaluator(params, history.standardizer)
    record = RoundRecord(t, pooled, sites, int(up), int(down), participants, epsilon)
    history.rounds.append(record)
    for callback in callbacks:
        callback(record)
