"""The ClientApp: one hospital's fedlab Client, answering Flower messages where its data is.

Each SuperNode runs this app on its own CSV, named in its node config
(``partition-id=0 csv-path="/data/site.csv"``, optionally ``test-path=...`` and
``site-name=...``). The records never leave the node: a reply holds only the
feature sums (standardization), a model update, or evaluation metrics. The model is the
run's (:func:`~fedlab.flower.study.study_model`). Training calls
the same code as :func:`fedlab.federated.run` (:func:`fedlab.federated.train_clients`,
i.e. ``Client.train``), with the client's memory and random stream kept in Flower's
``Context.state`` between rounds. With ``secure-aggregation`` the train reply goes
through Flower's ``secaggplus_mod`` (:mod:`fedlab.flower.secure`): the site computes
the strategy's summands, checks they are finite, and only masked vectors leave the node.
"""

from __future__ import annotations

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from fedlab import data
from fedlab.evaluation import evaluate_site
from fedlab.federated import Client, train_clients
from fedlab.flower import records, secure
from fedlab.flower.study import study_model, study_strategy

app = ClientApp()


@app.query()
def describe(msg: Message, context: Context) -> Message:
    """Setup: the site's name, sizes and feature names, and its feature sums if asked."""
    train, test, name = load_site(context)
    content = RecordDict({
        "site": ConfigRecord({"name": name, "features": list(train.feature_names),
                              "partition_id": int(context.node_config.get("partition-id", -1))}),
        "metrics": MetricRecord({"n_train": train.n_records, "n_test": test.n_records,
                                 "events_train": int(train.y.sum())}),
    })
    if msg.content["config"].get("standardize", True):
        sums = Client(train.X, train.y, name=name).feature_sums()
        content["sums"] = ArrayRecord({"count": Array(sums.count), "mean": Array(sums.mean),
                                       "m2": Array(sums.m2)})
    return Message(content=content, reply_to=msg)


@app.train(mods=[secure.secure_mod])
def train(msg: Message, context: Context) -> Message:
    """One round of local training: the same ``train_clients`` that ``federated.run`` calls."""
    train_site, _, name = load_site(context)
    params, config, standardizer = records.read_instructions(msg.content)
    model = study_model(context.run_config)
    client = Client(train_site.X, train_site.y, name=name, model=model)
    if standardizer is not None:
        client.preprocess(standardizer)
    if "fedlab-rng" in context.state:
        rng = records.rng_from_record(context.state["fedlab-rng"])
    else:  # this client's own stream, from the seed the round loop spawned for it
        rng = np.random.default_rng(config["seed"])
    state = {k: a.numpy() for k, a in context.state["fedlab-client"].items()} \
        if "fedlab-client" in context.state else {}
    [update] = train_clients([client], params, config, states=[state], rngs=[rng])
    context.state["fedlab-rng"] = records.rng_to_record(rng)
    if state:
        context.state["fedlab-client"] = ArrayRecord({k: Array(v) for k, v in state.items()})
    if "secure" in msg.content:  # checked, then masked by secaggplus_mod before it leaves
        return Message(content=secure.secure_reply(update, msg.content["secure"],
                                                   study_strategy(context.run_config)),
                       reply_to=msg)
    return Message(content=records.reply(update), reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    """Score the global model on this site's held-out patients; reply with metrics only."""
    _, test, name = load_site(context)
    params, _, standardizer = records.read_instructions(msg.content)
    metrics = evaluate_site(params, test.X, test.y, standardizer=standardizer,
                            model=study_model(context.run_config))
    return Message(content=RecordDict({"metrics": records.metrics_record(metrics),
                                       "site": ConfigRecord({"name": name})}), reply_to=msg)


def load_site(context):
    """``(train, test, name)`` of this node's site, read from the files in its node config.

    The run config names the columns (:meth:`fedlab.data.Dataset.run_config`). Without
    ``test-path`` or a split column the one CSV is split with the run's ``test-size`` and
    ``seed`` (stratified, as ``python -m fedlab train`` does).
    """
    dataset = data.dataset_from_config(context.node_config, context.run_config)
    site = dataset.read_site(0, random_state=int(context.run_config["seed"]))
    return site.train, site.test, dataset.sites[0].name
