"""Lesson 11's figures: survival curves with bands, the gap to the exact Cox fit."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from fedlab._validation import InvalidParameterError
from fedlab.plots.survival import objective_gap, survival_curves
from fedlab.survival import federated_kaplan_meier


def test_a_kaplan_meier_curve_is_drawn_as_a_step_from_one_with_its_band():
    rng = np.random.default_rng(0)
    km = federated_kaplan_meier([(rng.exponential(5, 200), rng.random(200) < 0.7)], None,
                                min_cell=None)
    ax = survival_curves({"pooled": km})
    [line] = ax.lines
    x, y = line.get_data()
    assert x[0] == 0 and y[0] == 1 and np.all(np.diff(y) <= 0)
    np.testing.assert_allclose(y[1:], km.survival)
    assert len(ax.collections) == 1  # the band
    plt.close("all")


def test_the_gap_plot_states_each_methods_last_gap_and_floors_zeros_on_its_log_axis():
    ax = objective_gap({"Newton": [10.0, 0.5, 0.0], "FedAvg": [10.0, 3.0, 2.5]})
    title = " ".join(ax.get_title().split())
    assert "Newton 0 after 2" in title and "FedAvg 2.5 after 2" in title
    newton = ax.lines[0].get_ydata()
    assert newton[-1] > 0 and ax.get_yscale() == "log"
    plt.close("all")


def test_empty_inputs_are_refused():
    with pytest.raises(InvalidParameterError, match="curves must be"):
        survival_curves({})
    with pytest.raises(InvalidParameterError, match="gaps must be"):
        objective_gap([])
