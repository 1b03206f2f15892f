"""Figures of the hospitals' records: each draws, labels its axes and states a finding."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from fedlab import data
from fedlab.plots import data as data_plots


@pytest.fixture(scope="module")
def hospitals():
    return data.load_hospitals()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _assert_labelled(ax):
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


@pytest.mark.parametrize("name", ["site_sizes", "prevalence_by_site", "age_by_site",
                                  "sex_ratio_by_site", "site_vs_others", "missing_by_site"])
def test_every_site_figure_has_labelled_axes_and_a_title(hospitals, name):
    ax = getattr(data_plots, name)(hospitals)
    _assert_labelled(ax)


def test_risk_curve_has_labelled_axes_and_a_title():
    _assert_labelled(data_plots.risk_by_sbp())


def test_titles_state_the_findings_of_the_shipped_hospitals(hospitals):
    assert "6 % (Rosewood) to 23 % (Hillcrest)" in \
        data_plots.prevalence_by_site(hospitals).get_title()
    assert "Rosewood's patients are 91 % women" in \
        data_plots.sex_ratio_by_site(hospitals).get_title()
    assert "Riverside's recorded SBP runs 11 mmHg above" in \
        data_plots.site_vs_others(hospitals).get_title()
    assert "Lakeview is missing HDL in 30 %" in data_plots.missing_by_site(hospitals).get_title()
    assert "Hillcrest's patients are the oldest" in data_plots.age_by_site(hospitals).get_title()
    assert "10.5 % to 12.8 %" in data_plots.risk_by_sbp().get_title()


def test_draws_on_given_axes_and_accepts_sites(hospitals):
    _, ax = plt.subplots()
    assert data_plots.prevalence_by_site([h.train for h in hospitals], ax=ax) is ax
    ax = data_plots.site_vs_others(hospitals, "hdl", site="Lakeview")
    assert "HDL" in ax.get_title()


def test_missing_map_without_gaps_says_so():
    site = data.Site("clinic", np.ones((4, 2)), [0, 1, 0, 0], ("age", "sbp"))
    assert data_plots.missing_by_site([site]).get_title() == "No hospital has a missing value"


def test_bad_input_is_named(hospitals):
    with pytest.raises(ValueError, match="site must name one of the hospitals"):
        data_plots.site_vs_others(hospitals, site="nowhere")
    with pytest.raises(ValueError, match="no feature named 'ldl'"):
        data_plots.site_vs_others(hospitals, "ldl")
    with pytest.raises(ValueError, match="at least one"):
        data_plots.age_by_site([])
    with pytest.raises(TypeError, match="Hospital or Site"):
        data_plots.site_sizes([object()])
