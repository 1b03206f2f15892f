"""The round loop of federated learning: FedSGD and FedAvg (McMahan et al. 2017)."""

from __future__ import annotations

import sys

from fedlab import model
from fedlab._validation import check_fraction, check_int, check_positive, check_rng
from fedlab.federated.history import History, RoundRecord
from fedlab.federated.preprocessing import combine
from fedlab.federated.server import Server
from fedlab.metrics import Evaluator

__all__ = ["run"]


def run(clients, *, rounds=20, algorithm="fedavg", local_epochs=1, batch_size=32, lr=0.1,
        l2=0.0, mu=0.0, client_fraction=1.0, dropout=0.0, aggregate="weighted",
        server_lr=1.0, standardize=True, test_sets=None, progress=False, callback=None,
        random_state=None):
    """Train one global logistic-regression model across ``clients``.

    Each round the server samples a fraction of the clients and sends them the global
    model; each trains on its own records and replies with an update; the server
    aggregates the updates into the next global model. Records never leave a client.

    Parameters
    ----------
    clients : sequence of Client
    rounds : int, default=20
        Number of communication rounds.
    algorithm : {"fedavg", "fedsgd"}, default="fedavg"
        FedAvg: ``local_epochs`` of mini-batch SGD per round, then average the models.
        FedSGD: one gradient over all local records per round, averaged, one step of
        size ``lr`` at the server.
    local_epochs : int, default=1
    batch_size : int or None, default=32
        Local mini-batch size; ``None`` is the whole local data set.
    lr : float, default=0.1
        Client learning rate (FedSGD: the server's step size).
    l2 : float, default=0.0
        L2 penalty of the logistic regression.
    mu : float, default=0.0
        FedProx proximal weight (0 is FedAvg).
    client_fraction : float in (0, 1], default=1.0
        Fraction ``C`` of clients sampled each round (at least one).
    dropout : float in [0, 1), default=0.0
        Probability that a sampled client fails to reply in a round.
    aggregate : str, callable or strategy, default="weighted"
        ``"weighted"`` (by sample count), ``"mean"``, ``"median"``, ``"trimmed_mean"``,
        ``"krum"``, ``rule(vectors, weights)``, or a strategy object such as
        :class:`fedlab.privacy.DPFedAvg` or :class:`fedlab.secagg.SecureFedAvg`;
        see :class:`Server`.
    server_lr : float, default=1.0
        FedAvg server learning rate.
    standardize : bool, default=True
        Federated standardization before training: the server combines the clients'
        per-feature sums into a global mean and spread, and each client applies it.
    test_sets : mapping or sequence of hospitals, optional
        Held by the course's referee to score the model after every round (pooled and
        per site); ``None`` skips evaluation.
    progress : bool or str, default=False
        Print a progress bar to standard error (a string labels it).
    callback : callable, optional
        Called with each :class:`RoundRecord` as it is made (e.g. to update a widget).
    random_state : None, int or numpy.random.Generator
        Seeds client sampling, dropouts and each client's own stream of shuffles.

    Returns
    -------
    History
        Per round: metrics, bytes, participants and, for a private run, the epsilon
        spent so far: the strategy's (client-level DP, e.g. ``DPFedAvg``) or else the
        largest any client has reported in its updates (record-level DP, e.g.
        ``DPSGDClient``: each hospital spends its own budget; the worst one is recorded).

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
    """
    clients = list(clients)
    if not clients:
        raise ValueError("clients must hold at least one Client, got none")
    rounds = check_int(rounds, "rounds", minimum=0)
    check_int(local_epochs, "local_epochs", minimum=1)
    check_positive(lr, "lr")
    check_positive(l2, "l2", strict=False)
    check_positive(mu, "mu", strict=False)
    check_fraction(client_fraction, "client_fraction")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    n_features = {c.n_features for c in clients}
    if len(n_features) != 1:
        raise ValueError(f"all clients must have the same number of features, got {n_features}")

    rng = check_rng(random_state)
    client_rngs = rng.spawn(len(clients))
    server = Server(model.init_params(n_features.pop()), aggregate=aggregate,
                    algorithm=algorithm, lr=lr if algorithm == "fedsgd" else server_lr)
    evaluator = None
    if test_sets is not None:
        evaluator = test_sets if isinstance(test_sets, Evaluator) else Evaluator(test_sets)

    standardizer, up, down = None, 0, 0
    if standardize:
        sums = [c.feature_sums() for c in clients]
        standardizer = combine(sums)
        for c in clients:
            c.preprocess(standardizer)
        up = sum(s.nbytes for s in sums)
        down = standardizer.nbytes * len(clients)
    history = History([], standardizer=standardizer, config=dict(
        rounds=rounds, algorithm=algorithm, local_epochs=local_epochs, batch_size=batch_size,
        lr=lr, l2=l2, mu=mu, client_fraction=client_fraction, dropout=dropout,
        aggregate=aggregate if isinstance(aggregate, str) else repr(aggregate),
        n_clients=len(clients), standardize=standardize))
    _record(history, evaluator, server.params, 0, up, down, [], callback)
    client_epsilons = {}  # record-level DP: each client's own budget, as it reported it

    for t in range(1, rounds + 1):
        selected = server.select(len(clients), client_fraction, rng=rng)
        down = server.params.nbytes * len(selected)
        replied = [i for i in selected if rng.random() >= dropout]
        updates = []
        for i in replied:
            if algorithm == "fedavg":
                updates.append(clients[i].fit(server.params, epochs=local_epochs,
                                              batch_size=batch_size, lr=lr, l2=l2, mu=mu,
                                              random_state=client_rngs[i]))
            else:
                updates.append(clients[i].gradient(server.params, l2=l2))
        server.step(updates, rng=rng)
        up = (aggregate.bytes_up(updates) if hasattr(aggregate, "bytes_up")
              else sum(u.nbytes for u in updates))
        if hasattr(aggregate, "bytes_down"):  # a protocol's own messages to the clients
            down += aggregate.bytes_down(updates)
        client_epsilons.update({u.client: u.metrics["epsilon"] for u in updates
                                if "epsilon" in u.metrics})
        if hasattr(aggregate, "epsilon"):
            epsilon = aggregate.epsilon()
        else:
            epsilon = max(client_epsilons.values()) if client_epsilons else None
        _record(history, evaluator, server.params, t, up, down,
                [clients[i].name for i in replied], callback, epsilon=epsilon)
        if progress:
            _progress_bar(t, rounds, history.final, "" if progress is True else progress)
    history.params = server.params.copy()
    return history


def _record(history, evaluator, params, t, up, down, participants, callback, epsilon=None):
    """Evaluate ``params`` (when there is a referee) and append a :class:`RoundRecord`."""
    pooled, sites = ({}, {}) if evaluator is None else evaluator(params, history.standardizer)
    record = RoundRecord(t, pooled, sites, int(up), int(down), participants, epsilon)
    history.rounds.append(record)
    if callback is not None:
        callback(record)


def _progress_bar(t, total, record, label, width=30):
    """Draw a one-line text progress bar on standard error (one line when not a terminal)."""
    live = sys.stderr.isatty()
    if not live and t != total:
        return
    done = int(width * t / total)
    auc = record.pooled.get("auc")
    tail = f"  AUC {auc:.3f}" if auc is not None else ""
    sys.stderr.write(f"{chr(13) if live else ''}  {label} round {t:>3}/{total} "
                     f"[{'#' * done}{'.' * (width - done)}]{tail}")
    if t == total:
        sys.stderr.write("\n")
    sys.stderr.flush()
