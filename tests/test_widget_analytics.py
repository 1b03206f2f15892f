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


def test_the_extra_inertia_is_split_into_clipping_and_noise(dashboard):
    dashboard.k.value, dashboard.n_sites.value, dashboard.noise_multiplier.value = 4, 5, 0.0
    assert np.isnan(dashboard.excess["clipped"]) and abs(dashboard.excess["exact"]) < 2
    assert "no noise" in dashboard.titles[1].get_text()
    dashboard.noise_multiplier.value = 0.25
    # tiny noise: what remains of the extra inertia is the clipping and the 10-round cap
    clipped, shown = dashboard.excess["clipped"], dashboard.excess["federated"]
    assert clipped > 1 and abs(shown - clipped) < 0.5
    assert f"{clipped:+.1f} %" in dashboard.titles[1].get_text()


def test_noise_cost_spreads_with_the_number_of_sites_and_needs_noise(dashboard):
    dashboard.k.value, dashboard.noise_multiplier.value = 4, 3.0
    dashboard.n_sites.value = 1
    few = dashboard.noise_cost(draws=4)
    dashboard.n_sites.value = 50
    many = dashboard.noise_cost(draws=4)
    assert many["noise_sd"] == pytest.approx(few["noise_sd"] * np.sqrt(50))
    assert np.ptp(many["noisy"]) > np.ptp(few["noisy"])
    assert len(few["noisy"]) == 4 and np.isfinite(few["clipped"])
    dashboard.noise_multiplier.value = 0.0
    with pytest.raises(ValueError, match="noise_multiplier"):
        dashboard.noise_cost()
