"""Lesson 04's dashboard: every control re-runs and redraws; the numbers are the package's."""

import numpy as np

from fedlab.drift import STRATEGY_SETTINGS
from fedlab.metrics import site_metrics
from fedlab.models import logistic
from fedlab.widgets.heterogeneity import STRENGTHS, HeterogeneityDashboard


def test_every_control_redraws_and_reports():
    d = HeterogeneityDashboard(random_state=0)
    first = bytes(d.image.value)
    assert first.startswith(b"\x89PNG")
    for control, value in ((d.algorithm, "scaffold"), (d.local_epochs, 3),
                           (d.strength, STRENGTHS[-1])):
        before = bytes(d.image.value)
        control.value = value
        assert bytes(d.image.value) != before
        assert "scaffold" in d.status.value
    assert d.history.config["local_epochs"] == 3
    assert len(d.history.rounds) == d.settings["rounds"] + 1


def test_the_bars_are_the_final_models_site_metrics():
    d = HeterogeneityDashboard(random_state=0)
    _, _, tests, _ = d.federation(d.strength.value)
    name, (X, y) = next(iter(tests.items()))
    expected = site_metrics(y, logistic.predict_proba(d.history.params, X))
    assert np.isclose(d._lines["auc"].get_xdata()[0], expected["auc"])


def test_stronger_heterogeneity_moves_the_sites_apart():
    d = HeterogeneityDashboard(random_state=0)
    prevalence = {s: [np.mean(te[1]) for te in d.federation(s)[2].values()] for s in (0.0, 2.0)}
    assert np.ptp(prevalence[2.0]) > np.ptp(prevalence[0.0])


def test_every_algorithm_runs():
    d = HeterogeneityDashboard(random_state=0)
    for name in STRATEGY_SETTINGS:
        d.algorithm.value = name
        assert np.isfinite(d.history.metric("loss")).all()


def test_the_title_states_the_finding_and_never_none():
    d = HeterogeneityDashboard(random_state=0)
    for epochs in (1, 10):
        d.local_epochs.value = epochs
        title = d._title.get_text()
        assert "None" not in title and "None" not in d.status.value
        assert "pooled optimum" in title and "worst site AUC" in title
        caught = d.history.metric("loss") <= d.federation(d.strength.value)[3] + 0.01
        assert ("from round" in title) == bool(caught[-1])


def test_the_figure_is_large_enough_and_the_o_e_axis_has_only_its_five_labels():
    d = HeterogeneityDashboard(random_state=0)
    width, height = d.fig.get_size_inches() * d.fig.dpi
    assert width >= 1000 and height >= 380
    oe_ax = d.axes[2]
    assert [t.get_text() for t in oe_ax.get_xticklabels()] == ["1/4", "1/2", "1", "2", "4"]
    assert not oe_ax.get_xticklabels(minor=True)
