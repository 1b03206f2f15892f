"""The robust-aggregation dashboard of lesson 08: it builds, every control reruns and redraws."""

import numpy as np
import pytest

from fedlab import data, federated
from fedlab.attacks import MaliciousClient, malicious
from fedlab.federated import Client, FedMedian
from fedlab.widgets.robustness import (
    ATTACK_SETTINGS,
    DEFENCES,
    RobustnessDashboard,
    make_clients,
)


@pytest.fixture(scope="module")
def dashboard():
    return RobustnessDashboard(rounds=8)


def test_the_dashboard_starts_with_a_drawn_run(dashboard):
    assert dashboard.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(dashboard.history.rounds) == 9
    assert "pooled AUC" in dashboard.status.value


@pytest.mark.parametrize(("control", "value"), [
    ("attack", "label flip"), ("defence", "median"), ("n_malicious", 2),
    ("population", "50 clients"), ("n_malicious", 20), ("defence", "Krum"),
    ("attack", "a little is enough"), ("attack", "backdoor (smokers)"),
    ("population", "5 hospitals"),
])
def test_every_control_reruns_and_redraws(dashboard, control, value):
    before = dashboard.image.value
    getattr(dashboard, control).value = value
    assert dashboard.image.value != before
    assert np.isfinite(dashboard.last_seconds)
    n = 50 if dashboard.population.value == "50 clients" else 5
    assert dashboard.n_malicious.max == n - 1
    assert len(dashboard.history.config) and dashboard.history.config["n_clients"] == n


def test_per_site_aucs_carry_delong_intervals_and_the_verdict_is_paired(dashboard):
    from fedlab.metrics import auc_interval
    dashboard.population.value = "5 hospitals"
    dashboard.n_malicious.value = 1
    dashboard.attack.value = "sign flip x10"
    dashboard.defence.value = "FedAvg (no defence)"
    predictions = dashboard.evaluator.predictions(dashboard.history.params,
                                                  dashboard.history.standardizer)
    segments = dashboard.intervals.get_segments()
    assert len(segments) == len(dashboard.sites)
    for segment, site in zip(segments, dashboard.sites):
        _, _, (low, high) = auc_interval(*predictions[site])
        np.testing.assert_allclose(segment[:, 0], [low, high])
    assert "paired DeLong" in dashboard.status.value
    assert "breaks" in dashboard.title.get_text()  # -10 x one update: FedAvg fails
    dashboard.n_malicious.value = 0
    assert "holds" in dashboard.title.get_text()  # clean FedAvg against itself


def test_too_many_attackers_for_the_rule_is_said(dashboard):
    dashboard.population.value = "5 hospitals"
    dashboard.defence.value = "trimmed mean 20 %"
    dashboard.n_malicious.value = 3
    assert "exceed the 1 this rule" in dashboard.status.value


def test_every_attack_and_defence_runs_in_both_populations(dashboard):
    for attack in ATTACK_SETTINGS:
        for defence in DEFENCES:
            h = dashboard.run("50 clients", 10, attack, defence)
            assert np.isfinite(h.final.pooled["auc"])


def test_a_dashboard_run_is_federated_run_with_the_same_clients(dashboard):
    hospitals = data.load_hospitals()
    clients = [Client.from_hospital(h) for h in hospitals]
    clients[2] = malicious(clients[2], "sign_flip", scale=10.0)
    expected = federated.run(clients, strategy=FedMedian(), rounds=8, l2=1e-3,
                             random_state=federated.method_seed(0, "median"))
    got = dashboard.run("5 hospitals", 1, "sign flip x10", "median")
    np.testing.assert_allclose(got.params, expected.params, atol=1e-12)


def test_make_clients_splits_each_hospital_in_ten():
    hospitals = data.load_hospitals()
    clients = make_clients(hospitals, "50 clients", 7, "gaussian", {"std": 1.0})
    assert len(clients) == 50
    assert sum(isinstance(c, MaliciousClient) for c in clients) == 7
    assert sum(c.n_samples for c in clients) == sum(h.n_train for h in hospitals)


def test_the_backdoor_is_judged_on_the_smokers_not_on_the_pooled_auc(dashboard):
    dashboard.population.value = "5 hospitals"
    dashboard.n_malicious.value = 1
    dashboard.defence.value = "FedAvg (no defence)"
    dashboard.attack.value = "backdoor (smokers)"
    # the pooled AUC barely moves, the smokers' risk does: FedAvg does not "hold"
    assert "lets the backdoor through" in dashboard.title.get_text()
    assert "smokers' mean predicted risk minus clean FedAvg's" in dashboard.status.value
    shift, low, high = dashboard._smokers_shift(dashboard.clean("5 hospitals"))
    assert high < 0
    smoker = list(dashboard.hospitals[0].feature_names).index("smoker")
    smokers = np.concatenate([h.X_test[:, smoker] == 1 for h in dashboard.hospitals])
    risk = {name: np.concatenate([p for _, p in dashboard.evaluator.predictions(
        run.params, run.standardizer).values()])[smokers]
        for name, run in (("this", dashboard.history), ("clean", dashboard.clean("5 hospitals")))}
    np.testing.assert_allclose(shift, (risk["this"] - risk["clean"]).mean())


def test_the_legends_sit_outside_both_panels(dashboard):
    renderer = dashboard.canvas.get_renderer()
    for ax in (dashboard.ax_curve, dashboard.ax_sites):
        legend = ax.get_legend().get_window_extent(renderer)
        assert not legend.overlaps(ax.get_window_extent(renderer))


def test_one_attacker_too_many_is_said_in_the_singular(dashboard):
    dashboard.population.value = "5 hospitals"
    dashboard.attack.value = "sign flip x10"
    dashboard.defence.value = "FedAvg (no defence)"
    dashboard.n_malicious.value = 1
    assert "1 attacker exceeds the 0 this rule" in dashboard.status.value
