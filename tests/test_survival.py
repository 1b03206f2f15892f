"""Federated Kaplan-Meier, life tables, small cells and the log-rank test (fedlab.survival).

References: scikit-survival's ``kaplan_meier_estimator`` and statsmodels' ``SurvfuncRight``
and ``survdiff``.
"""

import numpy as np
import pytest

from fedlab._validation import InvalidParameterError
from fedlab.survival import (
    LifeTable,
    agree_rows,
    federated_kaplan_meier,
    kaplan_meier,
    life_table,
    logrank_terms,
    logrank_test,
    merge_small_cells,
    sum_tables,
    survival_at,
)

sksurv_np = pytest.importorskip("sksurv.nonparametric")
survfunc = pytest.importorskip("statsmodels.duration.survfunc")

GRID = np.arange(0.5, 10.01, 0.5)


def _sites(seed=0, sizes=(150, 220, 90, 300)):
    """Sites with different hazards and censoring, times with ties (rounded to 0.1)."""
    rng = np.random.default_rng(seed)
    out = []
    for k, n in enumerate(sizes):
        event_time = rng.weibull(1.3, n) * (6 + 2 * k)
        censor = rng.uniform(1, 9 + k, n)
        time = np.round(np.minimum(event_time, censor), 1)
        out.append((time, (event_time <= censor).astype(int)))
    return out


def _pooled(sites):
    return np.concatenate([t for t, _ in sites]), np.concatenate([e for _, e in sites])


def test_summed_life_tables_equal_the_pooled_kaplan_meier_of_times_rounded_up_to_the_grid():
    sites = _sites()
    time, event = _pooled(sites)
    km = kaplan_meier(sum_tables([life_table(t, e, GRID) for t, e in sites]))
    rounded = GRID[np.minimum(np.searchsorted(GRID, time), len(GRID) - 1)]
    rounded = np.where(time > GRID[-1], GRID[-1] + 1, rounded)  # beyond the grid: censored
    ref_times, ref_surv = sksurv_np.kaplan_meier_estimator(event.astype(bool), rounded)
    on_grid = ref_times <= GRID[-1]
    assert on_grid.sum() == len(GRID)
    np.testing.assert_allclose(survival_at(km, ref_times[on_grid]), ref_surv[on_grid],
                               atol=1e-12)


def test_exact_tables_at_the_union_of_event_times_give_scikit_survival_and_statsmodels():
    sites = _sites(1)
    time, event = _pooled(sites)
    km = federated_kaplan_meier(sites, None, min_cell=None)
    ref_times, ref_surv, ref_ci = sksurv_np.kaplan_meier_estimator(
        event.astype(bool), time, conf_type="log-log")
    np.testing.assert_allclose(survival_at(km, ref_times), ref_surv, atol=1e-12)
    sf = survfunc.SurvfuncRight(time, event)
    np.testing.assert_allclose(km.times, sf.surv_times)
    np.testing.assert_allclose(km.survival, sf.surv_prob, atol=1e-12)
    np.testing.assert_array_equal(km.at_risk, sf.n_risk)
    ok = km.survival > 0
    np.testing.assert_allclose(km.se[ok], sf.surv_prob_se[ok], rtol=1e-9)  # Greenwood
    at_event = np.searchsorted(ref_times, km.times)
    np.testing.assert_allclose(km.ci[:, ok], ref_ci[:, at_event][:, ok], rtol=1e-9)


def test_linear_interval_is_greenwood_plus_minus_z_se():
    km = kaplan_meier(life_table(*_sites()[0], GRID), transform="linear", level=0.9)
    ok = np.isfinite(km.se)
    np.testing.assert_allclose(km.ci[1, ok], np.clip(km.survival + 1.6448536 * km.se, 0, 1)[ok],
                               rtol=1e-6)


def test_secure_sum_of_tables_equals_the_plain_sum():
    tables = [life_table(t, e, GRID) for t, e in _sites()]
    plain, secure = sum_tables(tables), sum_tables(tables, secure=True, random_state=3)
    np.testing.assert_array_equal(secure.at_risk, plain.at_risk)
    np.testing.assert_array_equal(secure.events, plain.events)


def _released_cells_ok(table, m):
    cells = np.r_[table.at_risk, table.events, table.censored]
    return bool(np.all((cells == 0) | (cells >= m)))


@pytest.mark.parametrize("m", [3, 5, 11])
def test_merged_tables_release_no_small_cell_and_equal_the_table_on_the_coarser_grid(m):
    for t, e in _sites(2):
        fine = life_table(t, e, GRID)
        assert not _released_cells_ok(fine, m)  # the grid alone has small cells
        merged = merge_small_cells(fine, min_cell=m)
        assert _released_cells_ok(merged, m)
        # inside its range, the merged table is the life table on the kept times
        inside = t <= merged.times[-1]
        direct = life_table(t, e, merged.times)
        np.testing.assert_array_equal(merged.events, direct.events)
        np.testing.assert_array_equal(merged.at_risk, direct.at_risk)
        assert inside.any()


