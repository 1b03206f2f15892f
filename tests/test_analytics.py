"""Federated statistics equal the pooled ones; sites refuse small cells and say why."""

import json

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
from fedlab.analytics.audit import difference_at_least, fingerprint
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
def test_quantiles_by_bisection_equal_the_pooled_quantile_exactly(split, column, q):
    sites, pooled = split
    values = _observed(pooled[:, COLUMNS.index(column)])
    assert federated_quantile(sites, column, q) == np.quantile(values, q,
                                                                method="inverted_cdf")
    result = federated_quantile(sites, column, q, tol=1e-3)  # a tolerance stops sooner
    assert 0 <= result - np.quantile(values, q, method="inverted_cdf") <= 1e-3


@pytest.mark.parametrize("seed", range(5))
def test_quantiles_are_exact_at_any_scale(seed):
    """Magnitudes from 1e-300 to 1e300, both signs: the bisection runs on the floats' bits."""
    rng = np.random.default_rng(seed)
    values = rng.choice([-1, 1], 60) * 10.0 ** rng.uniform(-300, 300, 60)
    sites = [DataSite(values[:25, None], ["x"], name="a", min_cell=1),
             DataSite(values[25:, None], ["x"], name="b", min_cell=1)]
    for q in (0.0, 0.1, 0.5, 0.77, 1.0):
        assert federated_quantile(sites, "x", q) == np.quantile(values, q,
                                                                 method="inverted_cdf")


def test_describe_at_1e150_and_1e300_is_right_or_says_why():
    """Issue 21: q25 = median = q75 = 2.2e142 before, and a traceback with a 1e300."""
    ages = np.r_[np.full(20, 1e150), np.arange(40.0, 59.0)][:, None]
    summary = describe([DataSite(ages, ["age"], name="a", min_cell=1)])
    row = summary.rows["age"]
    assert (row["q25"], row["q50"], row["q75"]) == (49.0, 1e150, 1e150)
    ages[0] = 1e300
    summary = describe([DataSite(ages, ["age"], name="a", min_cell=1)])
    assert summary.rows["age"]["q50"] == 1e150 and summary.rows["age"]["std"] is None
    assert any("overflow 64-bit floats" in r and "std not shown" in r
               for r in summary.refusals)
    guarded = describe([DataSite(ages, ["age"], name="a")]).rows["age"]
    low, high = guarded["q50"]  # one patient above 1e150: the median is not pinned down
    assert low < 1e150 <= high


def test_the_rank_is_numpys_even_where_q_times_n_rounds_up():
    for n in (1, 2, 7, 10, 99, 1000):
        for q in np.linspace(0, 1, 41).tolist() + [0.3, 0.7, 0.1]:
            values = np.arange(1.0, n + 1)
            assert _rank(q, n) == np.quantile(values, q, method="inverted_cdf")


def test_quantile_with_a_condition(split):
    sites, pooled = split
    rows = pooled[:, 3] == 1
    result = federated_quantile(sites, "sbp", 0.5, where=("smoker", "==", 1))
    assert result == np.quantile(pooled[rows, 1], 0.5, method="inverted_cdf")


def test_the_shipped_hospitals_give_their_pooled_statistics():
    hospitals = data.load_hospitals()
    sites = [DataSite.from_hospital(h) for h in hospitals]
    pooled = np.vstack([np.column_stack([h.X_train, h.y_train]) for h in hospitals])
    hdl = sites[0].columns.index("hdl")
    np.testing.assert_allclose(federated_mean(sites, "hdl"), np.nanmean(pooled[:, hdl]),
                               rtol=1e-12)
    assert federated_count(sites, where=("cvd_10y", "==", 1)) == pooled[:, -1].sum()
    median = federated_quantile(sites, "sbp", 0.5)
    assert median == np.quantile(pooled[:, 3], 0.5, method="inverted_cdf")


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


def test_the_differencing_attack_is_refused_by_the_audit_log():
    """Two large, overlapping selections that differ by one patient: the second is refused."""
    site = _clinic()
    site.moments(["smoker"], where=("age", ">=", 55))
    with pytest.raises(DisclosureRefused, match="the records differ from a group it has "
                                                "answered about before by fewer than 5"):
        site.moments(["smoker"], where=[("age", ">=", 55), ("age", "!=", 88)])
    with pytest.raises(DisclosureRefused, match="differencing"):  # counts alone too
        site.count(where=[("age", ">=", 55), ("age", "!=", 88)])
    with pytest.raises(DisclosureRefused, match="differencing"):
        site.histogram("age", [50, 100], where=[("age", ">=", 55), ("age", "<", 88)])
    assert site.log[-1].startswith("refused: a histogram of age")
    site.moments(["smoker"], where=("age", ">=", 55))  # the same answer again is fine
    site.moments(["smoker"], where=("age", ">=", 66))  # 5 patients fewer: fine


