"""The one round loop of federated learning (McMahan et al. 2017), whatever carries the messages.

:class:`RoundLoop` owns a run's order of events and every random stream: federated
standardization, then per round sampling (``configure_train``), dropouts, local work,
the replies, the refusal of bad replies, ``aggregate_train``, evaluation, accounting and
the history. What carries the messages is a *transport*: in process
(:class:`fedlab.federated.engine.InProcess`, the vectorized executor or each client's
``train``) or Flower's Grid (:class:`fedlab.flower.serverapp.FlowerTransport`). A
transport moves messages and holds no loop logic and no random draws, so both give the
same model by construction.

A transport has ``names`` (the training clients, in client order), ``sizes`` (their
numbers of training records; a transport that keeps them secret has ``sizes = None``
and ``total_samples``, their sum), ``n_features`` (optionally ``feature_names``), ``model``
(the clients' shared :class:`fedlab.models.Model`, which gives the starting
parameters), and the methods

- ``feature_sums()``: each client's :class:`~fedlab.federated.FeatureSums`;
- ``start(standardizer, seeds)``: each client's preprocessing and the seed of its own
  stream (a :class:`numpy.random.SeedSequence`), before round 1;
- ``train(server_round, indices, params, config)``: ``(Updates, {name: failure})`` of
  the chosen clients;
- ``train_secure(server_round, indices, params, config, strategy)``: the same through
  secure aggregation, ``(sums or None, participant names, {name: failure})``;
- ``evaluate(server_round, params, standardizer)``: ``(pooled, {site: metrics})``;
- ``finish()``: undo what ``start`` did to the clients.

References
----------
McMahan, Moore, Ramage, Hampson, Agüera y Arcas (2017). Communication-efficient learning
of deep networks from decentralized data. AISTATS.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from fedlab._validation import InvalidParameterError, check_int, check_rng
from fedlab.federated.history import History, RoundRecord
from fedlab.federated.messages import HEADER_BYTES, Updates
from fedlab.federated.preprocessing import combine

__all__ = ["RoundLoop", "TooFewSites", "TRAINING_DEFAULTS", "method_seed", "refuse_non_finite"]

TRAINING_DEFAULTS = {"local_epochs": 1, "batch_size": 32, "lr": 0.1}
"""The local training settings every entry point defaults to (``run``, the commands,
Flower): one epoch of mini-batch SGD, batches of 32, learning rate 0.1."""

EVALUATE = ("every-round", "final", "none")


class TooFewSites(RuntimeError):
    """A round aggregated fewer updates than the run's ``min_sites``: the run stops."""


def method_seed(seed, name):
    """The seed of one method's run: a child of ``SeedSequence(seed)`` keyed by its name.

    The key is the first 8 bytes of the SHA-256 of the name (UTF-8), as the spawn key
    of ``SeedSequence(seed)``: a method's stream depends on the seed and its own name,
    never on which other methods ran before it.

    Parameters
    ----------
    seed : int >= 0
    name : str
        The method, e.g. ``"fedavg (weighted)"`` or ``"fedprox"``.

    Returns
    -------
    numpy.random.SeedSequence

    Examples
    --------
    >>> a = np.random.default_rng(method_seed(7, "fedprox")).random()
    >>> b = np.random.default_rng(method_seed(7, "fedprox")).random()
    >>> a == b, a == np.random.default_rng(method_seed(7, "scaffold")).random()
    (True, False)
    """
    seed = check_int(seed, "seed", minimum=0)
    key = int.from_bytes(hashlib.sha256(str(name).encode("utf-8")).digest()[:8], "little")
    return np.random.SeedSequence(seed, spawn_key=(key,))


