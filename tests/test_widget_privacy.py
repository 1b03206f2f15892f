"""The DP-FedAvg dashboard of lesson 06: it builds, every control redraws, its maths is run()'s."""

import numpy as np
import pytest

from fedlab import federated
from fedlab.widgets.privacy import DPFedAvgDashboard


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


def test_the_dashboard_shows_federated_run_s_numbers(dashboard):
    dashboard.n_clients.value, dashboard.rounds.value = 50, 6
    history = federated.run(dashboard._clients(50), strategy=dashboard.strategy(), rounds=6,
                            batch_size=None, lr=dashboard.lr, standardize=False,
                            test_sets=dashboard._referee,
                            random_state=federated.method_seed(dashboard.random_state, "dpfedavg"))
    np.testing.assert_array_equal(dashboard.auc, history.metric("auc"))
    np.testing.assert_array_equal(dashboard.epsilons[1:], history.epsilons[1:])
