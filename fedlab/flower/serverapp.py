"""The ServerApp: fedlab's round loop, driving a fedlab Strategy over Flower's Grid.

The loop is :func:`fedlab.federated.run`'s, step for step and draw for draw (so that
the final model equals the in-process one): setup (sites, federated standardization),
then per round ``configure_train`` -> messages to the chosen SuperNodes -> replies ->
``aggregate_train``; then federated evaluation at each site. It adds what a real study
needs: a time-out per round, the sites that dropped, and a stop when fewer than
``min-sites`` remain (Flower alone would wait for ever).
"""

from __future__ import annotations

import json
import pickle
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from flwr.app import ConfigRecord, Context, Message, MessageType, RecordDict
from flwr.serverapp import Grid, ServerApp

import fedlab.privacy  # noqa: F401  (registers the strategies dpsgd and dpfedavg by name)
from fedlab._validation import InvalidParameterError, check_rng
from fedlab.federated import FeatureSums, Server, combine
from fedlab.federated.strategy import check_strategy, make_strategy
from fedlab.flower import records
from fedlab.flower import secure as secure_rounds
from fedlab.flower.study import StudyError, StudyRound, check_linear, min_sites_rule
from fedlab.metrics import pool_site_metrics
from fedlab.models import logistic

app = ServerApp()
POLL_SECONDS = 0.05


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run the study described by the run config; write its result to ``study-dir``."""
    cfg = context.run_config
    out = Path(str(cfg["study-dir"])) if cfg.get("study-dir") else None
    try:
        result = run_study(grid, cfg, progress=out and out / "progress.jsonl")
    except Exception as err:  # reported to the launcher, then re-raised for Flower's log
        if out:
            _write(out / "result.json", {"error": f"{type(err).__name__}: {err}"})
        raise
    if out:
        _write(out / "result.json", result)


def run_study(grid, cfg, *, progress=None):
    """The study: setup, ``num-rounds`` rounds of training, federated evaluation."""
    seed = int(cfg["seed"])
    nodes = _wait_for_nodes(grid, int(cfg["n-sites"]), float(cfg["connect-timeout"]))
    sites = _setup(grid, nodes, cfg)
    names = list(sites)
    train_names = [n for n in names if n != cfg["exclude-site"]]
    if cfg["exclude-site"] and len(train_names) == len(names):
        raise StudyError(f"exclude-site {cfg['exclude-site']!r} is not one of the sites {names}")
    strategy = _strategy(cfg)
    secure = bool(cfg.get("secure-aggregation", False))
    if secure:
        check_linear(strategy)
    received = {"masked_vectors": 0, "plain_array_entries": 0}
    rng = check_rng(seed)
    rng.spawn(len(train_names))  # federated.run spawns the clients' streams from it
    standardizer, up, down = None, 0, 0
    if cfg["standardize"]:
        sums = [sites[n]["sums"] for n in train_names]
        standardizer = combine(sums, names=train_names,
                               feature_names=sites[names[0]]["features"])
        up, down = sum(s.nbytes for s in sums), standardizer.nbytes * len(train_names)
    server = Server(logistic.init_params(len(sites[names[0]]["features"])), strategy=strategy,
                    n_clients=len(train_names))
    batch_size = int(cfg["batch-size"]) or None
    config = {"epochs": int(cfg["local-epochs"]), "batch_size": batch_size,
              "lr": float(cfg["lr"]), "l2": float(cfg["l2"])}
    rounds = [StudyRound(0, {}, {}, up, down)]
    alive = set(names)
    evaluate = str(cfg["evaluate"])
    client_epsilons = {}
    for t in range(1, int(cfg["num-rounds"]) + 1):
        start = time.perf_counter()
        params = server.params
        selected, instructions = strategy.configure_train(t, params, config, len(train_names),
                                                          rng=rng)
        chosen = [int(i) for i in selected if rng.random() >= 0.0]  # run()'s dropout draw
        messages = {train_names[i]: records.instructions(
            params, instructions, standardizer=standardizer, client_index=i,
            n_clients=len(train_names), seed=seed) for i in chosen
            if train_names[i] in alive}
        if secure:
            updates, participants, failed = _secure_train(grid, sites, messages, t, strategy,
                                                          cfg, received)
        else:
            replies, failed = _exchange(grid, sites, messages, MessageType.TRAIN, t,
                                        float(cfg["round-timeout"]))
            updates = [records.read_reply(replies[train_names[i]]) for i in chosen
                       if train_names[i] in replies]
            participants = [u.client for u in updates]
        dropped = [name for name in messages if name not in participants]  # lost this round
        alive -= set(dropped)
        server.step(updates, rng=rng)
        client_epsilons.update({u.client: u.metrics["epsilon"] for u in updates
                                if "epsilon" in u.metrics})
        epsilon = strategy.epsilon()
        if epsilon is None and client_epsilons:
            epsilon = max(client_epsilons.values())
        pooled, per_site = ({}, {})
        if evaluate == "every-round" or (evaluate == "final" and t == int(cfg["num-rounds"])):
            pooled, per_site = _evaluate(grid, sites, alive, server.params, standardizer, t, cfg)
        record = StudyRound(t, pooled, per_site, strategy.bytes_up(
                                updates * len(participants) if secure else updates),
                            strategy.bytes_down(params, len(selected)),
                            participants, epsilon, dropped,
                            time.perf_counter() - start)
        rounds.append(record)
        if progress:
            with open(progress, "a") as f:
                f.write(json.dumps({**asdict(record), "failures": failed}) + "\n")
        min_sites_rule(alive & set(train_names), int(cfg["min-sites"]), dropped, t)
    return {"rounds": [asdict(r) for r in rounds], "params": server.params.tolist(),
            "standardizer": None if standardizer is None else {
                "mean": standardizer.mean.tolist(), "scale": standardizer.scale.tolist()},
            "sites": {n: {k: v for k, v in s.items() if k not in ("sums", "node")}
                      for n, s in sites.items()},
            "config": {"rounds": int(cfg["num-rounds"]), "strategy": repr(strategy),
                       "local_epochs": config["epochs"], "batch_size": batch_size,
                       "lr": config["lr"], "l2": config["l2"], "dropout": 0.0,
                       "n_clients": len(train_names), "standardize": bool(cfg["standardize"]),
                       "seed": seed, "exclude_site": str(cfg["exclude-site"]),
                       "min_sites": int(cfg["min-sites"]),
                       "privacy": strategy.privacy() if hasattr(strategy, "privacy") else None,
                       "secure_aggregation": secure and {
                           "clipping_range": float(cfg["secagg-clipping-range"]),
                           "quantization_range": secure_rounds.QUANTIZATION_RANGE,
                           "received": received}}}


def _secure_train(grid, sites, messages, server_round, strategy, cfg, received):
    """A train exchange through SecAgg+: ``([the mean as one Update], sites, failures)``."""
    update, participants, seen = secure_rounds.secure_round(
        grid, sites, messages, server_round, weighted=strategy.weighted,
        clipping_range=float(cfg["secagg-clipping-range"]), timeout=float(cfg["round-timeout"]))
    for key, count in seen.items():
        received[key] += count
    failed = {name: "left the secure aggregation" for name in messages
              if name not in participants}
    return ([] if update is None else [update]), participants, failed


def _wait_for_nodes(grid, n_sites, timeout):
    deadline = time.monotonic() + timeout
    while True:
        nodes = sorted(grid.get_node_ids())
        if nodes and len(nodes) >= n_sites:
            return nodes
        if time.monotonic() > deadline:
            raise StudyError(f"only {len(nodes)} of n-sites={n_sites} SuperNodes connected "
                             f"within connect-timeout={timeout:g} s")
        time.sleep(POLL_SECONDS * 4)


def _setup(grid, nodes, cfg):
    """Ask every node for its site's name, sizes, features and feature sums."""
    content = {"config": ConfigRecord({"standardize": bool(cfg["standardize"])})}
    pushed = {grid.push_messages([Message(RecordDict(content), node, MessageType.QUERY,
                                          group_id="setup")])[0]: node for node in nodes}
    replies = _pull(grid, pushed, float(cfg["round-timeout"]))
    sites = {}
    for node in nodes:
        msg = replies.get(node)
        if msg is None:
            raise StudyError(f"SuperNode {node} did not answer the setup message within "
                             f"round-timeout={cfg['round-timeout']} s")
        if msg.has_error():
            raise StudyError(f"a site failed at setup (SuperNode {node}): "
                             f"{msg.error.reason}")
        info, metrics = msg.content["site"], msg.content["metrics"]
        site = {"node": node, "partition_id": int(info["partition_id"]),
                "features": list(info["features"]), **{k: int(v) for k, v in metrics.items()}}
        if "sums" in msg.content:
            s = msg.content["sums"]
            site["sums"] = FeatureSums(s["count"].numpy(), s["mean"].numpy(), s["m2"].numpy())
        if info["name"] in sites:
            raise StudyError(f"two SuperNodes hold a site named {info['name']!r}: give each "
                             "a distinct site-name in its node config")
        sites[info["name"]] = site
    sites = dict(sorted(sites.items(), key=lambda kv: (kv[1]["partition_id"], kv[0])))
    first_name, first = next(iter(sites.items()))
    for name, site in sites.items():
        if site["features"] != first["features"]:
            raise StudyError(f"site {name!r} has features {site['features']}, but site "
                             f"{first_name!r} has {first['features']}: every site needs the "
                             "same columns (set features in the run config)")
    return sites


