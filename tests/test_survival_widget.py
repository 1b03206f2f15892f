"""Lesson 11's dashboard: it builds, every control refits and redraws, methods are what they say."""

import numpy as np
import pytest

from fedlab import federated
from fedlab.models import CoxPH
from fedlab.widgets.survival import FULL, LOCAL_STEPS, METHODS, ROUNDS, SurvivalDashboard


@pytest.fixture(scope="module")
def dashboard():
    return SurvivalDashboard()


def test_the_dashboard_starts_drawn_with_every_site_followed_as_recorded(dashboard):
    assert dashboard.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(dashboard.follow_up.values()) == {FULL}
    assert "follow-up ended early: none" in dashboard.status.value
    assert dashboard.estimate.shape == dashboard.exact.shape == (11,)


@pytest.mark.parametrize(("control", "value"), [
    ("end", 2.0), ("end", 9.5), ("n_sites", 1), ("n_sites", 5), ("method", METHODS[0]),
    ("method", METHODS[1]), ("method", METHODS[3]), ("method", METHODS[2]),
])
def test_every_control_refits_and_redraws(dashboard, control, value):
    if getattr(dashboard, control).value == value:
        getattr(dashboard, control).value = {"end": FULL, "n_sites": 3}.get(
            control, METHODS[(METHODS.index(value) + 1) % len(METHODS)])
    before = dashboard.image.value
    getattr(dashboard, control).value = value
    assert dashboard.image.value != before
    assert np.all(np.isfinite(dashboard.estimate)) and np.isfinite(dashboard.last_seconds)


def test_ending_a_sites_follow_up_early_censors_its_patients_there(dashboard):
    dashboard.n_sites.value = 5
    dashboard.site.value = dashboard.names[0]
    dashboard.end.value = FULL
    events = sum(int(e.sum()) for _, _, e in dashboard._sites())
    dashboard.end.value = 4.0
    cut = dashboard._sites()[0]
    assert cut[1].max() <= 4.0
    assert sum(int(e.sum()) for _, _, e in dashboard._sites()) < events
    assert "Metro at 4 y" in dashboard.status.value
    dashboard.site.value = dashboard.names[1]  # choosing a site shows its own end, no refit
    assert dashboard.end.value == dashboard.follow_up[dashboard.names[1]]
    assert dashboard.follow_up[dashboard.names[0]] == 4.0
    dashboard.site.value = dashboard.names[0]
    dashboard.end.value = FULL


def test_the_methods_are_the_exact_fit_and_the_round_loops_fedavg(dashboard):
    dashboard.n_sites.value = 5
    dashboard.method.value = METHODS[0]
    np.testing.assert_array_equal(dashboard.estimate, dashboard.exact)
    dashboard.method.value = METHODS[2]
    clients = [federated.Client(X, np.column_stack([t, e]), name=str(k), model=CoxPH())
               for k, (X, t, e) in enumerate(dashboard._sites())]
    run = federated.run(clients, strategy="fedavg", rounds=ROUNDS, local_epochs=LOCAL_STEPS,
                        lr=1.0, standardize=False, random_state=0)
    np.testing.assert_allclose(dashboard.estimate, run.params, atol=1e-12)
    assert np.max(np.abs(dashboard.estimate - dashboard.exact) / dashboard.se) > 0.05
