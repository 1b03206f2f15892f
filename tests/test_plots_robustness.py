"""Lesson 08's figures: they draw what they are given, label their axes, state a finding."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from fedlab.metrics import auc_difference
from fedlab.plots import robustness


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _site(rng, n, prevalence=0.2):
    y = (rng.random(n) < prevalence).astype(int)
    y[:2] = [1, 0]
    score = rng.normal(size=n) + y
    return y, score


def test_price_of_robustness_draws_each_paired_delong_interval():
    rng = np.random.default_rng(0)
    differences = {}
    for defence in ("median", "Krum"):
        differences[defence] = {}
        for site, n in (("A", 300), ("B", 80)):
            y, score = _site(rng, n)
            differences[defence][site] = auc_difference(
                y, score + rng.normal(scale=0.5, size=n), score)
    ax = robustness.price_of_robustness(differences)
    bars = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    assert len(bars) == 2
    for container, defence in zip(bars, differences):
        segments = container.lines[2][0].get_segments()
        expected = [differences[defence][s]["ci"] for s in ("A", "B")]
        np.testing.assert_allclose([seg[:, 0] for seg in segments], expected)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B"]
    assert "paired DeLong 95 % CI" in ax.get_xlabel()
    assert ax.get_title()


def test_defence_grid_marks_cells_below_the_floor():
    table = {"none": {"FedAvg": 0.79, "median": 0.78},
             "sign flip": {"FedAvg": 0.66, "median": 0.78}}
    ax = robustness.defence_grid(table, floor=0.75, title="A finding")
    cells = sorted(t.get_text() for t in ax.texts)
    assert cells == ["0.660*", "0.780", "0.780", "0.790"]
    assert ax.get_xlabel().endswith(
        "\n* below the single-site floor (0.750): worse than a hospital alone")
    assert ax.get_title() == "A finding"  # a title of one's own keeps the footnote


def test_defence_grid_without_a_cell_below_the_floor_has_no_footnote():
    ax = robustness.defence_grid({"none": {"FedAvg": 0.79}}, floor=0.75)
    assert "floor" not in ax.get_xlabel()


def test_price_of_robustness_legend_covers_no_interval():
    rng = np.random.default_rng(1)
    differences = {}
    for defence in ("median", "trimmed mean", "Krum", "Multi-Krum", "norm bound"):
        differences[defence] = {}
        for site, n in (("A", 300), ("B", 80), ("C", 120), ("D", 90), ("E", 60)):
            y, score = _site(rng, n)
            differences[defence][site] = auc_difference(
                y, score + rng.normal(scale=0.5, size=n), score)
    ax = robustness.price_of_robustness(differences)
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert not legend.overlaps(ax.get_window_extent(renderer))


def test_site_mean_ratios_rings_the_flagged_site():
    means = np.array([[200.0, 50.0], [195.0, 52.0], [5.1, 49.0]])
    flagged = np.array([[False, False], [False, False], [True, False]])
    ax = robustness.site_mean_ratios(means, ["a", "b", "c"], ["chol", "hdl"],
                                     flagged=flagged)
    ringed = [line for line in ax.lines if line.get_label() == "flagged"]
    assert len(ringed) == 1
    np.testing.assert_allclose(ringed[0].get_ydata(), [5.1 / 195.0])
    assert "log scale" in ax.get_ylabel()
