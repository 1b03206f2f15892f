"""The FedAvg dashboard of lesson 03: built once, every control re-runs FedAvg and redraws."""

import base64

import ipywidgets as W
import numpy as np
import pytest

from fedlab import data
from fedlab.widgets import FedAvgDashboard, fedavg_dashboard
from fedlab.widgets.fedavg import PARTITIONS


@pytest.fixture(scope="module")
def hospitals():
    return data.load_hospitals()


@pytest.fixture()
def dashboard(hospitals):
    return FedAvgDashboard(hospitals, random_state=0)


def _png(dashboard):
    (output,) = dashboard.output.outputs
    return output["data"]["image/png"]


def test_it_builds_with_the_documented_controls(dashboard, hospitals):
    assert isinstance(dashboard.widget, W.VBox)
    assert isinstance(dashboard.partition, W.Dropdown)
    assert dashboard.partition.options[0] == "the five hospitals"
    sliders = [c for c in dashboard.widget.children if isinstance(c, W.IntSlider)]
    assert sliders[0] is dashboard.n_clients
    assert (dashboard.n_clients.min, dashboard.n_clients.max) == (1, 50)
    for name in ("partition", "n_clients", "local_epochs", "rounds", "client_fraction",
                 "aggregate"):
        assert getattr(dashboard, name) in dashboard.widget.children
    history = dashboard.history
    assert len(history.rounds) == dashboard.rounds.value + 1
    assert 0.7 < history.final.pooled["auc"] < 0.85
    assert base64.b64decode(_png(dashboard)).startswith(b"\x89PNG")
    assert "final test AUC" in dashboard.status.value
    assert dashboard.last_seconds > 0


@pytest.mark.parametrize("name, value", [
    ("partition", "IID (records shuffled evenly)"),
    ("local_epochs", 3),
    ("rounds", 7),
    ("client_fraction", 0.6),
    ("aggregate", "mean"),
    ("learning_rate", 0.1),
])
def test_each_control_reruns_and_redraws(dashboard, name, value):
    before = (dashboard.history, _png(dashboard), dashboard.status.value)
    getattr(dashboard, name).value = value
    history, png, status = dashboard.history, _png(dashboard), dashboard.status.value
    assert history is not before[0]
    assert not np.array_equal(history.metric("loss"), before[0].metric("loss"))
    assert png != before[1]
    assert status != before[2]
    assert dashboard.progress.value == dashboard.rounds.value


def test_rounds_and_settings_reach_the_run(dashboard):
    dashboard.rounds.value = 4
    dashboard.local_epochs.value = 2
    dashboard.client_fraction.value = 0.4
    config = dashboard.history.config
    assert len(dashboard.history.rounds) == 5
    assert config["local_epochs"] == 2 and "fraction_train=0.4" in config["strategy"]
    assert len(dashboard.history.final.participants) == 2  # 40 % of 5 hospitals


def test_the_client_slider_re_splits_the_records(dashboard, hospitals):
    total = sum(h.n_train for h in hospitals)
    dashboard.partition.value = "IID (records shuffled evenly)"
    assert not dashboard.n_clients.disabled
    for n in (7, 1, 50):
        dashboard.n_clients.value = n
        clients = dashboard.clients()
        assert len(clients) == n
        assert sum(c.n_samples for c in clients) == total
        assert dashboard.history.config["n_clients"] == n
        assert len(dashboard.history.final.participants) == n
        assert f"{n} clients" in dashboard.status.value


@pytest.mark.parametrize("label", [label for label, scheme in PARTITIONS.items() if scheme])
def test_every_split_works_from_one_to_fifty_clients(dashboard, hospitals, label):
    dashboard.partition.value = label
    for n in (1, 50):
        dashboard.n_clients.value = n
        assert len(dashboard.clients()) == n
        assert sum(c.n_samples for c in dashboard.clients()) == sum(h.n_train for h in hospitals)
        assert np.isfinite(dashboard.history.final.pooled["loss"])


def test_five_hospitals_mode_uses_the_hospitals(dashboard, hospitals):
    dashboard.partition.value = "IID (records shuffled evenly)"
    dashboard.n_clients.value = 12
    dashboard.partition.value = "the five hospitals"
    clients = dashboard.clients()
    assert [c.name for c in clients] == [h.name for h in hospitals]
    assert [c.n_samples for c in clients] == [h.n_train for h in hospitals]
    assert dashboard.history.final.participants == [h.name for h in hospitals]
    assert dashboard.n_clients.disabled and dashboard.n_clients.value == len(hospitals)
    assert "the 5 hospitals" in dashboard.status.value


def test_the_previous_run_stays_on_the_plot(dashboard):
    first = dashboard.history
    dashboard.local_epochs.value = 2
    previous = dashboard._figure.lines["loss", "previous"].get_ydata()
    np.testing.assert_allclose(previous, first.metric("loss"))


def test_instructor_mode_is_full_width(hospitals):
    wide = FedAvgDashboard(hospitals, instructor=True)
    narrow = FedAvgDashboard(hospitals)
    assert wide.widget.layout.width == "100%"
    for name in ("partition", "n_clients", "local_epochs", "rounds", "client_fraction"):
        assert getattr(wide, name).layout.width == "100%"
        assert getattr(narrow, name).layout.width != "100%"
    width = wide._figure.fig.get_size_inches()[0]
    assert width > narrow._figure.fig.get_size_inches()[0]


def test_fedavg_dashboard_shows_and_returns_it(hospitals, capsys):
    dashboard = fedavg_dashboard(hospitals, random_state=3)
    assert isinstance(dashboard, FedAvgDashboard) and dashboard.random_state == 3
    assert "VBox" in capsys.readouterr().out  # shown (as text outside a notebook)


def test_same_seed_same_curves(hospitals):
    a = FedAvgDashboard(hospitals, random_state=1).history.metric("loss")
    b = FedAvgDashboard(hospitals, random_state=1).history.metric("loss")
    np.testing.assert_array_equal(a, b)


def test_a_learning_rate_outside_the_slider_is_refused(hospitals):
    with pytest.raises(ValueError, match="lr must be one of"):
        FedAvgDashboard(hospitals, lr=0.05)


def test_a_slow_setting_grows_on_screen(dashboard, monkeypatch):
    from fedlab.widgets import fedavg

    monkeypatch.setattr(fedavg, "GROW_EVERY", 0.0)  # every round counts as slow
    shown = []
    original = dashboard._show
    monkeypatch.setattr(dashboard, "_show", lambda png: (shown.append(png), original(png)))
    dashboard.rounds.value = 6
    assert dashboard.last_timings["frames"] == len(shown) == 6  # 5 growing + the final one
    assert len(set(shown)) == len(shown)  # each frame shows more of the curve
