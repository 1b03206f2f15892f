"""Federated statistics equal the pooled ones; sites refuse small cells and say why."""

import numpy as np
import pytest

from fedlab import data
from fedlab.analytics import (
    DataSite,
    DisclosureRefused,
    check_cells,
    describe,
    federated_corr,
    federated_count,
    federated_histogram,
    federated_mean,
    federated_quantile,
    federated_std,
    federated_var,
)
from fedlab.analytics.stats import _rank

COLUMNS = ("age", "sbp", "chol", "smoker")


def _records(rng, n, shift):
    """Correlated clinical-looking columns, integer ages (ties), a binary column."""
    age = np.floor(rng.normal(50 + shift, 9, n))
    sbp = 100 + 0.5 * age + rng.normal(0, 12, n) + 3 * shift
    chol = 150 + 0.6 * age + rng.normal(0, 30, n)
    smoker = (rng.random(n) < 0.2 + 0.02 * shift).astype(float)
    X = np.column_stack([age, sbp, chol, smoker])
    X[rng.random(n) < 0.1, 2] = np.nan  # cholesterol not measured for some patients
    return X


@pytest.fixture(scope="module")
def split():
    """Five non-IID sites of different sizes, and the pooled records.

    The disclosure rule is off (min_cell=1) here: these tests are about the arithmetic.
    """
    rng = np.random.default_rng(7)
    arrays = [_records(rng, n, shift) for n, shift in ((400, 0), (90, 8), (250, -5),
                                                       (160, 3), (60, 12))]
    sites = [DataSite(X, COLUMNS, name=f"site {k}", min_cell=1) for k, X in enumerate(arrays)]
    return sites, np.vstack(arrays)


@pytest.fixture(scope="module")
def guarded(split):
    """The same sites with the default rule (cells of 1 to 4 patients refused)."""
    sites, pooled = split
    return [DataSite(s._X, COLUMNS, name=s.name) for s in sites], pooled


def _observed(values):
    return values[~np.isnan(values)]


@pytest.mark.parametrize("where", [None, ("age", ">=", 50), [("age", ">=", 45),
                                                             ("sbp", "<", 140)]])
def test_count_mean_variance_and_std_equal_the_pooled_ones(split, where):
    sites, pooled = split
    rows = np.ones(len(pooled), dtype=bool)
    for column, op, value in ([] if where is None else
                              [where] if isinstance(where, tuple) else where):
        values = pooled[:, COLUMNS.index(column)]
        rows &= {">=": np.greater_equal, "<": np.less}[op](values, value)
    assert federated_count(sites, where=where) == rows.sum()
    for j, column in enumerate(COLUMNS):
        values = _observed(pooled[rows, j])
        np.testing.assert_allclose(federated_mean(sites, column, where=where), values.mean(),
                                   rtol=1e-12)
        np.testing.assert_allclose(federated_var(sites, column, where=where), values.var(),
                                   rtol=1e-9)
        np.testing.assert_allclose(federated_var(sites, column, ddof=1, where=where),
                                   values.var(ddof=1), rtol=1e-9)
        np.testing.assert_allclose(federated_std(sites, column, where=where), values.std(),
                                   rtol=1e-9)


def test_correlation_matrix_equals_the_pooled_pairwise_complete_one(split):
    sites, pooled = split
    corr = federated_corr(sites)
    for i in range(len(COLUMNS)):
        for j in range(len(COLUMNS)):
            both = ~np.isnan(pooled[:, i]) & ~np.isnan(pooled[:, j])
            expected = np.corrcoef(pooled[both, i], pooled[both, j])[0, 1]
            np.testing.assert_allclose(corr[i, j], expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.diag(corr), 1.0)
    np.testing.assert_allclose(corr, corr.T)


def test_correlation_without_missing_values_equals_numpy(split):
    sites, pooled = split
    corr = federated_corr(sites, ["age", "sbp", "smoker"])
    np.testing.assert_allclose(corr, np.corrcoef(pooled[:, [0, 1, 3]], rowvar=False),
                               rtol=1e-9)


