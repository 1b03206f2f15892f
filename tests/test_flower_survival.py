"""Survival and the other models on Flower: the exact federated Cox model and the run's model.

On the in-memory Grid of test_flower_loop.py (each message answered by fedlab's
ClientApp in this process): the exact federated Cox model over Flower equals
``compare_survival``'s ``federated Cox`` (the ``train --time`` command's), and the round
loop over Flower trains the run's model (a network, a Cox model) bit for bit as
``federated.run`` does. One real-process test runs ``python -m fedlab flower --time``.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from fedlab import data, federated
from fedlab.models import MLP, CoxPH
from fedlab.survival import compare_survival

pytest.importorskip("flwr")
from flwr.supercore.task_identity import TaskIdentity

from fedlab.flower import serverapp
from fedlab.flower.study import StudyError

_spec = importlib.util.spec_from_file_location(
    "flower_loop_fakes", Path(__file__).with_name("test_flower_loop.py"))
_fakes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fakes)
FakeGrid = _fakes.FakeGrid  # Flower's Grid in memory: every message answered by the ClientApp

TIME, EVENT, SEED = "Follow-up (years)", "Event (CVD)", 5
SIZES = {"north": 220, "south": 140, "east": 180}


@pytest.fixture(autouse=True)
def _a_run(monkeypatch):
    """The identity Flower gives the ServerApp's process (messages carry its run ID)."""
    for key, value in (("_run_id", 1), ("_node_id", 0), ("_task_id", 1)):
        monkeypatch.setattr(TaskIdentity, key, value)