def test_agreed_rows_keep_every_site_within_min_cell_at_a_cost_secure_aggregation_avoids():
    sites = _sites(3)
    released = agree_rows([life_table(t, e, GRID) for t, e in sites], min_cell=5)
    assert all(_released_cells_ok(t, 5) for t in released)
    km = federated_kaplan_meier(sites, GRID, min_cell=5)
    np.testing.assert_array_equal(km.events, sum_tables(released).events)
    exact = federated_kaplan_meier(sites, GRID, min_cell=None)
    secure = federated_kaplan_meier(sites, GRID, min_cell=5, secure=True, random_state=0)
    assert _released_cells_ok(LifeTable(secure.times, secure.at_risk, secure.events), 5)

    def gap(curve):
        return np.abs(survival_at(curve, curve.times) - survival_at(exact, curve.times)).max()

    # per-site merging: 6 of 20 rows and a curve up to ~6 points off; merging the
    # secure sum: 19 rows and under 1 point
    assert len(km.times) < len(secure.times) < len(exact.times)
    assert gap(secure) < 0.01 < gap(km) < 0.1


def test_a_site_that_cannot_close_a_row_leaves_the_table_and_the_others_go_on():
    a = life_table([1] * 5 + [2] * 5 + [3] * 2, [1] * 5 + [0] * 5 + [1] * 2, [1, 2, 3])
    b = life_table([1] * 5 + [2] * 5 + [3] * 5, [1] * 15, [1, 2, 3])
    released_a, released_b = agree_rows([a, b], min_cell=5)
    np.testing.assert_array_equal(released_a.times, [1.0])
    np.testing.assert_array_equal(released_a.censored, [7])  # 5 censored + 2 left at exit
    np.testing.assert_array_equal(released_b.events, [5, 5, 5])
    total = sum_tables([released_a, released_b])
    np.testing.assert_array_equal(total.at_risk, [27, 10, 5])


def test_merging_rows_that_each_pass_keeps_them_passing():
    table = LifeTable(np.array([1.0, 2, 3, 4]), np.array([40, 30, 20, 10]),
                      np.array([5, 0, 5, 5]))
    assert _released_cells_ok(table, 5)
    assert _released_cells_ok(table.coarsen([2.0, 4.0]), 5)
    np.testing.assert_array_equal(merge_small_cells(table, min_cell=5).times, table.times)


def test_logrank_across_sites_equals_statsmodels_survdiff():
    sites = _sites(5)
    time, event = _pooled(sites)
    group = np.repeat(np.arange(len(sites)), [len(t) for t, _ in sites])
    times = np.unique(time[event == 1])
    result = logrank_test(logrank_terms([life_table(t, e, times, exact=True)
                                         for t, e in sites]))
    chisq, p = survfunc.survdiff(time, event, group)
    assert result.df == len(sites) - 1
    np.testing.assert_allclose([result.statistic, result.p_value], [chisq, p], rtol=1e-9)
    assert result.observed.sum() == event.sum()
    np.testing.assert_allclose(result.expected.sum(), event.sum())


def test_stratified_logrank_sums_each_sites_terms_and_equals_survdiff_with_strata():
    rng = np.random.default_rng(6)
    sites, arms = _sites(6), []
    for t, _ in sites:
        arms.append(rng.random(len(t)) < 0.5)
    terms = []
    for (t, e), arm in zip(sites, arms):
        times = np.unique(t[e == 1])
        terms.append(logrank_terms([life_table(t[arm == g], e[arm == g], times, exact=True)
                                    for g in (False, True)]))
    result = logrank_test(terms)
    time, event = _pooled(sites)
    strata = np.repeat(np.arange(len(sites)), [len(t) for t, _ in sites])
    chisq, p = survfunc.survdiff(time, event, np.concatenate(arms).astype(int), strata=strata)
    np.testing.assert_allclose([result.statistic, result.p_value], [chisq, p], rtol=1e-9)


def test_logrank_has_power_against_a_real_difference():
    rng = np.random.default_rng(7)
    a = (rng.exponential(1.0, 200), np.ones(200))
    b = (rng.exponential(2.0, 200), np.ones(200))
    times = np.unique(np.r_[a[0], b[0]])
    result = logrank_test(logrank_terms([life_table(*a, times, exact=True),
                                         life_table(*b, times, exact=True)]))
    assert result.p_value < 1e-4
    assert result.observed[0] > result.expected[0]


@pytest.mark.parametrize("time, event, match", [
    ([1.0, -2.0], [1, 0], "time must be >= 0"),
    ([1.0, np.nan], [1, 0], "missing or infinite"),
    ([1.0, 2.0], [1, 2], "event must be 0 or 1"),
    ([1.0, 2.0], [1], "one length"),
])
def test_bad_times_and_events_are_refused_with_one_line(time, event, match):
    with pytest.raises(InvalidParameterError, match=match):
        life_table(time, event, GRID)


def test_exact_table_refuses_an_event_time_the_server_did_not_broadcast():
    with pytest.raises(InvalidParameterError, match="every event time"):
        life_table([1.0, 2.5], [1, 1], [1.0, 2.0], exact=True)


def test_tables_on_different_times_cannot_be_summed():
    a = life_table([1.0], [1], [1.0, 2.0])
    b = life_table([1.0], [1], [1.5, 2.0])
    with pytest.raises(InvalidParameterError, match="share their times"):
        sum_tables([a, b])
