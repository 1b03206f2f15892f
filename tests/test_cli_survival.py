"""``python -m fedlab train --time COL --event COL`` and ``describe --time --event``.

The survival comparison on users' per-site CSV files: every method's Cox model scored at
each site and pooled, checked against a pooled stratified reference (statsmodels'
``PHReg``), with small cells suppressed and bad input refused in one line.
"""

import json

import numpy as np
import pytest

from fedlab import data
from fedlab.__main__ import main

TIME, EVENT = "Follow-up (years)", "Event (CVD)"
SITE_KEYS = {"c_index", "c_index_ci", "uno_c", "uno_c_ci", "n", "events"}


def _write_site(path, n, seed, *, constant=False, events=True, split=False, rows=None):
    """A site: two features, a censored time to event (rate rising with both), a 0/1 label."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    age = np.full(n, 60.0) if constant else rng.normal(55, 10, size=n).round(1)
    t = rng.exponential(6 * np.exp(-(0.7 * x1 + 0.05 * (age - 55))))
    c = rng.uniform(1, 9, size=n)
    time, event = np.minimum(t, c), (t <= c).astype(int) if events else np.zeros(n, int)
    header = f'marker,Age (years),"{TIME}","{EVENT}"' + (",Split (static)" if split else "")
    lines = [f"{a:.3f},{b:.1f},{u:.3f},{e}" + (f",{'test' if k % 4 == 0 else 'train'}"
                                               if split else "")
             for k, (a, b, u, e) in enumerate(zip(x1, age, time, event))]
    for k, text in (rows or {}).items():
        lines[k] = text
    path.write_text(header + "\n" + "\n".join(lines) + "\n")
    return path


@pytest.fixture
def sites(tmp_path):
    return [_write_site(tmp_path / f"{name}.csv", n, k)
            for k, (name, n) in enumerate((("north", 300), ("south", 180), ("east", 240)))]


def _train(sites, *extra):
    args = ["train", "--time", TIME, "--event", EVENT, *extra]
    for s in sites:
        args += ["--site", str(s)]
    return main(args)


def _error(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_train_fits_every_cox_method_scored_at_each_site(sites, tmp_path, capsys):
    out = tmp_path / "survival.json"
    assert _train(sites, "--strategy", "fedavg", "--rounds", "5", "--lr", "1",
                  "--horizon", "5", "--json", str(out)) == 0
    printed = capsys.readouterr().out
    assert "Hazard ratio per unit of each feature" in printed and "Age (years)" in printed
    report = json.loads(out.read_text())
    assert report["outcome"] == "survival" and report["horizon"] == 5.0
    assert report["config"]["time"] == TIME and report["config"]["horizon"] == 5.0
    names = ["north", "south", "east"]
    assert list(report["methods"]) == ["centralized", *[f"alone: {n}" for n in names],
                                       "federated Cox", "fedavg"]
    for method in report["methods"].values():
        assert list(method["sites"]) == names
        for site in method["sites"].values():
            assert SITE_KEYS <= set(site)
            low, high = site["c_index_ci"]
            assert 0 < low < site["c_index"] < high < 1
        assert method["pooled"]["n_sites"] == 3
        assert method["pooled"]["n"] == sum(s["n"] for s in method["sites"].values())
        assert set(method["coefficients"]) == {"marker", "Age (years)"}  # no intercept
        assert set(method["hazard_ratios"]) == {"marker", "Age (years)"}
    exact = report["methods"]["federated Cox"]
    for feature, (low, high) in exact["hazard_ratio_ci"].items():
        assert low < exact["hazard_ratios"][feature] < high
    assert np.exp(exact["coefficients"]["marker"]) == pytest.approx(
        exact["hazard_ratios"]["marker"])
    assert "hazard_ratio_ci" not in report["methods"]["fedavg"]  # no information matrix


def test_centralized_is_the_pooled_stratified_cox_fit_and_equals_the_federated_one(
        sites, tmp_path):
    statsmodels = pytest.importorskip("statsmodels.duration.hazard_regression")
    out = tmp_path / "survival.json"
    assert _train(sites, "--l2", "0", "--json", str(out)) == 0
    methods = json.loads(out.read_text())["methods"]
    # train's split (the same reader, seed and rule): statsmodels on those patients, pooled,
    # in the files' own units, one stratum per site
    hospitals = data.Dataset(sites, outcome="survival", time=TIME, event=EVENT).load(
        random_state=2026)
    X = np.vstack([h.X_train for h in hospitals])
    reference = statsmodels.PHReg(
        np.concatenate([h.time_train for h in hospitals]), X,
        status=np.concatenate([h.y_train for h in hospitals]),
        strata=np.concatenate([np.full(h.n_train, k) for k, h in enumerate(hospitals)]),
        ties="breslow").fit()
    for name in ("centralized", "federated Cox"):
        mine = [methods[name]["coefficients"][f] for f in ("marker", "Age (years)")]
        np.testing.assert_allclose(mine, reference.params, rtol=0, atol=1e-6)
    assert methods["centralized"]["sites"] == methods["federated Cox"]["sites"]


def test_a_published_split_column_is_used(tmp_path):
    sites = [_write_site(tmp_path / f"s{k}.csv", n, k, split=True)
             for k, n in enumerate((200, 160))]
    out = tmp_path / "split.json"
    assert _train(sites, "--split-column", "Split (static)", "--json", str(out)) == 0
    report = json.loads(out.read_text())
    assert [s["n"] for s in report["methods"]["federated Cox"]["sites"].values()] == [50, 40]
    assert "Split (static)" not in report["methods"]["federated Cox"]["coefficients"]


def test_a_site_whose_test_split_has_no_event_is_scored_n_a_with_the_reason(tmp_path,
                                                                           capsys):
    sites = [_write_site(tmp_path / f"s{k}.csv", n, k, split=True) for k, n in
             enumerate((200, 160))]
    lines = sites[1].read_text().splitlines()
    for k, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        if cells[-1] == "test":
            cells[3] = "0"  # censored: no event among the test patients
        lines[k] = ",".join(cells)
    sites[1].write_text("\n".join(lines) + "\n")
    out = tmp_path / "noevent.json"
    assert _train(sites, "--split-column", "Split (static)", "--json", str(out)) == 0
    assert "s1: undefined: no event among the test patients" in capsys.readouterr().out
    site = json.loads(out.read_text())["methods"]["federated Cox"]["sites"]["s1"]
    assert site["events"] == 0 and site["n"] == 40 and site["c_index"] is None


def test_min_cell_suppresses_a_site_with_few_test_events(sites, tmp_path, capsys):
    out = tmp_path / "cells.json"
    assert _train(sites, "--min-cell", "60", "--json", str(out)) == 0
    assert "suppressed: 1 to 59 events or non-events (min_cell=60)" in capsys.readouterr().out
    report = json.loads(out.read_text())
    site = report["methods"]["federated Cox"]["sites"]["south"]  # 45 test patients
    assert site["events"] is None and site["c_index"] is None and site["uno_c"] is None
    assert site["c_index_reason"].startswith("suppressed")


def test_a_site_whose_own_information_is_singular_still_joins_the_federated_fit(
        tmp_path, capsys):
    sites = [_write_site(tmp_path / "north.csv", 300, 0),
             _write_site(tmp_path / "clinic.csv", 150, 1, constant=True),  # one age for all
             _write_site(tmp_path / "east.csv", 240, 2)]
    out = tmp_path / "singular.json"
    assert _train(sites, "--l2", "0", "--json", str(out)) == 0
    printed = capsys.readouterr().out
    assert "alone: clinic: n/a: the summed information is singular" in printed
    methods = json.loads(out.read_text())["methods"]
    assert methods["alone: clinic"]["coefficients"] is None
    assert methods["alone: clinic"]["sites"]["north"]["c_index"] is None
    assert methods["federated Cox"]["pooled"]["c_index"] > 0.6
    assert np.isfinite(methods["federated Cox"]["coefficients"]["Age (years)"])


@pytest.mark.parametrize("extra, message", [
    (["--target", "x"], "--target 'x' and --time and --event both name the outcome"),
    (["--drop-event"], "--time needs --event too"),
    (["--horizon", "0"], "--horizon: must be a finite number > 0"),
    (["--strategy", "dpsgd", "--noise-multiplier", "1"], "use --strategy dpfedavg"),
    (["--model", "mlp"], "--model mlp applies to a 0/1 outcome"),
])
def test_outcome_options_are_refused_in_one_line(sites, capsys, extra, message):
    args = ["train", "--time", TIME] + ([] if "--drop-event" in extra else ["--event", EVENT])
    args += [e for e in extra if e != "--drop-event"]
    for s in sites:
        args += ["--site", str(s)]
    assert main(args) == 2
    assert message in _error(capsys)


def test_neither_outcome_and_survival_options_with_target_are_refused(sites, capsys):
    assert main(["train", "--site", str(sites[0])]) == 2
    assert "the outcome is missing: give --target COLUMN" in _error(capsys)
    assert main(["train", "--site", str(sites[0]), "--target", EVENT, "--horizon", "3"]) == 2
    assert "--horizon applies to a time-to-event outcome" in _error(capsys)


@pytest.mark.parametrize("row, message", [
    ("0.1,50.0,-1.5,1", "row 4: value -1.5 is not a valid time (it must be a number >= 0)"),
    ("0.1,50.0,,1", "row 4: the time is missing"),
    ("0.1,50.0,2.0,2", "row 4: value 2 is not a valid event indicator (it must be 0 or 1)"),
])
def test_bad_times_and_events_are_refused_naming_the_file_and_row(sites, tmp_path, capsys,
                                                                  row, message):
    _write_site(sites[1], 180, 1, rows={3: row})
    assert _train(sites) == 2
    err = _error(capsys)
    assert "south.csv" in err and message in err


def test_a_site_without_events_is_refused_saying_what_it_can_contribute(sites, tmp_path,
                                                                        capsys):
    _write_site(sites[2], 240, 2, events=False)
    assert _train(sites) == 2
    err = _error(capsys)
    assert "site 'east' has no event among its 180 patients" in err
    assert "Kaplan-Meier curve (describe --time --event)" in err and "nothing to a Cox" in err


def _describe(sites, *extra):
    args = ["describe", "--columns", "marker", *extra]
    for s in sites:
        args += ["--site", str(s)]
    return main(args)


def test_describe_adds_the_federated_kaplan_meier_curve_with_small_cells_merged(
        sites, tmp_path, capsys):
    out = tmp_path / "km.json"
    assert _describe(sites, "--time", TIME, "--event", EVENT, "--min-cell", "20",
                     "--json", str(out)) == 0
    assert "Federated Kaplan-Meier curve: 3 sites' counts" in capsys.readouterr().out
    km = json.loads(out.read_text())["kaplan_meier"]
    at_risk, events = np.array(km["at_risk"]), np.array(km["events"])
    censored = at_risk - events - np.r_[at_risk[1:], 0]
    for counts in (at_risk, events, censored):
        assert np.all((counts == 0) | (counts >= 20))
    assert at_risk[0] == 720 and np.all(np.diff(km["survival"]) <= 0)


def test_describe_kaplan_meier_without_merging_is_the_pooled_curve_of_the_rounded_times(
        sites, tmp_path):
    sksurv = pytest.importorskip("sksurv.nonparametric")
    out = tmp_path / "km.json"
    assert _describe(sites, "--time", TIME, "--event", EVENT, "--min-cell", "1",
                     "--km-step", "0.5", "--json", str(out)) == 0
    km = json.loads(out.read_text())["kaplan_meier"]
    rows = np.vstack([np.genfromtxt(s, delimiter=",", skip_header=1) for s in sites])
    rounded = np.ceil(rows[:, 2] / 0.5) * 0.5  # each time up to its row's end
    times, survival = sksurv.kaplan_meier_estimator(rows[:, 3].astype(bool), rounded)
    at = np.isin(times, km["times"])
    assert at.sum() >= 10
    np.testing.assert_allclose(np.array(km["survival"])[np.isin(km["times"], times)],
                               survival[at], rtol=1e-12)


def test_describe_refuses_a_bad_time_or_a_lone_time_column(sites, capsys):
    assert _describe(sites, "--time", TIME) == 2
    assert "--time needs --event too" in _error(capsys)
    _write_site(sites[0], 300, 0, rows={6: "0.1,50.0,-3,0"})
    assert _describe(sites, "--time", TIME, "--event", EVENT) == 2
    assert "north.csv: column 'Follow-up (years)' row 7: the time is -3, which is negative" \
        in _error(capsys)
