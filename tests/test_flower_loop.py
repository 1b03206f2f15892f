"""The Flower transport of the one round loop, on an in-memory Grid: the model of federated.run.

A fake Grid hands each message straight to fedlab's ClientApp (its mods included) with a
Context per node, as a SuperNode would, so the ServerApp's study runs in this process in
seconds; the real-process tests (test_flower.py) cover the deployment itself.
"""

import copy
import json
import uuid
from pathlib import Path

import numpy as np
import pytest

from fedlab import baselines, data, federated

pytest.importorskip("flwr")
from flwr.app import Context, Error, Message, RecordDict
from flwr.supercore.task_identity import TaskIdentity

from fedlab.flower import clientapp, serverapp
from fedlab.flower.federation import Federation

TARGET, SEED = "outcome", 11
SIZES = {"north": 160, "south": 70, "east": 110}


class FakeGrid:
    """Flower's Grid in memory: every pushed message is answered by fedlab's ClientApp.

    ``corrupt`` maps a site to a function applied to its train replies' content (a site
    that sends NaN).
    """

    def __init__(self, node_configs, run_config, corrupt=None):
        self.contexts = {k + 1: Context(run_id=1, node_id=k + 1, node_config=cfg,
                                        state=RecordDict(), run_config=run_config)
                         for k, cfg in enumerate(node_configs)}
        self.corrupt, self.outbox = corrupt or {}, {}

    def get_node_ids(self):
        return list(self.contexts)

    def push_messages(self, messages):
        ids = []
        for msg in messages:
            msg.metadata.__dict__["_message_id"] = str(uuid.uuid4())
            context = self.contexts[msg.metadata.dst_node_id]
            try:  # a copy, as a real Grid serializes: a mod may change what it receives
                reply = clientapp.app(copy.deepcopy(msg), context)
            except Exception as err:  # as a SuperNode reports a ClientApp's exception
                reply = Message(Error(code=1, reason=f"{type(err).__name__}: {err}"),
                                reply_to=msg)
            site = context.node_config["site-name"]
            if site in self.corrupt and msg.metadata.message_type == "train" \
                    and not reply.has_error():
                self.corrupt[site](reply.content)
            reply.metadata.__dict__["_src_node_id"] = msg.metadata.dst_node_id
            self.outbox[msg.metadata.message_id] = reply
            ids.append(msg.metadata.message_id)
        return ids

    def pull_messages(self, message_ids):
        return [self.outbox.pop(i) for i in list(message_ids) if i in self.outbox]

    def send_and_receive(self, messages, *, timeout=None):
        return self.pull_messages(self.push_messages(messages))


@pytest.fixture(autouse=True)
def _a_run(monkeypatch):
    """The identity Flower gives the ServerApp's process (messages carry its run ID)."""
    for key, value in (("_run_id", 1), ("_node_id", 0), ("_task_id", 1)):
        monkeypatch.setattr(TaskIdentity, key, value)


def _write_site(path, n, seed):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(50, 10, size=n)
    x2[rng.random(n) < 0.05] = np.nan
    y = rng.random(n) < 1 / (1 + np.exp(-2 * (x1 + (np.nan_to_num(x2, nan=50) - 50) / 10)))
    rows = [f"{a:.3f},{'' if np.isnan(b) else f'{b:.2f}'},{int(c)}" for a, b, c in
            zip(x1, x2, y)]
    path.write_text("marker,age,outcome\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sites")
    return {name: _write_site(folder / f"{name}.csv", n, k)
            for k, (name, n) in enumerate(SIZES.items())}


def _run_config(strategy, rounds, **extra):
    cfg = {"num-rounds": rounds, "local-epochs": 1, "batch-size": 32, "lr": 0.1, "l2": 1e-3,
           "seed": SEED, "method": "", "standardize": True, "evaluate": "final",
           "exclude-site": "", "n-sites": 3, "connect-timeout": 5.0, "min-sites": 1,
           "round-timeout": 30.0, "target": TARGET, "features": "", "test-size": 0.25,
           "study-dir": "", "secure-aggregation": False, "secagg-clipping-range": 8.0,
           "strategy": strategy, "strategy-options": "{}", "strategy-file": ""}
    cfg.update(extra)
    return cfg


def _study(sites, strategy="fedavg", rounds=2, corrupt=None, **extra):
    cfg = _run_config(strategy, rounds, **extra)
    nodes = [{"partition-id": k, "site-name": name, "csv-path": str(path)}
             for k, (name, path) in enumerate(sites.items())]
    result = serverapp.run_study(FakeGrid(nodes, cfg, corrupt), cfg)
    json.dumps(result)  # what the ServerApp writes
    return result


