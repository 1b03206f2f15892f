"""Smoke tests of the evaluation figures: they draw, label their axes, state a finding."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fedlab.plots import evaluation  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def predictions():
    rng = np.random.default_rng(0)
    out = {}
    for name, n, shift in [("big site", 400, 1.5), ("small site", 60, 0.5)]:
        y = (rng.random(n) < 0.15).astype(int)
        y[:2] = [1, 0]
        score = 1 / (1 + np.exp(-(rng.normal(size=n) + shift * y - 2)))
        out[name] = (y, score)
    return out


def test_roc_curves_one_line_per_site_with_auc_in_the_legend(predictions):
    ax = evaluation.roc_curves(predictions)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == 3 and labels[0].startswith("big site (AUC 0.")
    assert "coin flip" in labels[-1]
    assert "sensitivity" in ax.get_ylabel() and "specificity" in ax.get_xlabel()
    assert ax.get_title().startswith("AUC ranges from")


def test_roc_curves_accepts_one_pair_an_axes_and_a_title(predictions):
    _, ax = plt.subplots()
    out = evaluation.roc_curves(predictions["big site"], ax=ax, title="finding")
    assert out is ax and ax.get_title() == "finding"


def test_roc_curves_refuses_a_single_class():
    with pytest.raises(ValueError, match="single class"):
        evaluation.roc_curves({"x": ([0, 0, 0], [0.1, 0.2, 0.3])})


def test_calibration_table_bins_and_intervals(predictions):
    y, p = predictions["big site"]
    t = evaluation.calibration_table(y, p, n_bins=5)
    assert t["count"].sum() == len(y) and len(t["count"]) == 5
    assert np.all(t["low"] <= t["observed"]) and np.all(t["observed"] <= t["high"])
    np.testing.assert_allclose(np.sum(t["predicted"] * t["count"]), p.sum())
    uniform = evaluation.calibration_table(y, p, n_bins=10, strategy="uniform")
    assert uniform["count"].sum() == len(y)


def test_calibration_table_refuses_bad_input():
    with pytest.raises(ValueError, match="probabilities"):
        evaluation.calibration_table([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError, match="strategy"):
        evaluation.calibration_table([0, 1], [0.5, 0.5], strategy="equal")


@pytest.mark.parametrize("intervals", [True, False])
def test_calibration_diagram_draws_each_model_and_the_diagonal(predictions, intervals):
    ax = evaluation.calibration_diagram(predictions, intervals=intervals)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["big site", "small site", "perfectly calibrated"]
    assert ax.get_xlabel().endswith("(%)") and ax.get_ylabel().endswith("(%)")
    assert ax.get_title().startswith("big site: mean predicted risk")


def test_site_auc_bars_groups_models_by_site_and_states_the_winner():
    scores = {"pooled": {"A": 0.80, "B": 0.70, "C": 0.66},
              "alone": {"A": 0.81, "B": 0.64, "C": 0.60}}
    ax = evaluation.site_auc_bars(scores, notes={"C": "7 events"})
    assert len(ax.patches) == 6
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["A", "B", "C\n(7 events)"]
    assert ax.get_title() == "pooled has the highest AUC at 2 of 3 sites"
    assert "AUC" in ax.get_xlabel()


def test_site_auc_bars_refuses_models_naming_different_sites():
    with pytest.raises(ValueError, match="names the sites"):
        evaluation.site_auc_bars({"a": {"X": 0.7}, "b": {"Y": 0.7}})
