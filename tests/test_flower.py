"""The Flower path with real processes on localhost: same model as federated.run, faults.

One federation (a SuperLink and three SuperNodes) serves the whole module, and each study
proves as much as it can (every Flower message costs seconds: a fresh ClientApp process);
the test that stops SuperNodes comes last. A SIGKILLed node is noticed only after
Flower's ~60 s heartbeat: that case is documented (README, lesson 10), not waited for here.
"""

import os
import re
import socket

import numpy as np
import pytest

from fedlab import data, federated, metrics
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


def test_fedavg_without_one_site_equals_federated_run_and_every_site_evaluates_itself(
        federation, site_files):
    """FedAvg, leave-one-site-out: the model of federated.run, each site's own metrics."""
    rounds = []
    history = federation.run(strategy="fedavg", rounds=1, target=TARGET, random_state=SEED,
                             l2=1e-3, exclude_site="south", callback=rounds.append)
    clients, _ = _in_process_clients(site_files, names={"north", "east"})
    _, tests = _in_process_clients(site_files)
    expected = federated.run(clients, strategy="fedavg", rounds=1, l2=1e-3, random_state=SEED)
    np.testing.assert_allclose(history.params, expected.params, rtol=0, atol=1e-9)
    np.testing.assert_allclose(history.standardizer.mean, expected.standardizer.mean)
    assert [r.round for r in rounds] == [0, 1]  # as federated.run's callback: round 0 too
    assert history.final.participants == ["north", "east"]
    assert history.final.dropped == []
    assert history.config["engine"] == "flower"
    # bytes as federated.run counts them
    np.testing.assert_array_equal(history.bytes(), expected.bytes())
    # each site scored the model on its own patients, the one left out too (external)
    for name, test in tests.items():
        mine = evaluate_site(expected.params, test.X, test.y, standardizer=expected.standardizer)
        theirs = history.final.sites[name]
        assert theirs.keys() == mine.keys()
        for key in ("n", "events", "auc", "auc_ci", "oe", "oe_ci", "calibration_slope",
                    "brier", "accuracy_ci"):
            np.testing.assert_allclose(theirs[key], mine[key], rtol=0, atol=1e-9, err_msg=key)
    # the study pools the training sites' reports only, with fedlab.metrics
    pooled = metrics.pool_site_metrics({n: history.final.sites[n] for n in ("north", "east")})
    np.testing.assert_equal(history.final.pooled, pooled)
    assert pooled["n"] == tests["north"].n_records + tests["east"].n_records


def test_scaffold_with_client_sampling_keeps_client_state_in_the_context(
        federation, site_files):
    """Two rounds, two of three sites each: a site sampled twice carries its state."""
    strategy = federated.Scaffold(fraction_train=2 / 3)
    history = federation.run(strategy=strategy, rounds=2, target=TARGET, random_state=SEED,
                             evaluate="none")
    clients, _ = _in_process_clients(site_files)
    expected = federated.run(clients, strategy=federated.Scaffold(fraction_train=2 / 3),
                             rounds=2, random_state=SEED)
    assert [r.participants for r in history.rounds] == [r.participants for r in
                                                        expected.rounds]
    np.testing.assert_allclose(history.params, expected.params, rtol=0, atol=1e-9)