def _hospitals(sites):
    out = []
    for name, path in sites.items():
        site = data.read_site_csv(path, target=TARGET)
        train, test = data.train_test_split_site(site, test_size=0.25, random_state=SEED)
        out.append(data.Hospital.from_sites(train, test, name=name))
    return out


def _in_process(sites, strategy, rounds=2, clients=None, **kwargs):
    hospitals = _hospitals(sites)
    clients = clients or [federated.Client.from_hospital(h) for h in hospitals]
    kwargs.setdefault("random_state", SEED)
    return federated.run(clients, strategy=strategy, rounds=rounds, l2=1e-3, **kwargs)


@pytest.mark.parametrize("strategy, options", [
    ("fedavg", {}), ("fedprox", {"mu": 0.5}), ("scaffold", {"fraction_train": 2 / 3}),
    ("scaffold", {"weighted": True}), ("fedadam", {}), ("fedmedian", {}), ("fednova", {}),
    ("fedsgd", {}), ("qfedsgd", {})])
def test_the_flower_transport_gives_federated_runs_model_bit_for_bit(sites, strategy, options):
    result = _study(sites, strategy, rounds=3, **{"strategy-options": json.dumps(options)})
    expected = _in_process(sites, federated.make_strategy(strategy, **options), rounds=3)
    np.testing.assert_array_equal(result["params"], expected.params)
    assert [r["participants"] for r in result["rounds"]] == \
        [r.participants for r in expected.rounds]


def test_a_method_seed_travels_to_the_loop(sites):
    result = _study(sites, "fedprox", method="fedprox")
    expected = _in_process(sites, baselines.method_strategy("fedprox", {"mu": 0.01}),
                           random_state=federated.method_seed(SEED, "fedprox"))
    expected_plain = _in_process(sites, baselines.method_strategy("fedprox", {"mu": 0.01}))
    np.testing.assert_array_equal(result["params"], expected.params)
    assert not np.array_equal(result["params"], expected_plain.params)


class NaNClient(federated.Client):
    """A client whose every update is NaN (a broken export at one site)."""

    def stacked_records(self):
        return None

    def train(self, params, config, *, state=None, random_state=None):
        update = super().train(params, config, state=state, random_state=random_state)
        return federated.Update(self.name, np.full_like(update.vector, np.nan),
                                update.n_samples, update.metrics, update.arrays)


def _nan_vector(content):
    vector = content["arrays"]["vector"].numpy()
    from flwr.app import Array
    content["arrays"]["vector"] = Array(np.full_like(vector, np.nan))


@pytest.mark.parametrize("strategy", ["fedavg", "scaffold"])
def test_a_non_finite_reply_is_refused_and_named_on_flower_as_in_process(sites, strategy):
    result = _study(sites, strategy, corrupt={"south": _nan_vector})
    hospitals = _hospitals(sites)
    clients = [(NaNClient if h.name == "south" else federated.Client).from_hospital(h)
               for h in hospitals]
    expected = _in_process(sites, strategy, clients=clients)
    assert np.isfinite(result["params"]).all()
    np.testing.assert_array_equal(result["params"], expected.params)
    for record, mine in zip(result["rounds"][1:], expected.rounds[1:]):
        assert record["participants"] == mine.participants == ["north", "east"]
        assert list(record["refused"]) == list(mine.refused) == ["south"]
        assert "non-finite" in record["refused"]["south"]


def test_secure_aggregation_runs_scaffold_with_every_sum_masked(sites):
    result = _study(sites, "scaffold", **{"secure-aggregation": True})
    expected = _in_process(sites, "scaffold")
    np.testing.assert_allclose(result["params"], expected.params, rtol=0, atol=1e-4)
    received = result["config"]["secure_aggregation"]["received"]
    # 3 for the setup's secure sum (sizes, events, feature sums), then 3 per round
    assert received == {"masked_vectors": 9, "plain_array_entries": 0}