def test_what_the_audit_log_does_not_stop_three_answers():
    """Pairwise comparison only: A - B - C, every pair 5 or more patients apart."""
    site = _clinic()
    everyone = site.moments(["smoker"])                                # 17 patients
    younger = site.moments(["smoker"], where=("age", "<", 60))         #  9
    older = site.moments(["smoker"], where=("age", ">", 60))           #  7
    assert everyone.count[0] - younger.count[0] - older.count[0] == 1  # the 60-year-old
    assert everyone.total[0] - younger.total[0] - older.total[0] == 0  # does not smoke


def test_an_audit_log_file_carries_earlier_answers_and_is_only_appended(tmp_path):
    """Issue 21: describe on 39 rows, then on the same file less one patient."""
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.integers(40, 80, 39), rng.normal(130, 15, 39).round()])
    log = tmp_path / "audit.jsonl"
    first = DataSite(X, ["age", "sbp"], name="clinic", audit=log)
    assert describe([first], quantiles=()).rows["sbp"]["n"] == 39
    written = log.read_bytes()
    again = DataSite(X, ["age", "sbp"], name="clinic", audit=log)  # the same data: answered
    assert describe([again], quantiles=()).rows["sbp"]["n"] == 39
    assert log.read_bytes().startswith(written)
    later = DataSite(X[1:], ["age", "sbp"], name="clinic", audit=log)
    summary = describe([later], quantiles=())
    assert summary.n_records is None and summary.rows["sbp"]["mean"] is None
    assert all("differencing" in r for r in summary.refusals)
    other = DataSite(X[1:], ["age", "sbp"], name="another clinic", audit=log)
    assert describe([other], quantiles=()).rows["sbp"]["n"] == 38  # its own log is empty
    lines = log.read_text().splitlines()
    assert all(json.loads(line)["site"] in ("clinic", "another clinic") for line in lines)
    assert str(X[0, 1]) not in log.read_text()  # hashes only, no value


def test_a_broken_audit_log_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("my notes\n")
    with pytest.raises(ValueError, match="notes.txt: line 1 is not a fedlab audit entry"):
        _clinic_with(audit=bad)
    with pytest.raises(ValueError, match="is a folder"):
        _clinic_with(audit=tmp_path)


def _clinic_with(**kwargs):
    return DataSite([[1.0]] * 6, ["x"], name="c", **kwargs)


@pytest.mark.parametrize("seed", range(40))
def test_the_sketch_never_lets_a_small_difference_through(seed):
    """Groups of 20 to 3,000 records (sketched, some repeated), differing by 0 to 12."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**63, size=int(rng.integers(20, 3000)), dtype=np.uint64)
    base = np.r_[base, base[:7]]  # duplicated records
    d = int(rng.integers(0, 13))
    changed = np.r_[base[d // 2:], rng.integers(0, 2**63, size=d - d // 2, dtype=np.uint64)]
    bound = difference_at_least(fingerprint(base), fingerprint(changed), 5)
    assert bound <= min(d, 5)  # never above the truth: a small difference is refused
    assert (bound == 0) == (d == 0)
    if d >= 5:
        assert bound == 5


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
    summary = describe(sites, ["sbp", "smoker"])
    row = summary.rows["sbp"]
    assert row["n"] == len(pooled) and row["missing"] == 0
    np.testing.assert_allclose([row["mean"], row["std"]],
                               [pooled[:, 1].mean(), pooled[:, 1].std(ddof=1)], rtol=1e-9)
    for q in (25, 50, 75):  # a value, or the interval the sites would not narrow
        expected = np.quantile(pooled[:, 1], q / 100, method="inverted_cdf")
        value = row[f"q{q}"]
        assert value == expected if not isinstance(value, list) else \
            value[0] < expected <= value[1]
    assert summary.rows["smoker"]["q50"] == 0.0
    assert "median" in summary.format()

    refused = describe([*sites, tiny], ["age"])
    assert refused.rows["age"]["mean"] is None and refused.rows["age"]["n"] is None
    assert any("tiny clinic" in r for r in refused.refusals)
    assert "suppr." in refused.format()


def test_the_missing_count_is_a_cell_too(guarded):
    """Issue 21: 'sbp 28, missing 1' at a 29-record site. Site 1 lacks chol for 3 patients."""
    sites, pooled = guarded
    summary = describe(sites, ["chol"], quantiles=())
    assert summary.rows["chol"] == {"n": None, "missing": None, "mean": None, "std": None}
    assert any("site 'site 1'" in r and "'missing chol'" in r for r in summary.refusals)
    X = np.column_stack([np.arange(29.0), np.r_[np.nan, np.arange(28.0)]])
    with pytest.raises(DisclosureRefused, match="'missing sbp'"):
        DataSite(X, ["age", "sbp"], name="s").moments(["sbp"])
    for query in (lambda s: s.histogram("sbp", [0, 30]),
                  lambda s: s.count_at_most("sbp", 10),
                  lambda s: s.comoments(["age", "sbp"])):
        with pytest.raises(DisclosureRefused, match="missing"):
            query(DataSite(X, ["age", "sbp"], name="s"))


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