def test_histogram_equals_numpy_histogram_of_the_pooled_records(split):
    sites, pooled = split
    edges = np.arange(0, 120, 10.0)
    expected, _ = np.histogram(pooled[:, 0], bins=edges)
    np.testing.assert_array_equal(federated_histogram(sites, "age", edges), expected)


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("q", [0.1, 0.25, 0.3, 0.5, 0.75, 0.9])
def test_quantiles_by_bisection_are_within_tol_of_the_pooled_quantile(split, column, q):
    sites, pooled = split
    values = _observed(pooled[:, COLUMNS.index(column)])
    result = federated_quantile(sites, column, q, tol=1e-7)
    expected = np.quantile(values, q, method="inverted_cdf")
    assert abs(result - expected) <= 1e-7
    assert np.mean(values <= result) >= q  # at least a fraction q at or below it


def test_the_rank_is_numpys_even_where_q_times_n_rounds_up():
    for n in (1, 2, 7, 10, 99, 1000):
        for q in np.linspace(0, 1, 41).tolist() + [0.3, 0.7, 0.1]:
            values = np.arange(1.0, n + 1)
            assert _rank(q, n) == np.quantile(values, q, method="inverted_cdf")


def test_quantile_with_a_condition(split):
    sites, pooled = split
    rows = pooled[:, 3] == 1
    result = federated_quantile(sites, "sbp", 0.5, where=("smoker", "==", 1), tol=1e-8)
    expected = np.quantile(pooled[rows, 1], 0.5, method="inverted_cdf")
    assert abs(result - expected) <= 1e-8


def test_the_shipped_hospitals_give_their_pooled_statistics():
    hospitals = data.load_hospitals()
    sites = [DataSite.from_hospital(h) for h in hospitals]
    pooled = np.vstack([np.column_stack([h.X_train, h.y_train]) for h in hospitals])
    hdl = sites[0].columns.index("hdl")
    np.testing.assert_allclose(federated_mean(sites, "hdl"), np.nanmean(pooled[:, hdl]),
                               rtol=1e-12)
    assert federated_count(sites, where=("cvd_10y", "==", 1)) == pooled[:, -1].sum()
    median = federated_quantile(sites, "sbp", 0.5)
    assert abs(median - np.quantile(pooled[:, 3], 0.5, method="inverted_cdf")) < 1e-4


# -- the disclosure rule -----------------------------------------------------------------

def _clinic(min_cell=5):
    ages = [41, 43, 44, 47, 49, 51, 52, 55, 58, 60, 61, 63, 66, 70, 71, 74, 88]
    smoker = [0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1]
    return DataSite(np.column_stack([ages, smoker]), ["age", "smoker"], name="clinic",
                    min_cell=min_cell)


def test_a_small_cell_is_refused_naming_the_site_the_rule_but_not_the_count():
    site = _clinic()
    with pytest.raises(DisclosureRefused, match="site 'clinic' refuses") as refusal:
        site.moments(["age"], where=("age", ">=", 80))
    assert refusal.value.site == "clinic"
    assert "fewer than 5 patients" in refusal.value.rule
    assert "1 patient" not in str(refusal.value)  # the protected number is not published
    assert site.log[-1].startswith("refused: the moments of age where age >= 80")


def test_empty_cells_are_allowed_and_min_cell_one_switches_the_rule_off():
    site = _clinic()
    assert site.count(where=("age", ">=", 100)) == 0
    np.testing.assert_array_equal(site.histogram("age", [0, 20, 40, 100]), [0, 0, 17])
    assert _clinic(min_cell=1).count(where=("age", ">=", 80)) == 1


def test_the_records_a_condition_leaves_out_form_a_cell_too():
    """The site's total is public, so 'all but one' gives the one away: refused."""
    with pytest.raises(DisclosureRefused, match="not \\(age < 80\\)"):
        _clinic().moments(["smoker"], where=("age", "<", 80))


