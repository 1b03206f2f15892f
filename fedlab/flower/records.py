"""fedlab's messages as Flower records, and back: what crosses the wire on Flower.

A Flower message carries a ``RecordDict`` of named records: ``ArrayRecord`` (arrays),
``ConfigRecord`` (settings) and ``MetricRecord`` (numbers). These helpers turn the
round loop's objects (the global model, a strategy's instructions, an
:class:`~fedlab.federated.Update`, a :class:`~fedlab.federated.Standardizer`, a
client's random stream) into records and back, so both apps stay short.
"""

from __future__ import annotations

import json

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, MetricRecord, RecordDict

from fedlab.federated import Standardizer, Update

__all__ = ["instructions", "read_instructions", "reply", "read_reply", "released_record",
           "read_released", "rng_to_record", "rng_from_record", "standardizer_arrays",
           "read_standardizer", "cox_terms_record", "read_cox_terms"]

_SCALARS = ("task", "epochs", "batch_size", "lr", "l2", "mu", "ties",
            "noise_multiplier", "clip_norm", "delta", "sample_rate")  # the last: DP-SGD


def instructions(params, config, *, standardizer=None, seed=None):
    """The RecordDict of a train message: the model, the instructions, the preprocessing.

    ``config`` is what the strategy's ``configure_train`` returned; ``batch_size=None``
    (the whole local data set) travels as 0, SCAFFOLD's ``control`` as an array.
    ``seed`` is the :class:`numpy.random.SeedSequence` of the client's own stream, which
    the round loop spawned; the client starts its stream from it once and keeps it.
    """
    arrays = {"params": Array(np.asarray(params, dtype=float))}
    if config.get("control") is not None:
        arrays["control"] = Array(np.asarray(config["control"], dtype=float))
    settings = {k: config[k] for k in _SCALARS if k in config}
    if "batch_size" in settings and settings["batch_size"] is None:
        settings["batch_size"] = 0
    if seed is not None:
        settings["seed"] = json.dumps({"entropy": seed.entropy,
                                       "spawn_key": [int(k) for k in seed.spawn_key],
                                       "pool_size": int(seed.pool_size)})
    content = RecordDict({"arrays": ArrayRecord(arrays), "config": ConfigRecord(settings)})
    if standardizer is not None:
        content["standardizer"] = standardizer_arrays(standardizer)
    return content


def read_instructions(content):
    """``(params, config, standardizer or None)`` from a train message's RecordDict."""
    arrays = content["arrays"]
    config = dict(content["config"])
    if config.get("batch_size") == 0:
        config["batch_size"] = None
    if "control" in arrays:
        config["control"] = arrays["control"].numpy()
    if "seed" in config:
        spec = json.loads(config.pop("seed"))
        config["seed"] = np.random.SeedSequence(spec["entropy"],
                                                spawn_key=tuple(spec["spawn_key"]),
                                                pool_size=spec["pool_size"])
    return arrays["params"].numpy(), config, read_standardizer(content)


def reply(update):
    """The RecordDict a client replies with: its update, its weight and local metrics."""
    arrays = {"vector": Array(update.vector)}
    arrays.update({name: Array(np.asarray(a, dtype=float)) for name, a in update.arrays.items()})
    metrics = {"num-examples": int(update.n_samples)}
    metrics.update({k: float(v) for k, v in update.metrics.items()})
    return RecordDict({"arrays": ArrayRecord(arrays), "metrics": MetricRecord(metrics),
                       "site": ConfigRecord({"name": update.client})})


def read_reply(content):
    """The :class:`~fedlab.federated.Update` inside a client's reply."""
    arrays = content["arrays"]
    metrics = dict(content["metrics"])
    n = int(metrics.pop("num-examples"))
    extra = {name: arrays[name].numpy() for name in arrays if name != "vector"}
    return Update(content["site"]["name"], arrays["vector"].numpy(), n, metrics, extra)


def released_record(released):
    """A site's metrics as released (:func:`fedlab.metrics.release_metrics`), as a record.

    Released values may be ``None`` with a ``"<key>_reason"`` string beside them, which a
    MetricRecord cannot hold: they travel as one JSON text (``allow_nan=False``).
    """
    return ConfigRecord({"released": json.dumps(released, allow_nan=False)})


def read_released(record):
    """The released metrics sent by :func:`released_record`: intervals as tuples again."""
    return {k: tuple(v) if isinstance(v, list) else v
            for k, v in json.loads(record["released"]).items()}


def standardizer_arrays(standardizer):
    """A :class:`~fedlab.federated.Standardizer` as an ArrayRecord (mean and scale)."""
    return ArrayRecord({"mean": Array(standardizer.mean), "scale": Array(standardizer.scale)})


def read_standardizer(content):
    """The Standardizer in ``content["standardizer"]``, or ``None``."""
    if "standardizer" not in content:
        return None
    record = content["standardizer"]
    return Standardizer(mean=record["mean"].numpy(), scale=record["scale"].numpy())


def rng_to_record(rng):
    """A generator's exact state as a ConfigRecord (Context.state keeps it between rounds)."""
    return ConfigRecord({"state": json.dumps(rng.bit_generator.state)})


def rng_from_record(record):
    """The generator saved by :func:`rng_to_record`, at the same point of its stream."""
    state = json.loads(record["state"])
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def cox_terms_record(terms, name):
    """A site's :class:`~fedlab.survival.CoxTerms` as a reply: a number, a p-vector, a p x p
    matrix and the site's counts of patients and events (nothing else leaves the site)."""
    return RecordDict({"arrays": ArrayRecord({"gradient": Array(np.asarray(terms.gradient)),
                                              "information": Array(np.asarray(
                                                  terms.information))}),
                       "metrics": MetricRecord({"loglik": float(terms.loglik),
                                                "n": int(terms.n),
                                                "events": int(terms.events)}),
                       "site": ConfigRecord({"name": name})})


def read_cox_terms(content):
    """The :class:`~fedlab.survival.CoxTerms` in a site's reply (see :func:`cox_terms_record`)."""
    from fedlab.survival import CoxTerms

    arrays, metrics = content["arrays"], content["metrics"]
    return CoxTerms(loglik=float(metrics["loglik"]), gradient=arrays["gradient"].numpy(),
                    information=arrays["information"].numpy(), n=int(metrics["n"]),
                    events=int(metrics["events"]))