def test_secure_aggregation_gives_fedavg_to_within_the_quantization_error(
        federation, site_files):
    """Flower's SecAgg+ (2 rounds, 3 sites): the model of federated.run, only masked replies,
    and nothing of a site's own in what the server writes or logs.

    Bound: each site sends ``dq_k delta_k`` (``dq_k = n_k / B``, itself rounded to
    ``1 / T``; ``B``, the smallest power of two at least the total ``N`` of training
    records, since each site's own size is secret) stochastically rounded to a grid of
    step ``2c / T``; the workflow divides the sum by ``sum dq_k = N / B >= 1/2``. Per
    round and entry the mean is off by less than ``K (2c / T + c / T) / (N / B)`` (entry
    rounding, plus weight rounding times ``|delta_k - mean| <= 2c``); averaging local
    gradient steps (lr 0.1 on a convex, smooth loss) does not expand an error in the
    start point, so R rounds add up. The standardization is exact (float64 rounding).
    """
    history = federation.run(strategy="fedavg", rounds=2, target=TARGET, random_state=SEED,
                             evaluate="final", secure_aggregation=True)
    clients, _ = _in_process_clients(site_files)
    expected = federated.run(clients, strategy="fedavg", rounds=2, random_state=SEED)
    np.testing.assert_allclose(history.standardizer.mean, expected.standardizer.mean,
                               rtol=1e-12)
    np.testing.assert_allclose(history.standardizer.scale, expected.standardizer.scale,
                               rtol=1e-12)
    secure = history.config["secure_aggregation"]
    c, levels = secure["clipping_range"], secure["quantization_range"]
    total = sum(client.n_samples for client in clients)
    assert history.config["totals"]["n_train"] == total
    b = 2.0 ** np.ceil(np.log2(total))
    bound = 2 * len(clients) * 3 * c / levels / (total / b)
    assert bound < 1e-4
    np.testing.assert_allclose(history.params, expected.params, rtol=0, atol=bound)
    # the bound is tight enough to tell FedAvg's weights from a plain mean
    plain = federated.run(clients, strategy="fedavg", rounds=2, random_state=SEED,
                          weighted=False)
    assert np.max(np.abs(plain.params - expected.params)) > 100 * bound
    assert [r.participants for r in history.rounds[1:]] == [list(site_files)] * 2
    # what the ServerApp received: one masked vector per site for the setup's secure
    # sum and per round, no plain array
    assert secure["received"] == {"masked_vectors": 9, "plain_array_entries": 0}
    # no per-site count, mean or M2 in the result, the progress log or the SuperLink's log
    study = federation.workdir / f"study-{federation.runs}"
    written = [(study / "result.json").read_text(), (study / "progress.jsonl").read_text(),
               federation.log("superlink")]
    for name, site in history.config["sites"].items():
        assert set(site) == {"partition_id", "features"}, name
    numbers = [float(v) for text in written[:2]
               for v in re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)]
    for client in clients:
        sums = client.feature_sums()
        for value in [*sums.mean, *sums.m2]:
            assert not any(np.isclose(value, v, rtol=1e-9, atol=0) for v in numbers)
            assert not any(f"{value:.6g}" in text for text in written)
        assert f'"n_train": {client.n_samples}' not in written[0]
    assert history.config["totals"]["events_train"] == sum(
        int(data.read_site_csv(p, target=TARGET).y.sum()) for p in site_files.values()) - sum(
        int(t.y.sum()) for t in _in_process_clients(site_files)[1].values())
    # each site released its own metrics (all sites here hold >= 5 events and non-events)
    assert all(m["events"] >= 5 for m in history.final.sites.values())


def test_a_site_that_cannot_read_its_file_is_named(federation, site_files):
    path = site_files["east"]
    text = path.read_text()
    path.unlink()
    try:
        with pytest.raises(flower.StudyError, match="east.*csv-path"):
            federation.run(rounds=1, target=TARGET, round_timeout=60)
    finally:
        path.write_text(text)


def test_a_stopped_site_drops_out_and_too_few_sites_stop_the_study(federation):
    """East stops after round 1: the study goes on with two sites, as min_sites=2 allows.
    South stops after round 2: one site is left and the study stops with the rule."""
    seen = []

    def stop_sites(record):
        seen.append(record)
        if record.round in (1, 2):
            federation.stop_site({1: "east", 2: "south"}[record.round])

    with pytest.raises(flower.StudyError, match=r"'south' dropped out in round 3.*min_sites=2"):
        federation.run(rounds=3, target=TARGET, random_state=SEED, min_sites=2,
                       evaluate="none", callback=stop_sites)
    assert {r.round: r.dropped for r in seen} == {0: [], 1: [], 2: ["east"], 3: ["south"]}
    assert [r.participants for r in seen] == [[], ["north", "south", "east"],
                                              ["north", "south"], ["north"]]
    assert federation.running_sites == ["north"]


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



def test_a_site_whose_update_is_not_finite_is_refused_and_named_on_flower(tmp_path):
    """FedMedian on real processes: a site with a column at 1e300 (and no standardization)
    sends a non-finite update; the study refuses it, names it, and gives federated.run's
    model without it."""
    files = {name: _write_site(tmp_path / f"{name}.csv", n, k)
             for k, (name, n) in enumerate([("north", 120), ("south", 80), ("east", 100)])}
    for path in files.values():  # no missing values: this study does not standardize
        path.write_text(path.read_text().replace(",,", ",50.00,"))
    rows = files["south"].read_text().splitlines()
    huge = [rows[0]] + [f"{r.split(',')[0]},1e300,{r.split(',')[2]}" for r in rows[1:]]
    files["south"].write_text("\n".join(huge) + "\n")
    with flower.Federation(files) as fed:
        history = fed.run(strategy="fedmedian", rounds=2, target=TARGET, random_state=SEED,
                          standardize=False, evaluate="none")
    clients, _ = _in_process_clients(files)
    expected = federated.run(clients, strategy="fedmedian", rounds=2, standardize=False,
                             random_state=SEED)
    np.testing.assert_array_equal(history.params, expected.params)
    for record, mine in zip(history.rounds[1:], expected.rounds[1:]):
        assert list(record.refused) == list(mine.refused) == ["south"]
        assert record.refused["south"].startswith("non-finite update")
        assert record.participants == ["north", "east"]
