"""Smoke tests of the analytics figures: they draw, label their axes, state a finding."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from fedlab.plots import analytics


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_histogram_by_site_stacks_the_sites_answers():
    ax = analytics.histogram_by_site([[3, 5, 0], [10, 0, 6]], [0, 10, 20, 30], ["a", "b"],
                                     xlabel="age (years)")
    heights = [p.get_height() for p in ax.patches]
    assert heights == [3, 5, 0, 10, 0, 6]
    assert ax.get_xlabel() == "age (years)" and "24 patients" in ax.get_title()


def test_unequal_bins_are_drawn_as_densities():
    ax = analytics.histogram_by_site([[30, 10], [15, 20]], [0, 10, 30], ["a", "b"],
                                     xlabel="age (years)", unit="year")
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([3.0, 0.5, 1.5, 1.0])  # count / width: area = count
    assert ax.get_ylabel().startswith("patients per year")
    assert "75 patients" in ax.get_title()


def test_correlation_heatmap_names_the_strongest_pair():
    corr = np.array([[1.0, 0.2, -0.7], [0.2, 1.0, 0.1], [-0.7, 0.1, 1.0]])
    ax = analytics.correlation_heatmap(corr, ["age", "sbp", "hdl"])
    assert ax.get_title() == "Strongest pair: age and hdl (r = -0.70)"
    assert len(ax.texts) == 9


def test_phenotype_profiles_writes_the_clinical_values():
    ax = analytics.phenotype_profiles([[1.0, -0.5], [-1.0, 0.5]], ["age", "bmi"],
                                      labels=["older", "younger"],
                                      values=[[64.0, 24.1], [44.0, 31.0]])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["older", "younger"]
    assert "64" in [t.get_text() for t in ax.texts]


def test_cluster_composition_names_the_most_over_represented_site():
    counts = np.array([[90, 10], [10, 40]])  # site b: 20 % of patients, 80 % of cluster 1
    ax = analytics.cluster_composition(counts, ["a", "b"], labels=["common", "rare"])
    assert ax.get_title() == "b: 80 % of 'rare', 33 % of all patients"
    assert ax.get_xlim() == (0, 100)