def test_under_secure_aggregation_a_site_refuses_to_mask_its_own_non_finite_update(
        sites, monkeypatch):
    honest = clientapp.train_clients

    def south_breaks(clients, params, config, **kwargs):
        updates = honest(clients, params, config, **kwargs)
        if clients[0].name == "south":
            updates.vectors[:] = np.nan
        return updates

    monkeypatch.setattr(clientapp, "train_clients", south_breaks)
    result = _study(sites, "fedavg", **{"secure-aggregation": True})
    clients = [(NaNClient if h.name == "south" else federated.Client).from_hospital(h)
               for h in _hospitals(sites)]
    expected = _in_process(sites, "fedavg", clients=clients)
    np.testing.assert_allclose(result["params"], expected.params, rtol=0, atol=1e-4)
    for record in result["rounds"][1:]:
        assert record["participants"] == ["north", "east"]
        assert list(record["refused"]) == ["south"] and record["dropped"] == []
        assert record["refused"]["south"].startswith("non-finite update")
    # the setup's 3 masked vectors, then the two honest sites', no plain array, per round
    assert result["config"]["secure_aggregation"]["received"] == {
        "masked_vectors": 7, "plain_array_entries": 0}


def test_too_few_sites_stop_the_study_naming_who_was_refused(sites):
    with pytest.raises(federated.TooFewSites,
                       match=r"site 'south' was refused \(non-finite.*round 1; 2 sites took "
                             r"part.*min_sites=3"):
        _study(sites, "fedmedian", corrupt={"south": _nan_vector}, **{"min-sites": 3})


# -- the network (issue 17, item 3): the same model through Flower, from the command line too


@pytest.mark.parametrize("strategy, options", [
    ("fedavg", {}), ("scaffold", {}), ("dpsgd", {"noise_multiplier": 1.0})])
def test_a_network_on_flower_is_federated_runs_under_each_strategy(sites, strategy, options):
    from fedlab.models import MLP

    net = MLP(hidden=3, activation="relu")
    result = _study(sites, strategy, model="mlp", **{
        "model-options": json.dumps(net.get_params()),
        "strategy-options": json.dumps(options)})
    clients = [federated.Client.from_hospital(h, model=net) for h in _hospitals(sites)]
    expected = _in_process(sites, federated.make_strategy(strategy, **options),
                           clients=clients)
    assert len(result["params"]) == net.n_params(2)
    np.testing.assert_array_equal(result["params"], expected.params)


class InMemoryFederation(Federation):
    """The ``flower`` command's Federation with Flower's processes replaced by a FakeGrid:
    the command builds its run config as on a real federation (``Federation.run``), and
    the ServerApp's study runs here on it."""

    def start(self):
        pass

    def close(self):
        pass

    @property
    def running_sites(self):
        return self.names

    def _flwr(self, *args, check=True):
        import tomllib  # Python >= 3.11, as Flower

        cfg = tomllib.loads(Path(args[args.index("--run-config") + 1]).read_text())
        nodes = [{"partition-id": k, "site-name": name, "csv-path": str(path)}
                 for k, (name, path, _) in enumerate(self.specs)]
        result = serverapp.run_study(FakeGrid(nodes, cfg), cfg)
        serverapp._write(Path(cfg["study-dir"]) / "result.json", result)
        return json.dumps({"run-id": 1})


def test_flower_and_train_commands_give_the_same_network(sites, tmp_path, monkeypatch,
                                                         capsys):
    import fedlab.flower
    from fedlab.__main__ import main

    monkeypatch.setattr(fedlab.flower, "Federation", InMemoryFederation)
    common = ["--target", TARGET, "--rounds", "2", "--seed", str(SEED), "--model", "mlp",
              "--hidden", "3", "--strategy", "fedprox", "--mu", "0.1"]
    for path in sites.values():
        common += ["--site", str(path)]
    assert main(["train", *common, "--json", str(tmp_path / "train.json")]) == 0
    assert main(["flower", *common, "--strategy", "fedavg",
                 "--json", str(tmp_path / "flower.json")]) == 0
    capsys.readouterr()
    train = json.loads((tmp_path / "train.json").read_text())
    flower = json.loads((tmp_path / "flower.json").read_text())
    assert flower["config"]["model"] == train["config"]["model"] == {
        "name": "mlp", "class": "MLP", "params": {"hidden": 3, "activation": "tanh"}}
    for method in ("fedprox", "fedavg (weighted)"):
        assert flower["methods"][method]["parameters"] == train["methods"][method]["parameters"]
        assert flower["methods"][method]["parameters"]["W1"]["shape"] == [2, 3]
        for site, metrics in train["methods"][method]["sites"].items():
            scored = flower["methods"][method]["sites"][site]  # at the site, on Flower
            assert scored["n"] == metrics["n"]
            assert scored["auc"] == pytest.approx(metrics["auc"], abs=1e-12)
