"""The federated k-means dashboard of lesson 09: it builds, every control redraws."""

import numpy as np
import pytest

from fedlab.widgets.analytics import SITE_COUNTS, KMeansDashboard


@pytest.fixture(scope="module")
def dashboard():
    return KMeansDashboard()


def test_the_dashboard_starts_with_a_drawn_noise_free_run(dashboard):
    assert dashboard.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert dashboard.model.cluster_centers_.shape == (dashboard.k.value, 7)
    assert dashboard.model.epsilon_ == np.inf and "no noise" in dashboard.status.value
    # without noise, federated k-means lands where pooled k-means does (or close to it)
    assert dashboard.inertia <= 1.02 * dashboard.pooled_inertia


@pytest.mark.parametrize(("control", "value"), [
    ("k", 2), ("k", 8), ("n_sites", SITE_COUNTS[0]), ("n_sites", SITE_COUNTS[-1]),
    ("noise_multiplier", 3.0), ("noise_multiplier", 0.5),
])
def test_every_control_reruns_and_redraws(dashboard, control, value):
    before = dashboard.image.value
    getattr(dashboard, control).value = value
    assert dashboard.image.value != before
    assert dashboard.model.cluster_centers_.shape[0] == dashboard.k.value
    assert np.isfinite(dashboard.last_seconds) and np.isfinite(dashboard.inertia)


def test_noise_costs_inertia_and_is_paid_in_epsilon(dashboard):
    dashboard.noise_multiplier.value = 0.0
    dashboard.k.value, dashboard.n_sites.value = 4, 5
    exact = dashboard.inertia
    dashboard.noise_multiplier.value = 1.0
    noisy, eps_low_noise = dashboard.inertia, dashboard.model.epsilon_
    assert noisy > exact and np.isfinite(eps_low_noise)
    assert "\u03b5 = <b>" in dashboard.status.value
    dashboard.noise_multiplier.value = 3.0
    assert dashboard.model.epsilon_ < eps_low_noise