def refuse_non_finite(updates):
    """Split a round's replies into the finite ones and the refused: ``(Updates, {name: why})``.

    A reply whose vector, extra arrays, ``loss`` or ``local_steps`` holds NaN or infinity
    is refused before any aggregation (its client is treated as failed for the round).

    Examples
    --------
    >>> from fedlab.federated import Update
    >>> kept, refused = refuse_non_finite([Update("a", np.ones(2), 1),
    ...                                    Update("b", np.array([np.nan, 0.0]), 1)])
    >>> kept.clients, refused
    (['a'], {'b': 'non-finite update (NaN or infinity in its vector)'})
    """
    updates = Updates.of(updates)
    if not len(updates):
        return updates, {}
    reasons = {}
    bad = ~np.isfinite(updates.vectors).all(axis=1)
    for k in np.flatnonzero(bad):
        reasons[k] = "its vector"
    for name, values in updates.arrays.items():
        for k in np.flatnonzero(~np.isfinite(values.reshape(len(updates), -1)).all(axis=1)):
            reasons.setdefault(k, f"its {name!r} array")
    for k, metrics in enumerate(updates.metrics):
        for key in ("loss", "local_steps"):
            if key in metrics and not math.isfinite(metrics[key]):  # a scalar: no numpy call
                reasons.setdefault(k, f"its {key}")
    if not reasons:
        return updates, {}
    keep = [k for k in range(len(updates)) if k not in reasons]
    return updates.take(keep), {updates.clients[k]: f"non-finite update (NaN or infinity "
                                f"in {why})" for k, why in sorted(reasons.items())}


