"""Client drift: the one-label split, rounds to reach the pooled loss, each strategy's settings.

With many local steps on non-IID sites, each client walks towards its own optimum and
FedAvg's average stops short of the pooled one (Karimireddy et al. 2020); with unequal
numbers of local steps it converges to a different, step-weighted objective (Wang et
al. 2020). This module holds what lessons 04a and 04b, their dashboard, the benchmark and the
command line measure it with.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_int, check_rng
from fedlab.data.partition import permutation

__all__ = ["STRATEGY_SETTINGS", "partition_one_label", "rounds_to_target"]

STRATEGY_SETTINGS = {
    "fedavg": {},
    "fedprox": {"mu": 1.0},
    "scaffold": {"weighted": True},
    "fednova": {},
    "fedavgm": {"server_momentum": 0.9, "server_lr": 0.1},
    "fedadam": {"server_lr": 0.03},
    "fedyogi": {"server_lr": 0.03},
    "fedadagrad": {"server_lr": 0.03},
}
"""Each strategy's own settings in lessons 04a/04b and on the command line (``--strategy``).

FedAvgM's ``server_lr`` 0.1 with momentum 0.9 keeps its long-run step at FedAvg's; the
adaptive optimizers' 0.03 is a step of about 0.03 per round in every coordinate.
"""


def partition_one_label(y, n_clients, *, n_positive=None, random_state=None):
    """Split records so that every client holds one label only (the extreme label skew).

    By default clients are shared out between the classes in proportion to the classes'
    sizes (at least one each); ``n_positive`` sets how many hold the events instead (more
    and smaller event clients: unequal sizes, hence unequal numbers of local steps).
    Within a class, records are dealt at random in near-equal parts.

    Parameters
    ----------
    y : array-like of shape (n_records,)
        0/1 labels.
    n_clients : int
        >= 2.
    n_positive : int in [1, n_clients - 1], optional
        Number of clients holding label 1.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    list of ndarray
        Sorted index arrays, the clients of label 0 first.

    Examples
    --------
    >>> parts = partition_one_label([0] * 80 + [1] * 20, 5, random_state=0)
    >>> [len(p) for p in parts]
    [20, 20, 20, 20, 20]
    """
    y = np.asarray(y)
    n_clients = check_int(n_clients, "n_clients", minimum=2)
    if not set(np.unique(y)) <= {0, 1} or len(np.unique(y)) < 2:
        raise InvalidParameterError(f"y must hold both labels 0 and 1, got {np.unique(y)}")
    if n_clients > len(y):
        raise InvalidParameterError(f"n_clients must be <= len(y) = {len(y)}, got {n_clients}")
    rng = check_rng(random_state)
    if n_positive is None:
        n_pos = int(np.clip(round(n_clients * y.mean()), 1, n_clients - 1))
    else:
        n_pos = check_int(n_positive, "n_positive", minimum=1, maximum=n_clients - 1)
    parts = []
    for label, k in ((0, n_clients - n_pos), (1, n_pos)):
        members = np.flatnonzero(y == label)
        members = members[permutation(rng, len(members))]
        parts += [np.sort(p) for p in np.array_split(members, k)]
    return parts


def rounds_to_target(history, level, *, metric="loss"):
    """The round from which ``metric`` stays at or below ``level`` (``None``: it never does).

    Staying matters: an adaptive server optimizer can touch the level once and bounce away.

    Examples
    --------
    >>> from fedlab.federated import History, RoundRecord
    >>> h = History([RoundRecord(t, {"loss": v}, {}) for t, v in enumerate([0.9, 0.3, 0.5,
    ...                                                                     0.3, 0.2])])
    >>> rounds_to_target(h, 0.35), rounds_to_target(h, 0.1)
    (3, None)
    """
    values = history.metric(metric)
    above = np.flatnonzero(values > level)
    first = int(above[-1]) + 1 if len(above) else 0
    return first if first < len(values) else None
