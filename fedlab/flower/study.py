"""What a study on Flower leaves behind, readable without Flower installed.

The ServerApp writes its rounds to ``progress.jsonl`` and its result to ``result.json``;
:func:`history_from_result` turns them back into a :class:`fedlab.federated.History`
whose rounds are :class:`StudyRound` (a ``RoundRecord`` that also names the sites that
dropped out).
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass

import numpy as np

from fedlab.federated import History, RoundRecord, Standardizer
from fedlab.federated.strategy import check_strategy, make_strategy

__all__ = ["StudyError", "study_strategy", "study_model", "site_outcome", "StudyRound",
           "history_from_result", "round_from_json", "rounds_below_quorum", "study_results"]


class StudyError(RuntimeError):
    """A federated study could not go on (too few sites, a site that failed, a time-out)."""


def study_strategy(cfg):
    """A study's strategy, from its run config: a pickled object or a name and options.

    The ServerApp runs it; under secure aggregation each ClientApp reads the same, to
    compute its summands.
    """
    if cfg.get("strategy-file"):
        with open(str(cfg["strategy-file"]), "rb") as f:
            return check_strategy(pickle.load(f))
    options = json.loads(str(cfg["strategy-options"]) or "{}")
    return check_strategy(make_strategy(str(cfg["strategy"]), lr=float(cfg["lr"]), **options))


def study_model(cfg):
    """A study's :class:`fedlab.models.Model`, from its run config (``model``, ``model-options``).

    ``model`` is a name of :data:`fedlab.models.MODEL_NAMES`; empty, it follows the
    dataset's outcome (``cox`` for ``survival``, else ``logistic``). ``model-options`` is
    JSON of the model's parameters (e.g. ``{"hidden": 8}``, ``{"ties": "efron"}``). The
    ServerApp (the starting parameters) and each ClientApp (local training, evaluation)
    build the same model from it.

    Examples
    --------
    >>> study_model({"outcome": "survival"}), study_model({"model": "mlp",
    ...                                                    "model-options": '{"hidden": 3}'})
    (CoxPH(ties='breslow'), MLP(hidden=3, activation='tanh'))
    """
    from fedlab.models import make_model

    name = str(cfg.get("model", "")) or ("cox" if str(cfg.get("outcome", "")) == "survival"
                                         else "logistic")
    return make_model(name, **json.loads(str(cfg.get("model-options", "")) or "{}"))


def site_outcome(site, model):
    """What ``model`` takes as ``y`` from a :class:`fedlab.data.Site`: events, or (time, event)."""
    if model.outcome == "survival":
        if site.time is None:
            raise StudyError(f"model {model!r} needs a time-to-event outcome: set time and "
                             "event (not target) in the run config")
        return np.column_stack([site.time, site.y])
    return site.y


@dataclass
class StudyRound(RoundRecord):
    """A :class:`~fedlab.federated.RoundRecord` of a study, plus its wall-clock time.

    A site in ``dropped`` (stopped, failed or late) gets no more messages in the study.

    Attributes
    ----------
    seconds : float
        Wall-clock time of the round, from sending the model to aggregating.
    """

    seconds: float = 0.0


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
    site's partition and columns, and in the clear its sizes), ``"totals"`` (under
    secure aggregation: the training sites' total sizes and events, all the ServerApp
    learns of them) and ``"engine": "flower"``; ``history.params`` is the final model.
    """
    rounds = [round_from_json(r) for r in result["rounds"]]
    standardizer = None
    if result.get("standardizer"):
        standardizer = Standardizer(mean=np.array(result["standardizer"]["mean"]),
                                    scale=np.array(result["standardizer"]["scale"]))
    config = dict(result["config"], sites=result.get("sites", {}),
                  totals=result.get("totals"), engine="flower")
    return History(rounds, params=np.array(result["params"]), standardizer=standardizer,
                   config=config)


def study_results(history, method):
    """A study's final evaluation in the ``train`` command's schema, plus what Flower adds.

    ``{"methods": {method: {"pooled": ..., "sites": ...}}, "engine": "flower",
    "dropped": {round: [site, ...]}, "refused": {round: {site: why}}}``: each site's dict
    is :func:`fedlab.metrics.site_metrics` (computed at the site), ``pooled`` is
    :func:`fedlab.metrics.pool_site_metrics` of them. There is no ``"vs_centralized"``:
    no one holds the pooled records a centralized model needs.
    """
    final = history.final
    return {"methods": {method: {"pooled": final.pooled, "sites": final.sites}},
            "engine": "flower",
            "dropped": {r.round: list(r.dropped) for r in history.rounds if r.dropped},
            "refused": {r.round: dict(r.refused) for r in history.rounds if r.refused}}