def test_the_differencing_attack_the_rule_does_not_stop():
    """Two large, overlapping selections that differ by one patient: both are answered."""
    site = _clinic()
    older = site.moments(["smoker"], where=("age", ">=", 55))
    older_but_one = site.moments(["smoker"], where=[("age", ">=", 55), ("age", "!=", 88)])
    assert older.count[0] - older_but_one.count[0] == 1
    assert older.total[0] - older_but_one.total[0] == 1  # the 88-year-old smokes


def test_histogram_bins_and_values_outside_the_edges_are_cells():
    site = _clinic()
    np.testing.assert_array_equal(site.histogram("age", [40, 60, 100]), [9, 8])
    with pytest.raises(DisclosureRefused, match="'age in \\[40, 45\\)'"):
        site.histogram("age", [40, 45, 100])
    with pytest.raises(DisclosureRefused, match="'age > 80'"):
        site.histogram("age", [0, 50, 80])


def test_check_cells_names_cells_without_counts():
    check_cells([0, 5, 100], min_cell=5, site="s", query="q")
    with pytest.raises(DisclosureRefused, match="2 cells hold fewer than 10"):
        check_cells([3, 7, 12], min_cell=10, site="s", query="q")


def test_a_refused_federated_query_names_the_refusing_site(guarded):
    sites, _ = guarded
    with pytest.raises(DisclosureRefused, match="site 'site [0-4]' refuses the moments of "
                                                "age where age >= 78") as refusal:
        federated_mean(sites, "age", where=("age", ">=", 78))
    assert refusal.value.site in [s.name for s in sites]


def test_extreme_quantiles_are_refused(guarded):
    sites, _ = guarded
    with pytest.raises(DisclosureRefused, match="quantile of age"):
        federated_quantile(sites, "age", 0.0)


def test_describe_summarises_every_column_and_reports_suppressed_entries(guarded):
    sites, pooled = guarded
    tiny = DataSite([[40, 120, 200, 0], [45, 125, np.nan, 1], [50, 130, 210, 0]], COLUMNS,
                    name="tiny clinic")
    summary = describe(sites, ["age", "chol"])
    chol = _observed(pooled[:, 2])
    row = summary.rows["chol"]
    assert row["n"] == len(chol) and row["missing"] == len(pooled) - len(chol)
    np.testing.assert_allclose([row["mean"], row["std"]], [chol.mean(), chol.std(ddof=1)],
                               rtol=1e-9)
    assert abs(row["q50"] - np.quantile(chol, 0.5, method="inverted_cdf")) < 1e-4
    assert "median" in summary.format()

    refused = describe([*sites, tiny], ["age"])
    assert refused.rows["age"]["mean"] is None and refused.rows["age"]["n"] is None
    assert any("tiny clinic" in r for r in refused.refusals)
    assert "suppr." in refused.format()


@pytest.mark.parametrize("make, match", [
    (lambda: DataSite(np.empty((0, 2)), ["a", "b"], name="empty"), "site 'empty' has no "
                                                                   "records"),
    (lambda: DataSite([[1.0, 2.0]], ["a"], name="s"), "columns must name each"),
    (lambda: DataSite([[1.0, np.inf]], ["a", "b"], name="s"), "infinite"),
    (lambda: DataSite([["x", 1]], ["a", "b"], name="s"), "must be numbers"),
    (lambda: _clinic().count(where=("weight", ">", 1)), "no column 'weight'"),
    (lambda: _clinic().count(where=("age", "=>", 1)), "operator must be one of"),
    (lambda: _clinic().count(where=("age", ">", "old")), "must be a number"),
    (lambda: _clinic().moments(["weight"]), "has no column 'weight'"),
    (lambda: _clinic().histogram("age", [3, 1]), "increasing"),
    (lambda: federated_quantile([_clinic()], "age", 1.5), "q must be a number in"),
    (lambda: federated_mean([], "age"), "at least one DataSite"),
    (lambda: _clinic(min_cell=0), "min_cell must be >= 1"),
])
def test_bad_input_is_a_clear_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()