def _write_site(path, n, seed, *, scale=1.0):
    """A site with a time to event (Weibull-like by the site) and a 0/1 label."""
    rng = np.random.default_rng(seed)
    x1, age = rng.normal(size=n), rng.normal(55, 10, size=n)
    age[rng.random(n) < 0.05] = np.nan
    eta = 0.6 * x1 + 0.04 * (np.nan_to_num(age, nan=55) - 55)
    t = scale * rng.exponential(5 * np.exp(-eta))
    c = rng.uniform(1, 9, size=n)
    label = (rng.random(n) < 1 / (1 + np.exp(-2 * eta))).astype(int)
    rows = [f"{a:.3f},{'' if np.isnan(b) else f'{b:.1f}'},{min(u, v):.3f},{int(u <= v)},{y}"
            for a, b, u, v, y in zip(x1, age, t, c, label)]
    path.write_text(f'marker,Age (years),"{TIME}","{EVENT}",label\n' + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    folder = tmp_path_factory.mktemp("survival-sites")
    return {name: _write_site(folder / f"{name}.csv", n, k, scale=1 + k / 2)
            for k, (name, n) in enumerate(SIZES.items())}


def _run_config(**extra):
    cfg = {"num-rounds": 3, "local-epochs": 1, "batch-size": 32, "lr": 0.1, "l2": 1e-3,
           "seed": SEED, "method": "", "standardize": True, "evaluate": "final",
           "exclude-site": "", "n-sites": 3, "connect-timeout": 5.0, "min-sites": 1,
           "round-timeout": 30.0, "outcome": "survival", "target": "", "time": TIME,
           "event": EVENT, "features": "marker,Age (years)", "split-column": "",
           "id-column": "", "test-size": 0.25, "study-dir": "", "secure-aggregation": False,
           "secagg-clipping-range": 8.0, "strategy": "fedavg", "strategy-options": "{}",
           "strategy-file": "", "model": "", "model-options": "{}", "fit": "round-loop",
           "horizon": 4.0, "min-cell": 5}
    cfg.update(extra)
    return cfg


def _study(sites, **extra):
    cfg = _run_config(**extra)
    nodes = [{"partition-id": k, "site-name": name, "csv-path": str(path)}
             for k, (name, path) in enumerate(sites.items())]
    result = serverapp.run_study(FakeGrid(nodes, cfg), cfg)
    json.dumps(result)  # what the ServerApp writes
    return result


def _hospitals(sites, **columns):
    columns = columns or {"outcome": "survival", "time": TIME, "event": EVENT}
    spec = data.Dataset([data.SiteSpec(p, name=n) for n, p in sites.items()],
                        features=("marker", "Age (years)"), **columns)
    return spec.load(random_state=SEED)


def test_the_exact_cox_model_on_flower_is_train_federated_cox(sites):
    result = _study(sites, fit="exact-cox", **{"num-rounds": 50})
    expected = compare_survival(_hospitals(sites), l2=1e-3, horizon=4.0)
    coef, standardizer = expected["fits"]["federated Cox"]
    np.testing.assert_allclose(result["params"], coef, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result["standardizer"]["scale"], standardizer.scale)
    [final] = result["rounds"]
    mine = expected["methods"]["federated Cox"]
    assert list(final["sites"]) == list(mine["sites"]) == list(SIZES)
    for name, site in final["sites"].items():
        for key in ("n", "events", "c_index", "uno_c", "oe"):
            np.testing.assert_allclose(site[key], mine["sites"][name][key], rtol=1e-9)
    np.testing.assert_allclose(final["pooled"]["c_index"], mine["pooled"]["c_index"],
                               rtol=1e-9)
    config = result["config"]
    assert config["fit"] == "exact-cox" and config["n_iter"] < config["message_rounds"] <= 50
    assert len(config["se"]) == 2 and all(s > 0 for s in config["se"])


def test_the_exact_cox_model_on_flower_needs_a_horizon_free_survival_outcome(sites):
    with pytest.raises(StudyError, match="needs a Cox model"):
        _study(sites, fit="exact-cox", model="logistic", outcome="binary", time="",
               event="", target="label")


@pytest.mark.parametrize("strategy", ["fedavg", "fedprox"])
def test_the_round_loop_on_flower_trains_a_cox_model_as_federated_run(sites, strategy):
    result = _study(sites, strategy=strategy, **{"local-epochs": 2})
    model = CoxPH()
    clients = [federated.Client(h.X_train, np.column_stack([h.time_train, h.y_train]),
                                name=h.name, model=model) for h in _hospitals(sites)]
    expected = federated.run(clients, strategy=strategy, rounds=3, local_epochs=2, l2=1e-3,
                             random_state=SEED)
    np.testing.assert_array_equal(result["params"], expected.params)
    pooled = result["rounds"][-1]["pooled"]
    assert pooled["n_sites"] == 3 and 0.5 < pooled["c_index"] < 1  # scored at each site


def test_the_round_loop_on_flower_trains_a_network_as_federated_run(sites):
    result = _study(sites, model="mlp", **{"model-options": json.dumps({"hidden": 4}),
                                           "outcome": "binary", "time": "", "event": "",
                                           "target": "label"})
    net = MLP(hidden=4)
    clients = [federated.Client.from_hospital(h, model=net)
               for h in _hospitals(sites, target="label")]
    expected = federated.run(clients, strategy="fedavg", rounds=3, l2=1e-3, random_state=SEED)
    assert len(expected.params) == net.n_params(2)
    np.testing.assert_array_equal(result["params"], expected.params)
    site = result["rounds"][-1]["sites"]["north"]
    assert 0.5 < site["auc"] <= 1 and site["n"] == 55  # the network, scored at the site


@pytest.mark.flower
def test_the_flower_command_fits_trains_federated_cox_as_real_processes(sites, tmp_path,
                                                                        capsys):
    from fedlab.__main__ import main

    common = ["--time", TIME, "--event", EVENT, "--horizon", "4"]
    for path in sites.values():
        common += ["--site", str(path)]
    assert main(["train", *common, "--json", str(tmp_path / "train.json")]) == 0
    assert main(["flower", *common, "--json", str(tmp_path / "flower.json")]) == 0
    printed = capsys.readouterr().out
    assert "federated Cox on Flower:" in printed and "Hazard ratio per unit" in printed
    train = json.loads((tmp_path / "train.json").read_text())
    flower = json.loads((tmp_path / "flower.json").read_text())
    assert flower["outcome"] == "survival" and flower["engine"] == "flower"
    mine, theirs = flower["methods"]["federated Cox"], train["methods"]["federated Cox"]
    for feature, value in theirs["coefficients"].items():
        assert mine["coefficients"][feature] == pytest.approx(value, abs=1e-6)
    for name, site in theirs["sites"].items():
        for key in ("n", "events", "c_index", "uno_c"):
            assert mine["sites"][name][key] == pytest.approx(site[key], rel=1e-9)
    assert mine["pooled"]["c_index"] == pytest.approx(theirs["pooled"]["c_index"], rel=1e-9)


def test_the_flower_command_refuses_secure_aggregation_of_cox_terms_before_any_process(
        sites, capsys):
    from fedlab.__main__ import main

    args = ["flower", "--time", TIME, "--event", EVENT, "--secure-aggregation"]
    for path in sites.values():
        args += ["--site", str(path)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "the exact federated Cox model sends each site's gradient and information" in err
