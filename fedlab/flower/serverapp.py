"""The ServerApp: fedlab's one round loop over Flower's Grid (or the exact federated Cox model).

:func:`run_study` builds the strategy and a :class:`~fedlab.federated.RoundLoop` and runs
it with :class:`FlowerTransport`, which only moves messages: setup (each site's name,
sizes, features and feature sums), instructions to the chosen SuperNodes, replies back
as :class:`~fedlab.federated.Update` objects, federated evaluation at each site. Every
order of events and every random draw is the loop's, so the model equals
:func:`fedlab.federated.run`'s, whichever the run's model (``model`` in the run config:
logistic regression, a network, a Cox model). What a real study adds lives here: a
time-out per round, and sites that stopped answering get no more messages. A run config
with ``fit = "exact-cox"`` fits the exact federated Cox model instead
(:mod:`fedlab.flower.cox`: Newton's iterations of :func:`fedlab.survival.fit_federated_cox`
over the same transport).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from flwr.app import ConfigRecord, Context, Message, MessageType, RecordDict
from flwr.serverapp import Grid, ServerApp

import fedlab.privacy  # noqa: F401  (registers the strategies dpsgd and dpfedavg by name)
from fedlab._files import open_new, write_new
from fedlab._validation import InvalidParameterError
from fedlab.federated import FeatureSums, RoundLoop, Updates, method_seed
from fedlab.flower import records, totals
from fedlab.flower import secure as secure_rounds
from fedlab.flower.study import StudyError, study_model, study_strategy
from fedlab.metrics import pool_site_metrics

__all__ = ["app", "run_study", "FlowerTransport"]

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
    """The study: :class:`~fedlab.federated.RoundLoop` over :class:`FlowerTransport`, or the
    exact federated Cox model (``fit = "exact-cox"``: :func:`fedlab.flower.cox.run_exact_cox`)."""
    if str(cfg.get("fit", "round-loop")) == "exact-cox":
        from fedlab.flower.cox import run_exact_cox

        return run_exact_cox(grid, cfg)
    seed = int(cfg["seed"])
    method = str(cfg.get("method", ""))
    secure = bool(cfg.get("secure-aggregation", False))
    transport = FlowerTransport(grid, cfg)
    strategy = study_strategy(cfg)
    loop = RoundLoop(strategy, rounds=int(cfg["num-rounds"]), config={
        "epochs": int(cfg["local-epochs"]), "batch_size": int(cfg["batch-size"]) or None,
        "lr": float(cfg["lr"]), "l2": float(cfg["l2"])}, min_sites=int(cfg["min-sites"]),
        standardize=bool(cfg["standardize"]), secure=secure, evaluate=str(cfg["evaluate"]),
        random_state=method_seed(seed, method) if method else seed)
    clock = {"last": time.perf_counter()}
    log = open_new(progress) if progress else None  # one line a round, as it ends

    def log_round(record):
        now = time.perf_counter()
        if log:
            line = {**asdict(record), "seconds": now - clock["last"],
                    "failures": transport.last_failures}
            log.write(json.dumps(line, default=_jsonable) + "\n")
            log.flush()
        clock["last"] = now

    try:
        history = _run(loop, transport, log_round, seed, method, secure, cfg)
    finally:
        if log:
            log.close()
    standardizer = history.standardizer
    return {"rounds": [asdict(r) for r in history.rounds], "params": history.params.tolist(),
            "standardizer": None if standardizer is None else {
                "mean": standardizer.mean.tolist(), "scale": standardizer.scale.tolist()},
            "sites": {n: {k: v for k, v in s.items() if k not in ("sums", "node")}
                      for n, s in transport.sites.items()},
            "totals": transport.totals, "config": history.config}


def _run(loop, transport, log_round, seed, method, secure, cfg):
    """The loop's run, with the study's settings (and, at the end, its privacy) in its config."""
    history = loop.run(transport, callbacks=[log_round], settings={
        "seed": seed, "method": method, "exclude_site": str(cfg["exclude-site"]),
        "min_cell": int(cfg.get("min-cell", 5)),
        "secure_aggregation": secure and {
            "clipping_range": float(cfg["secagg-clipping-range"]),
            "quantization_range": secure_rounds.QUANTIZATION_RANGE,
            "setup_passes": transport.setup_passes,
            "received": transport.received}})
    strategy = loop.strategy
    history.config["privacy"] = strategy.privacy() if hasattr(strategy, "privacy") else None
    return history


class FlowerTransport:
    """The round loop's messages over Flower's Grid (see :mod:`fedlab.federated.loop`).

    Parameters
    ----------
    grid : flwr.serverapp.Grid
    cfg : mapping
        The run config (``n-sites``, ``connect-timeout``, ``round-timeout``,
        ``exclude-site``, ``standardize``, ``secure-aggregation``,
        ``secagg-clipping-range``, and ``model`` and ``model-options``: the model every
        ClientApp's Client holds, see :func:`~fedlab.flower.study.study_model`).

    Notes
    -----
    Under ``secure-aggregation`` no site's size, event count or feature sums reach the
    ServerApp: the setup message asks only for names and columns, then a secure sum
    (:func:`fedlab.flower.secure.secure_totals`) gives the training sites' totals
    (``totals``), and ``sizes`` is ``None`` (the loop reads ``total_samples``).
    """

    def __init__(self, grid, cfg):
        self.grid, self.cfg = grid, cfg
        self.timeout = float(cfg["round-timeout"])
        self.secure = bool(cfg.get("secure-aggregation", False))
        nodes = _wait_for_nodes(grid, int(cfg["n-sites"]), float(cfg["connect-timeout"]))
        self.sites = _setup(grid, nodes, cfg, self.timeout, secure=self.secure)
        all_names = list(self.sites)
        self.names = [n for n in all_names if n != cfg["exclude-site"]]
        if cfg["exclude-site"] and len(self.names) == len(all_names):
            raise StudyError(f"exclude-site {cfg['exclude-site']!r} is not one of the sites "
                             f"{all_names}")
        self.feature_names = self.sites[all_names[0]]["features"]
        self.n_features = len(self.feature_names)
        self.model = study_model(cfg)  # what each ClientApp's Client holds
        self.alive = set(all_names)
        self.received = {"masked_vectors": 0, "plain_array_entries": 0}
        self.last_failures = {}
        self.totals, self.setup_passes = None, 0
        if self.secure:
            self.sizes, self.pooled = None, self._secure_setup()
            self.total_samples = self.totals["n_train"]
        else:
            self.sizes = [self.sites[n]["n_train"] for n in self.names]
            self.total_samples = sum(self.sizes)

    def _secure_setup(self):
        """The training sites' totals through SecAgg+; their pooled feature sums."""
        def secure_sum(request):
            contents = {n: RecordDict({"secure-setup": ConfigRecord(request)})
                        for n in self.names}
            digits, seen = secure_rounds.secure_totals(self.grid, self.sites, contents,
                                                       timeout=self.timeout)
            self.setup_passes += 1
            for key, count in seen.items():
                self.received[key] += count
            return digits

        sizes, count, total, total_sq = totals.read_setup_totals(
            secure_sum({"pass": "totals"}), self.n_features)
        self.totals = sizes
        kwargs = {}
        if bool(self.cfg["standardize"]) and totals.needs_centring(count, total, total_sq):
            reference = [float(s / n) if n else 0.0 for n, s in zip(count, total)]
            digits = secure_sum({"pass": "spread", "reference": json.dumps(reference)})
            kwargs = {"centred": totals.decode(digits, digits=totals.REAL_DIGITS,
                                               fraction_bits=totals.FRACTION_BITS),
                      "reference": reference}
        return totals.pooled_sums(count, total, total_sq, feature_names=self.feature_names,
                                  **kwargs) if bool(self.cfg["standardize"]) else None

    def feature_sums(self):
        """Each training site's :class:`~fedlab.federated.FeatureSums`; under secure
        aggregation one message: the sites' pooled sums (all the ServerApp learns)."""
        if self.secure:
            return [self.pooled]
        return [self.sites[n]["sums"] for n in self.names]

    def start(self, standardizer, seeds):
        self.standardizer, self.seeds = standardizer, seeds

    def finish(self):
        pass

    def _contents(self, indices, params, config):
        return {self.names[i]: records.instructions(params, config,
                                                    standardizer=self.standardizer,
                                                    seed=self.seeds[i])
                for i in indices if self.names[i] in self.alive}

    def train(self, server_round, indices, params, config):
        contents = self._contents(indices, params, config)
        replies, failures = _exchange(self.grid, self.sites, contents, MessageType.TRAIN,
                                      server_round, self.timeout)
        self._lose(failures)
        updates = [records.read_reply(replies[self.names[i]]) for i in indices
                   if self.names[i] in replies]
        return Updates.of(updates) if updates else Updates([], np.zeros((0, 0)), []), failures

    def train_secure(self, server_round, indices, params, config, strategy):
        contents = self._contents(indices, params, config)
        sums, participants, seen, failures = secure_rounds.secure_round(
            self.grid, self.sites, contents, server_round, strategy=strategy,
            clipping_range=float(self.cfg["secagg-clipping-range"]), timeout=self.timeout,
            largest_site=self.total_samples)
        for key, count in seen.items():
            self.received[key] += count
        failures = {**{n: "left the secure aggregation" for n in contents
                       if n not in participants}, **failures}
        self._lose(failures)
        return sums, participants, failures

    def _lose(self, failures):
        """A site that failed (not one refused for a non-finite update) gets no more messages."""
        self.last_failures = dict(failures)
        self.alive -= {n for n, why in failures.items() if not why.startswith("non-finite")}

    def evaluate(self, server_round, params, standardizer):
        contents = {name: records.instructions(params, {}, standardizer=standardizer)
                    for name in self.sites if name in self.alive}
        replies, _ = _exchange(self.grid, self.sites, contents, MessageType.EVALUATE,
                               server_round, self.timeout)
        per_site = {name: records.read_released(content["metrics"])
                    for name, content in replies.items()}
        if self.model.outcome == "survival":
            from fedlab.survival import pool_scores as pool
        else:
            pool = pool_site_metrics
        return pool_released(per_site, self.names, pool=pool), per_site


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


def pool_released(per_site, names, *, pool=pool_site_metrics):
    """``pool`` (:func:`~fedlab.metrics.pool_site_metrics`, or the survival scores' pool) of
    the training sites whose metrics were released (a site that suppressed them is left
    out: ``n_sites`` counts those pooled).

    ``{}`` when no training site released its metrics.
    """
    released = {n: {k: _unreleased(k) if v is None else v for k, v in m.items()
                    if not k.endswith("_reason")}
                for n, m in per_site.items() if n in names and m.get("events") is not None}
    return pool(released) if released else {}


def _unreleased(key):
    """What a suppressed value counts as when pooling: NaN (an interval: two NaNs)."""
    return (np.nan, np.nan) if key.endswith("_ci") else np.nan


def _setup(grid, nodes, cfg, timeout, *, secure=False):
    """Ask every node for its site's name and features (and, in the clear, its sizes and
    feature sums)."""
    content = {"config": ConfigRecord({"standardize": bool(cfg["standardize"]),
                                       "secure": bool(secure)})}
    pushed = {grid.push_messages([Message(RecordDict(content), node, MessageType.QUERY,
                                          group_id="setup")])[0]: node for node in nodes}
    replies = _pull(grid, pushed, timeout)
    sites = {}
    for node in nodes:
        msg = replies.get(node)
        if msg is None:
            raise StudyError(f"SuperNode {node} did not answer the setup message within "
                             f"round-timeout={timeout:g} s")
        if msg.has_error():
            raise StudyError(f"a site failed at setup (SuperNode {node}): "
                             f"{msg.error.reason}")
        info = msg.content["site"]
        metrics = msg.content["metrics"] if "metrics" in msg.content else {}
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
            failed[name] = _reason(msg.error.reason)
        else:
            ok[name] = msg.content
    return ok, failed


def _reason(text):
    """A ClientApp's error as the loop reads it (a refused update starts "non-finite")."""
    text = str(text)
    marker = "non-finite update"
    return text[text.index(marker):] if marker in text else text


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


def _write(path, result):
    write_new(path, json.dumps(result, default=_jsonable))


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise InvalidParameterError(f"cannot write {type(value).__name__} as JSON")
