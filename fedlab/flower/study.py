"""What a study on Flower leaves behind, readable without Flower installed.

The ServerApp writes its rounds to ``progress.jsonl`` and its result to ``result.json``;
:func:`history_from_result` turns them back into a :class:`fedlab.federated.History`
whose rounds are :class:`StudyRound` (a ``RoundRecord`` that also names the sites that
dropped out).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fedlab.federated import History, RoundRecord, Standardizer
from fedlab.federated.strategy import Strategy

__all__ = ["StudyError", "check_linear", "StudyRound", "history_from_result", "min_sites_rule",
           "round_from_json", "rounds_below_quorum"]


class StudyError(RuntimeError):
    """A federated study could not go on (too few sites, a site that failed, a time-out)."""


def check_linear(strategy):
    """Refuse, for secure aggregation, a strategy that needs more than the mean update.

    Examples
    --------
    >>> from fedlab.federated import FedAvg, FedMedian
    >>> check_linear(FedAvg()).weighted
    True
    >>> try:
    ...     check_linear(FedMedian())
    ... except StudyError as err:
    ...     print(str(err)[-60:])
    FedMedian needs the individual updates or adds its own noise
    """
    if type(strategy).combine is not Strategy.combine:
        raise StudyError("secure aggregation runs strategies whose server learns only the "
                         f"(weighted) mean of the updates; {type(strategy).__name__} needs "
                         "the individual updates or adds its own noise")
    return strategy


@dataclass
class StudyRound(RoundRecord):
    """A :class:`~fedlab.federated.RoundRecord` of a study, plus who dropped out.

    Attributes
    ----------
    dropped : list of str
        Sites sent the model this round whose reply did not arrive (stopped, failed or
        late); they get no more messages in this study, and are not listed again.
    seconds : float
        Wall-clock time of the round, from sending the model to aggregating.
    """

    dropped: list = field(default_factory=list)
    seconds: float = 0.0


def min_sites_rule(alive, min_sites, dropped, server_round):
    """Raise :class:`StudyError` when fewer than ``min_sites`` sites remain.

    Examples
    --------
    >>> min_sites_rule(["a", "b"], 2, [], 1)
    >>> min_sites_rule(["a"], 2, ["b"], 3)
    Traceback (most recent call last):
    ...
    fedlab.flower.study.StudyError: site 'b' dropped out in round 3; 1 site remains (['a']), \
fewer than min_sites=2: the study stops
    """
    if len(alive) >= min_sites:
        return
    names = ", ".join(repr(d) for d in dropped) or "none"
    word = "site remains" if len(alive) == 1 else "sites remain"
    raise StudyError(f"site {names} dropped out in round {server_round}; {len(alive)} {word} "
                     f"({sorted(alive)}), fewer than min_sites={min_sites}: the study stops")


def rounds_below_quorum(rounds, min_sites):
    """The rounds of a study's log in which fewer than ``min_sites`` sites sent an update.

    Parameters
    ----------
    rounds : sequence of StudyRound or dict
        The log's rounds (each with ``round`` and ``participants``).
    min_sites : int
        The protocol's minimum participation.

    Returns
    -------
    list of int
        Their round numbers, in the log's order.

    Examples
    --------
    >>> log = [{"round": 1, "participants": ["a", "b"]}, {"round": 2, "participants": ["a"]}]
    >>> rounds_below_quorum(log, 2), rounds_below_quorum(log, 1)
    ([2], [])
    """
    rows = [r if isinstance(r, dict) else {"round": r.round, "participants": r.participants}
            for r in rounds]
    counts = np.array([len(r["participants"]) for r in rows], dtype=int)
    return [int(rows[k]["round"]) for k in np.flatnonzero(counts < min_sites)]


def round_from_json(record):
    """A :class:`StudyRound` from its JSON form (intervals, which JSON makes lists, as tuples).

    Examples
    --------
    >>> r = round_from_json({"round": 1, "pooled": {"auc": 0.8, "auc_ci": [0.7, 0.9]},
    ...                      "sites": {}, "bytes_up": 0, "bytes_down": 0})
    >>> r.pooled["auc_ci"], r.dropped
    ((0.7, 0.9), [])
    """
    def tuples(metrics):
        return {k: tuple(v) if isinstance(v, list) else v for k, v in metrics.items()}

    record = dict(record, pooled=tuples(record["pooled"]),
                  sites={name: tuples(m) for name, m in record["sites"].items()})
    return StudyRound(**record)


def history_from_result(result):
    """The :class:`~fedlab.federated.History` in a ServerApp's ``result.json`` (a dict).

    Besides the rounds, ``history.config`` holds the run's settings, ``"sites"`` (each
    site's sizes) and ``"engine": "flower"``; ``history.params`` is the final model.
    """
    rounds = [round_from_json(r) for r in result["rounds"]]
    standardizer = None
    if result.get("standardizer"):
        standardizer = Standardizer(mean=np.array(result["standardizer"]["mean"]),
                                    scale=np.array(result["standardizer"]["scale"]))
    config = dict(result["config"], sites=result.get("sites", {}), engine="flower")
    return History(rounds, params=np.array(result["params"]), standardizer=standardizer,
                   config=config)
