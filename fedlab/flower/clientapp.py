"""The ClientApp: one hospital's fedlab Client, answering Flower messages where its data is.

Each SuperNode runs this app on its own CSV, named in its node config
(``partition-id=0 csv-path="/data/site.csv"``, optionally ``test-path=...`` and
``site-name=...``). The records never leave the node: a reply holds only the
feature sums (standardization), a model update, evaluation metrics (released at the
site, small cells suppressed), or (for the exact federated Cox model) the site's log
partial likelihood, gradient and information at the coefficients it was sent. The model
is the run's (:func:`~fedlab.flower.study.study_model`: logistic regression, a network or
a Cox model). Training calls
the same code as :func:`fedlab.federated.run` (:func:`fedlab.federated.train_clients`,
i.e. ``Client.train``), with the client's memory and random stream kept in Flower's
``Context.state`` between rounds. With ``secure-aggregation`` the train reply goes
through Flower's ``secaggplus_mod`` (:mod:`fedlab.flower.secure`): the site computes
the strategy's summands, checks they are finite, and only masked vectors leave the node;
its sizes, event count and feature sums leave it only masked too (:mod:`fedlab.flower.totals`).
"""

from __future__ import annotations

import json

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from fedlab import data
from fedlab.evaluation import evaluate_site
from fedlab.federated import Client, train_clients
from fedlab.flower import records, secure, totals
from fedlab.flower.study import site_outcome, study_model, study_strategy
from fedlab.metrics import release_metrics

app = ClientApp()


@app.query()
def describe(msg: Message, context: Context) -> Message:
    """Setup: the site's name and feature names; its sizes and feature sums if in the clear.

    Under secure aggregation the sizes, event count and feature sums go only through a
    secure sum (:func:`setup_digits`), so this reply holds the site's name and columns.
    """
    train, test, name = load_site(context)
    config = msg.content["config"]
    content = RecordDict({
        "site": ConfigRecord({"name": name, "features": list(train.feature_names),
                              "partition_id": int(context.node_config.get("partition-id", -1))}),
    })
    if config.get("secure", False):
        return Message(content=content, reply_to=msg)
    content["metrics"] = MetricRecord({"n_train": train.n_records, "n_test": test.n_records,
                                       "events_train": int(train.y.sum())})
    if config.get("standardize", True):
        sums = Client(train.X, train.y, name=name).feature_sums()
        content["sums"] = ArrayRecord({"count": Array(sums.count), "mean": Array(sums.mean),
                                       "m2": Array(sums.m2)})
    return Message(content=content, reply_to=msg)


def setup_digits(request, context):
    """This site's digits for a secure setup sum (:mod:`fedlab.flower.totals`).

    ``request["pass"]`` is ``"totals"`` (sizes, event count, per-feature count, sum and
    sum of squares) or ``"spread"`` (per feature ``sum (x - r)**2`` at the public
    reference ``request["reference"]``, a JSON list).
    """
    train, test, name = load_site(context)
    sums = Client(train.X, train.y, name=name).feature_sums()  # refuses an overflow, named
    if request["pass"] == "spread":
        return totals.spread_summands(sums, json.loads(request["reference"]))
    return totals.setup_summands(train.n_records, test.n_records, int(train.y.sum()), sums)


@app.train(mods=[secure.secure_mod])
def train(msg: Message, context: Context) -> Message:
    """One round of local training: the same ``train_clients`` that ``federated.run`` calls.

    A ``"secure-setup"`` message (a train message, the only kind SecAgg+ masks) asks for
    the site's setup digits instead (:func:`setup_digits`).
    """
    if "secure-setup" in msg.content:
        vector = setup_digits(msg.content["secure-setup"], context)
        return Message(content=secure.totals_reply(vector), reply_to=msg)
    train_site, _, name = load_site(context)
    params, config, standardizer = records.read_instructions(msg.content)
    model = study_model(context.run_config)
    client = Client(train_site.X, site_outcome(train_site, model), name=name, model=model)
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
    """Score the global model on this site's held-out patients; reply with metrics only.

    A binary outcome: :func:`fedlab.metrics.site_metrics` of the predicted risks. A Cox
    model: :func:`fedlab.survival.score_site` (Harrell's and Uno's C, O/E at the run's
    ``horizon`` from this site's own baseline hazard), as ``train --time`` scores it.
    Either is released here, before it leaves the site
    (:func:`fedlab.metrics.release_metrics` at the run config's ``min-cell``): values that
    rest on fewer than ``min-cell`` patients, or on 1 to ``min-cell - 1`` events or
    non-events, are ``null`` with a ``"suppressed"`` reason.
    """
    train_site, test, name = load_site(context)
    params, _, standardizer = records.read_instructions(msg.content)
    model = study_model(context.run_config)
    min_cell = int(context.run_config.get("min-cell", 5))
    if model.outcome == "survival":
        from fedlab.survival import score_site

        metrics = score_site(params, train_site, test, standardizer=standardizer,
                             ties=model.ties, horizon=float(context.run_config["horizon"]),
                             min_cell=min_cell)
    else:
        metrics = evaluate_site(params, test.X, test.y, standardizer=standardizer, model=model)
    released = release_metrics(metrics, min_cell=min_cell)
    return Message(content=RecordDict({"metrics": records.released_record(released),
                                       "site": ConfigRecord({"name": name})}), reply_to=msg)


@app.query("cox_terms")
def cox_terms(msg: Message, context: Context) -> Message:
    """One Newton step of the exact federated Cox model: this site's terms at the coefficients.

    The site standardizes its training records with the federated standardizer and
    replies with its log partial likelihood, gradient (p) and information (p x p) at
    ``params`` (:meth:`fedlab.survival.CoxSite.terms`), and its counts of patients and
    events: what :func:`fedlab.survival.fit_federated_cox` sums.
    """
    from fedlab.survival import CoxSite

    train_site, _, name = load_site(context)
    coef, config, standardizer = records.read_instructions(msg.content)
    X = train_site.X if standardizer is None else standardizer.transform(train_site.X)
    terms = CoxSite(X, train_site.time, train_site.y, name=name).terms(
        coef, ties=str(config["ties"]))
    return Message(content=records.cox_terms_record(terms, name), reply_to=msg)


def load_site(context):
    """``(train, test, name)`` of this node's site, read from the files in its node config.

    The run config names the columns (:meth:`fedlab.data.Dataset.run_config`). Without
    ``test-path`` or a split column the one CSV is split with the run's ``test-size`` and
    ``seed`` (stratified, as ``python -m fedlab train`` does).
    """
    dataset = data.dataset_from_config(context.node_config, context.run_config)
    site = dataset.read_site(0, random_state=int(context.run_config["seed"]))
    return site.train, site.test, dataset.sites[0].name