class RoundLoop:
    """One federated run: the order of a round's events and every random draw.

    Parameters
    ----------
    strategy : Strategy
    rounds : int >= 0
    config : dict
        The clients' training settings: ``epochs``, ``batch_size``, ``lr``, ``l2``.
    dropout : float in [0, 1), default=0.0
        Probability that a chosen client fails to reply in a round (simulated).
    min_sites : int >= 0, default=1
        The fewest updates a round that lost clients may aggregate: a round in which a
        chosen client dropped out, failed or was refused and fewer than ``min_sites``
        updates remain stops the run with :class:`TooFewSites` (a round that chose fewer
        clients by design, e.g. Poisson sampling, is not stopped).
    standardize : bool, default=True
        Federated standardization before round 1.
    secure : bool, default=False
        Train through the transport's secure aggregation (only the sums of the
        strategy's :attr:`~fedlab.federated.Strategy.summed_arrays` are unmasked).
    evaluate : {"every-round", "final", "none"}, default="every-round"
        When the transport scores the global model (round 0 too, for ``every-round``).
    random_state : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Seeds client sampling, dropouts, the strategy's noise and, spawned from it, each
        client's own stream. Same seed, same bits, on every transport.

    Notes
    -----
    Per round ``t``: ``configure_train`` chooses the clients (from the run's generator);
    one uniform draw per chosen client decides a simulated dropout; the transport
    delivers the instructions and returns the replies; replies that are not finite are
    refused; ``aggregate_train`` (or ``aggregate_sums`` under secure aggregation) makes
    the next model; the transport evaluates it; a :class:`RoundRecord` names who took
    part, who dropped out and who was refused.
    """

    def __init__(self, strategy, *, rounds, config, dropout=0.0, min_sites=1,
                 standardize=True, secure=False, evaluate="every-round", random_state=None):
        self.strategy = strategy
        self.rounds = check_int(rounds, "rounds", minimum=0)
        self.config = dict(config)
        if not 0 <= dropout < 1:
            raise InvalidParameterError(f"dropout must be in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        self.min_sites = check_int(min_sites, "min_sites", minimum=0)
        self.standardize = bool(standardize)
        self.secure = bool(secure)
        if self.secure and strategy.summed_arrays is None:
            raise InvalidParameterError(
                f"secure aggregation unmasks only sums; {type(strategy).__name__} needs each "
                "update in the clear (it declares no summed_arrays): choose a strategy that "
                "only sums (FedAvg family, SCAFFOLD, FedNova, q-FedSGD)")
        if evaluate not in EVALUATE:
            raise InvalidParameterError(f"evaluate must be one of {EVALUATE}, got {evaluate!r}")
        self.evaluate = evaluate
        if isinstance(random_state, np.random.SeedSequence):
            random_state = np.random.default_rng(random_state)
        self.rng = check_rng(random_state)

    def run(self, transport, *, callbacks=(), settings=None):
        """Run every round over ``transport``; return the :class:`History`.

        ``settings`` are further entries for ``History.config`` (e.g. the seed).
        """
        strategy, rng, names = self.strategy, self.rng, list(transport.names)
        n = len(names)
        if n == 0:
            raise InvalidParameterError("a federated run needs at least one client, got none")
        seeds = rng.bit_generator.seed_seq.spawn(n)  # each client's own stream
        init = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])  # the model's
        standardizer, up, down = None, 0, 0
        if self.standardize:
            sums = transport.feature_sums()
            standardizer = combine(sums, names=names,
                                   feature_names=getattr(transport, "feature_names", None))
            up, down = sum(s.nbytes for s in sums), standardizer.nbytes * n
        params = np.asarray(transport.model.init_params(transport.n_features, random_state=init),
                            dtype=float)
        total = getattr(transport, "total_samples", None)
        strategy.total_samples = int(sum(transport.sizes) if total is None else total)
        strategy.start(len(params), n)
        history = History([], standardizer=standardizer, config={
            "rounds": self.rounds, "strategy": repr(strategy),
            "strategy_params": _plain(strategy.get_params()),
            "local_epochs": self.config["epochs"], "batch_size": self.config["batch_size"],
            "lr": self.config["lr"], "l2": self.config["l2"], "dropout": self.dropout,
            "n_clients": n, "standardize": self.standardize, "min_sites": self.min_sites,
            "secure_aggregation": self.secure, **(settings or {})})
        client_epsilons = {}  # record-level DP: each client's own budget, as it reported it
        transport.start(standardizer, seeds)
        try:
            self._record(history, transport, params, 0, up, down, [], callbacks)
            for t in range(1, self.rounds + 1):
                params = self._round(t, params, transport, names, history, callbacks,
                                     client_epsilons)
        finally:
            transport.finish()
        history.params = params.copy()
        if getattr(strategy, "skipped_rounds", None):  # e.g. Krum with too few replies
            history.config["skipped_rounds"] = list(strategy.skipped_rounds)
        return history

    def _round(self, t, params, transport, names, history, callbacks, client_epsilons):
        strategy, rng = self.strategy, self.rng
        selected, instructions = strategy.configure_train(t, params, self.config, len(names),
                                                          rng=rng)
        selected = np.asarray(selected, dtype=int)
        kept = rng.random(len(selected)) >= self.dropout
        replying = selected[kept].tolist()
        dropped = [names[i] for i in selected[~kept]]
        refused = {}
        if self.secure:
            sums, participants, failures = transport.train_secure(t, replying, params,
                                                                  instructions, strategy)
            new = params if sums is None else strategy.aggregate_sums(t, params, sums, rng=rng)
            width = sum(np.size(v) for v in (sums or {}).values())
            up = len(participants) * (8 * width + HEADER_BYTES)
            updates = Updates([], np.zeros((0, len(params))), [])
        else:
            updates, failures = transport.train(t, replying, params, instructions)
            updates, refused = refuse_non_finite(updates)
            new = strategy.aggregate_train(t, params, updates, rng=rng)
            participants, up = list(updates.clients), strategy.bytes_up(updates)
        for name, reason in failures.items():
            if reason.startswith("non-finite"):
                refused[name] = reason
            else:
                dropped.append(name)
        new = np.asarray(new, dtype=float)
        client_epsilons.update({c: m["epsilon"] for c, m in zip(updates.clients, updates.metrics)
                                if "epsilon" in m})
        epsilon = strategy.epsilon()
        if epsilon is None and client_epsilons:
            epsilon = max(client_epsilons.values())
        self._record(history, transport, new, t, up, strategy.bytes_down(params, len(selected)),
                     participants, callbacks, epsilon=epsilon, dropped=dropped, refused=refused)
        if (dropped or refused) and len(participants) < self.min_sites:
            raise TooFewSites(_too_few(t, participants, dropped, refused, self.min_sites))
        return new

    def _record(self, history, transport, params, t, up, down, participants, callbacks,
                **extra):
        """Evaluate ``params`` when due and append a :class:`RoundRecord`."""
        due = self.evaluate == "every-round" or (self.evaluate == "final" and t == self.rounds)
        pooled, sites = transport.evaluate(t, params, history.standardizer) if due else ({}, {})
        record = RoundRecord(t, pooled, sites, int(up), int(down), list(participants), **extra)
        history.rounds.append(record)
        for callback in callbacks:
            callback(record)


def _too_few(t, participants, dropped, refused, min_sites):
    lost = [f"site {name!r} dropped out" for name in dropped]
    lost += [f"site {name!r} was refused ({why})" for name, why in refused.items()]
    word = "site took part" if len(participants) == 1 else "sites took part"
    return (f"{'; '.join(lost) or 'no site was lost'} in round {t}; {len(participants)} "
            f"{word} ({sorted(participants)}), fewer than min_sites={min_sites}: the run stops")


def _plain(params):
    """Strategy parameters as JSON-ready values (anything else by its repr)."""
    return {k: v if isinstance(v, (bool, int, float, str, type(None))) else repr(v)
            for k, v in params.items()}