def _exchange(grid, sites, contents, message_type, server_round, timeout):
    """Send each site its message; ``({site: reply content}, {site: failure reason})``."""
    pushed = {}
    for name, content in contents.items():
        msg = Message(content, sites[name]["node"], message_type, group_id=str(server_round))
        pushed[grid.push_messages([msg])[0]] = name
    replies = _pull(grid, pushed, timeout)
    ok, failed = {}, {}
    for name in contents:
        msg = replies.get(name)
        if msg is None:
            failed[name] = f"no reply within round-timeout={timeout:g} s"
        elif msg.has_error():
            failed[name] = msg.error.reason
        else:
            ok[name] = msg.content
    return ok, failed


def _pull(grid, pushed, timeout):
    """Replies by the key each message id maps to, until all arrive or ``timeout`` passes."""
    waiting, replies = dict(pushed), {}
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for msg in grid.pull_messages(list(waiting)):
            replies[waiting.pop(msg.metadata.reply_to_message_id)] = msg
        if waiting:
            time.sleep(POLL_SECONDS)
    return replies


def _evaluate(grid, sites, alive, params, standardizer, server_round, cfg):
    contents = {name: records.instructions(params, {}, standardizer=standardizer)
                for name in sites if name in alive}
    replies, _ = _exchange(grid, sites, contents, MessageType.EVALUATE, server_round,
                           float(cfg["round-timeout"]))
    per_site = {name: records.read_metrics(content["metrics"])
                for name, content in replies.items()}
    training = {n: m for n, m in per_site.items() if n != cfg["exclude-site"]}
    return (pool_site_metrics(training) if training else {}), per_site


def _strategy(cfg):
    if cfg.get("strategy-file"):
        with open(str(cfg["strategy-file"]), "rb") as f:
            return check_strategy(pickle.load(f))
    options = json.loads(str(cfg["strategy-options"]) or "{}")
    return check_strategy(make_strategy(str(cfg["strategy"]), lr=float(cfg["lr"]), **options))


def _write(path, result):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, default=_jsonable))
    tmp.replace(path)


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise InvalidParameterError(f"cannot write {type(value).__name__} as JSON")
