"""The secure aggregation figures (fedlab.plots.secagg) draw what they say, with labelled axes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from fedlab.plots.secagg import (
    masked_vs_raw,
    noise_under_dropouts,
    protocol_cost_curves,
)
from fedlab.secagg import encode, protocol_cost, secure_sum


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labelled(ax):
    return ax.get_xlabel() and ax.get_ylabel()


def test_masked_vs_raw_shows_a_spike_and_a_flat_histogram():
    x = np.random.default_rng(0).normal(0, 0.01, size=(3, 5000))
    view = secure_sum(x, threshold=2, random_state=0).server_view

    raw_ax, masked_ax = masked_vs_raw(encode(x[0], clip_range=1.0, bits=32, n_clients=3),
                                      view.masked_inputs[0], bits=32)

    raw = np.array([p.get_height() for p in raw_ax.patches])
    masked = np.array([p.get_height() for p in masked_ax.patches])
    assert raw.max() > 40 and masked.max() < 3  # % of entries per bin, 64 bins
    assert raw.sum() == pytest.approx(100) and masked.sum() == pytest.approx(100)
    assert _labelled(raw_ax) and masked_ax.get_xlabel()
    assert "indistinguishable" in raw_ax.figure.texts[0].get_text()


def test_cost_curves_plot_bytes_and_seconds_against_clients():
    cost = protocol_cost((3, 4, 6), dim=8, random_state=0)

    left, right = protocol_cost_curves(cost)

    np.testing.assert_allclose(left.lines[0].get_ydata(), cost["bytes_up"] / 1e3)
    np.testing.assert_allclose(right.lines[0].get_ydata(), cost["seconds"])
    assert _labelled(left) and _labelled(right)
    assert "linearly" in left.get_title() and "quadratically" in right.get_title()


def test_noise_under_dropouts_keeps_the_threshold_line_above_the_target():
    ax = noise_under_dropouts(10, 7, noise_std=2.0)

    everyone, for_threshold = (line.get_ydata() for line in ax.lines[:2])
    assert everyone[0] == pytest.approx(2.0) and (np.diff(everyone) < 0).all()
    assert for_threshold[-1] == pytest.approx(2.0) and (for_threshold >= 2.0 - 1e-12).all()
    assert _labelled(ax) and ax.get_title()
