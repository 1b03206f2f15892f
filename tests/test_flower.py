"""The Flower path with real processes on localhost: same model as federated.run, faults.

One federation (a SuperLink and three SuperNodes) serves the whole module; the tests
that stop a SuperNode come last. A SIGKILLed node is noticed only after Flower's ~60 s
heartbeat: that case is documented (README, lesson 10), not waited for here.
"""

import os
import socket

import numpy as np
import pytest

from fedlab import data, federated
from fedlab.evaluation import evaluate_site

flower = pytest.importorskip("fedlab.flower")
pytest.importorskip("flwr")
pytestmark = pytest.mark.flower

SEED = 7
TARGET = "outcome"


def _write_site(path, n, seed):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(50, 10, size=n)
    x2[rng.random(n) < 0.05] = np.nan  # a few missing values: federated imputation
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * (x1 + (np.nan_to_num(x2, nan=50) - 50) / 10))))
    rows = [f"{a:.3f},{'' if np.isnan(b) else f'{b:.2f}'},{int(c)}" for a, b, c in
            zip(x1, x2, y)]
    path.write_text("marker,age,outcome\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def site_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sites")
    return {name: _write_site(folder / f"{name}.csv", n, k) for k, (name, n) in
            enumerate([("north", 240), ("south", 90), ("east", 150)])}


@pytest.fixture(scope="module")
def federation(site_files):
    with flower.Federation(site_files) as fed:
        yield fed
    _assert_all_stopped(fed)


def _in_process_clients(site_files, names=None):
    clients, tests = [], {}
    for name, path in site_files.items():
        if names is not None and name not in names:
            continue
        site = data.read_site_csv(path, target=TARGET)
        train, test = data.train_test_split_site(site, test_size=0.25, random_state=SEED)
        clients.append(federated.Client(train.X, train.y, name=name))
        tests[name] = test
    return clients, tests


def _assert_all_stopped(fed):
    assert fed.processes == {}
    for pid in fed._started_pids:
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)  # no process of the group is left


def test_fedavg_on_flower_equals_federated_run_and_sites_evaluate_themselves(
        federation, site_files):
    rounds = []
    history = federation.run(strategy="fedavg", rounds=2, target=TARGET, random_state=SEED,
                             l2=1e-3, callback=rounds.append)
    clients, tests = _in_process_clients(site_files)
    expected = federated.run(clients, strategy="fedavg", rounds=2, l2=1e-3, random_state=SEED)
    np.testing.assert_allclose(history.params, expected.params, rtol=0, atol=1e-9)
    np.testing.assert_allclose(history.standardizer.mean, expected.standardizer.mean)
    assert [r.round for r in rounds] == [1, 2]
    assert history.final.participants == ["north", "south", "east"]
    assert history.final.dropped == []
    assert history.config["engine"] == "flower"
    for name, test in tests.items():  # each site scored the model on its own patients
        mine = evaluate_site(expected.params, test.X, test.y, standardizer=expected.standardizer)
        np.testing.assert_allclose(history.final.sites[name]["auc"], mine["auc"], atol=1e-9)
        np.testing.assert_allclose(history.final.sites[name]["oe"], mine["oe"], atol=1e-9)
    assert history.final.pooled["n"] == sum(t.n_records for t in tests.values())
    # bytes as federated.run counts them
    np.testing.assert_array_equal(history.bytes(), expected.bytes())


def test_scaffold_with_client_sampling_keeps_client_state_in_the_context(
        federation, site_files):
    strategy = federated.Scaffold(fraction_train=2 / 3)
    history = federation.run(strategy=strategy, rounds=2, target=TARGET, random_state=SEED,
                             evaluate="none")
    clients, _ = _in_process_clients(site_files)
    expected = federated.run(clients, strategy=federated.Scaffold(fraction_train=2 / 3),
                             rounds=2, random_state=SEED)
    assert [r.participants for r in history.rounds] == [r.participants for r in
                                                        expected.rounds]
    np.testing.assert_allclose(history.params, expected.params, rtol=0, atol=1e-9)


def test_leave_one_site_out_trains_without_the_site_and_scores_it(federation, site_files):
    history = federation.run(rounds=1, target=TARGET, random_state=SEED,
                             exclude_site="south")
    clients, tests = _in_process_clients(site_files, names={"north", "east"})
    expected = federated.run(clients, rounds=1, random_state=SEED)
    np.testing.assert_allclose(history.params, expected.params, rtol=0, atol=1e-9)
    assert "south" not in history.final.participants
    external = evaluate_site(expected.params, *_xy(site_files, "south"),
                             standardizer=expected.standardizer)
    np.testing.assert_allclose(history.final.sites["south"]["auc"], external["auc"], atol=1e-9)
    assert history.final.pooled["n"] == sum(tests[n].n_records for n in ("north", "east"))


def _xy(site_files, name):
    site = data.read_site_csv(site_files[name], target=TARGET)
    _, test = data.train_test_split_site(site, test_size=0.25, random_state=SEED)
    return test.X, test.y


def test_a_site_that_cannot_read_its_file_is_named(federation, site_files):
    path = site_files["east"]
    text = path.read_text()
    path.unlink()
    try:
        with pytest.raises(flower.StudyError, match="east.*csv-path"):
            federation.run(rounds=1, target=TARGET, round_timeout=60)
    finally:
        path.write_text(text)


def test_a_stopped_site_drops_out_and_the_study_goes_on(federation):
    def stop_east(record):
        if record.round == 1:
            federation.stop_site("east")

    history = federation.run(rounds=2, target=TARGET, random_state=SEED, min_sites=2,
                             evaluate="none", callback=stop_east)
    dropped = {r.round: r.dropped for r in history.rounds if r.dropped}
    assert dropped == {2: ["east"]}
    assert history.final.participants == ["north", "south"]


def test_too_few_sites_stop_the_study_with_the_rule(federation):
    def stop_south(record):
        if record.round == 1:
            federation.stop_site("south")

    with pytest.raises(flower.StudyError, match=r"'south'.*round 2.*min_sites=2"):
        federation.run(rounds=2, target=TARGET, min_sites=2, evaluate="none",
                       callback=stop_south)


def test_a_port_in_use_is_named_and_nothing_starts(site_files):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(flower.StudyError, match=f"port {port}"):
            flower.Federation(site_files, port=port)


def test_a_superlink_that_is_never_ready_stops_everything(site_files):
    fed = flower.Federation(site_files, ready_timeout=0.2)
    with pytest.raises(flower.StudyError, match="not ready within ready_timeout"):
        with fed:
            pass
    _assert_all_stopped(fed)


def test_missing_flower_says_to_install_the_extra(monkeypatch):
    import importlib.util

    from fedlab.flower import federation

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "flwr" else real(name, *a))
    with pytest.raises(flower.FlowerNotInstalled, match=r"pip install -e \"\.\[flower\]\""):
        federation.require_flwr()

