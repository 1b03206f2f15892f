"""Smoke tests of the evaluation figures: they draw, label their axes, state a finding."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from fedlab.plots import evaluation, forest


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


def test_roc_curves_give_each_auc_its_delong_interval(predictions):
    from fedlab.metrics import auc_interval

    ax = evaluation.roc_curves(predictions)
    label = ax.get_legend().get_texts()[0].get_text()
    _, _, (low, high) = auc_interval(*predictions["big site"])
    assert label.endswith(f"95 % CI {low:.3f}-{high:.3f})")
    plain = evaluation.roc_curves(predictions, intervals=False)
    assert "CI" not in plain.get_legend().get_texts()[0].get_text()


def _site_metrics(predictions):
    from fedlab.metrics import site_metrics

    return {name: site_metrics(y, p) for name, (y, p) in predictions.items()}


def test_site_auc_bars_draw_intervals_and_name_patients_and_events(predictions):
    sites = _site_metrics(predictions)
    worse = {name: dict(m, auc=m["auc"] - 0.02,
                        auc_ci=(m["auc_ci"][0] - 0.02, m["auc_ci"][1] - 0.02))
             for name, m in sites.items()}
    ax = evaluation.site_auc_bars({"model": sites, "other": worse})
    whiskers = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    assert len(whiskers) == 2
    segments = whiskers[0].lines[2][0].get_segments()
    np.testing.assert_allclose([s[:, 0] for s in segments],
                               [sites[name]["auc_ci"] for name in sites])
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[1] == f"small site\n({sites['small site']['n']} test patients, " \
                       f"{sites['small site']['events']} events)"
    # the leads are inside the intervals, and the title says so
    title = " ".join(ax.get_title().split())
    assert title == ("model has the highest AUC at 2 of 2 sites, but at 2 of them another "
                     "model's 95 % interval overlaps its own")
    assert "95 % interval" in ax.get_xlabel()


def test_site_auc_bars_claims_a_lead_only_outside_the_intervals():
    scores = {"good": {"A": {"auc": 0.9, "auc_ci": (0.85, 0.94)}},
              "poor": {"A": {"auc": 0.6, "auc_ci": (0.5, 0.7)}}}
    ax = evaluation.site_auc_bars(scores)
    assert ax.get_title() == "good has the highest AUC at 1 of 1 sites"


@pytest.mark.parametrize("metric", ["auc", "accuracy", "oe", "calibration_slope",
                                    "calibration_intercept"])
def test_site_forest_draws_each_site_and_the_pooled_diamond(predictions, metric):
    from fedlab.metrics import pool_site_metrics

    sites = _site_metrics(predictions)
    ax = forest.site_forest(sites, metric=metric, pooled=pool_site_metrics(sites))
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0].startswith("big site\n400 patients") and ticks[-1] == "pooled"
    assert len(ax.patches) == 1  # the diamond
    assert ax.get_xscale() == ("log" if metric == "oe" else "linear")
    assert ax.get_xlabel()


def test_site_forest_claims_a_difference_only_when_intervals_are_apart():
    apart = {"A": {"n": 90, "events": 13, "calibration_slope": 1.4,
                   "calibration_slope_ci": (1.1, 1.7)},
             "B": {"n": 400, "events": 60, "calibration_slope": 0.8,
                   "calibration_slope_ci": (0.7, 0.9)}}
    title = " ".join(forest.site_forest(apart, metric="calibration_slope")
                     .get_title().split())
    assert title == "calibration slope differs between sites: A 1.40 [1.10, 1.70] vs B " \
                    "0.80 [0.70, 0.90]"
    apart["A"]["calibration_slope_ci"] = (0.85, 1.9)
    title = forest.site_forest(apart, metric="calibration_slope").get_title()
    assert "all overlap" in title and "differs" not in title


def test_site_forest_refuses_an_unknown_metric(predictions):
    with pytest.raises(ValueError, match="metric must be one of"):
        forest.site_forest(_site_metrics(predictions), metric="brier")
