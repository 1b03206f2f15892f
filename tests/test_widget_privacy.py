"""The DP-FedAvg dashboard of lesson 06: it builds, every control redraws, its maths is run()'s."""

import numpy as np
import pytest

from fedlab import data, federated
from fedlab.federated import Client
from fedlab.privacy import DPFedAvg
from fedlab.widgets.privacy import DPFedAvgDashboard, simulate_dp_fedavg


@pytest.fixture(scope="module")
def dashboard():
    return DPFedAvgDashboard()


def test_the_dashboard_starts_with_a_drawn_run(dashboard):
    assert dashboard.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(dashboard.auc) == dashboard.rounds.value + 1
    assert dashboard.epsilons[0] == 0 and np.all(np.diff(dashboard.epsilons) > 0)
    assert "spent" in dashboard.status.value


@pytest.mark.parametrize(("control", "value"), [
    ("noise_multiplier", 2.5), ("noise_multiplier", 0.0), ("clip_norm", 0.1),
    ("n_clients", 5), ("n_clients", 1000), ("sample_rate", 1.0), ("rounds", 7),
])
def test_every_control_reruns_and_redraws(dashboard, control, value):
    before = dashboard.image.value
    getattr(dashboard, control).value = value

    assert dashboard.image.value != before
    assert len(dashboard.auc) == dashboard.rounds.value + 1
    assert np.isfinite(dashboard.last_seconds)
    if control == "noise_multiplier" and value == 0:
        assert np.isinf(dashboard.epsilons[-1]) and "no noise" in dashboard.status.value


def test_more_noise_spends_less_privacy(dashboard):
    dashboard.noise_multiplier.value = 1.0
    low_noise = dashboard.epsilons[-1]
    dashboard.noise_multiplier.value = 3.0
    assert dashboard.epsilons[-1] < low_noise


def test_the_fast_path_gives_the_models_of_federated_run():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(float)
    parts = data.partition_iid(300, 30, random_state=0)
    settings = dict(noise_multiplier=0.8, clip_norm=0.3, sample_rate=0.2, n_params=4)

    theta, auc, eps = simulate_dp_fedavg(X, y, parts, DPFedAvg(**settings), rounds=8, lr=0.5,
                                         test=(X, y), random_state=5)
    history = federated.run([Client(X[p], y[p], name=str(k)) for k, p in enumerate(parts)],
                            rounds=8, aggregate=DPFedAvg(**settings), batch_size=None, lr=0.5,
                            standardize=False, test_sets={"all": (X, y)}, random_state=5)

    np.testing.assert_allclose(theta, history.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(auc, history.metric("auc"), rtol=1e-9)
    np.testing.assert_allclose(eps[1:], history.epsilons[1:], rtol=1e-12)
