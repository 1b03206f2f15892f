"""Tests for fedlab.data: shipped hospitals, generator, CSV checks and partitions."""

import csv
import math
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab import data

SHIPPED_DIR = data.DATA_DIR
HEADER = (*data.FEATURES, data.TARGET)
GOOD_ROWS = [
    ["61", "0", "27.3", "124", "0", "180", "47", "1", "0", "92", "5.4", "0"],
    ["55", "1", "31.0", "142", "1", "210", "38", "0", "1", "160", "7.9", "1"],
    ["47", "0", "24.1", "118", "0", "195", "", "0", "0", "88", "5.2", "0"],
]


@pytest.fixture(scope="module")
def hospitals():
    return {h.slug: h for h in data.load_hospitals()}


def _all_X(hospital):
    return np.vstack([hospital.X_train, hospital.X_test])


def _write_csv(path, header=HEADER, rows=GOOD_ROWS):
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _with_cell(row_number, column, value):
    """GOOD_ROWS with one cell replaced (row_number is 1-based, as in error messages)."""
    rows = [list(row) for row in GOOD_ROWS]
    rows[row_number - 1][HEADER.index(column)] = value
    return rows


# --- the shipped hospitals -------------------------------------------------------------


def test_load_hospitals_returns_five_named_hospitals_in_profile_order(hospitals):
    loaded = data.load_hospitals()

    assert [h.slug for h in loaded] == list(data.PROFILES)
    assert len({h.name for h in loaded}) == 5
    for h in loaded:
        assert h.feature_names == data.FEATURES
        assert h.X_train.shape == (h.n_train, len(data.FEATURES))
        assert h.X_test.shape == (h.n_test, len(data.FEATURES))
        assert h.description
        assert h.n_train + h.n_test == data.PROFILES[h.slug].n_patients


def test_schema_constants_agree():
    assert data.TARGET == "cvd_10y"
    assert data.FEATURES[:4] == ("age", "sex", "bmi", "sbp")
    assert tuple(data.UNITS) == (*HEADER, data.TIME, data.EVENT, "noncvd_death")
    assert data.OUTCOMES == (data.TARGET, data.TIME, data.EVENT, "noncvd_death")
    assert data.UNITS["sbp"] == "mmHg" and data.UNITS["cvd_time"] == "years"


def test_hospital_sizes_differ_a_lot(hospitals):
    sizes = [h.n_train + h.n_test for h in hospitals.values()]

    assert len(set(sizes)) == 5
    assert max(sizes) / min(sizes) >= 5


def test_test_split_is_a_quarter_and_stratified(hospitals):
    for h in hospitals.values():
        assert h.n_test == pytest.approx(0.25 * (h.n_train + h.n_test), abs=2)
        assert h.y_test.mean() == pytest.approx(h.y_train.mean(), abs=0.02)


def test_prevalences_are_between_5_and_25_percent(hospitals):
    for h in hospitals.values():
        assert 0.05 <= h.prevalence <= 0.25, h.name
    assert hospitals["hillcrest_rural"].prevalence >= 0.20
    assert hospitals["rosewood_womens"].prevalence <= 0.08


def test_device_shift_site_records_higher_sbp(hospitals):
    sbp = data.FEATURES.index("sbp")
    riverside = np.mean(_all_X(hospitals["riverside_community"])[:, sbp])
    for slug in ("metro_university", "lakeview_general", "rosewood_womens"):
        assert riverside > np.mean(_all_X(hospitals[slug])[:, sbp]) + 5


def test_device_shift_adds_exactly_the_offset_to_recorded_sbp():
    profile = data.PROFILES["riverside_community"]
    honest = data.Profile(**{**profile.__dict__, "sbp_offset": 0.0})

    shifted = data.generate_patients(200, profile=profile, random_state=3)
    true = data.generate_patients(200, profile=honest, random_state=3)

    np.testing.assert_allclose(shifted.column("sbp") - true.column("sbp"), 10.0)
    np.testing.assert_array_equal(shifted.y, true.y)


def test_missing_lab_site_has_nans_only_in_hdl(hospitals):
    X = _all_X(hospitals["lakeview_general"])
    missing = np.isnan(X).mean(axis=0)

    assert missing[data.FEATURES.index("hdl")] == pytest.approx(0.30, abs=0.01)
    assert missing.sum() == missing[data.FEATURES.index("hdl")]
    for slug, h in hospitals.items():
        if slug != "lakeview_general":
            assert not np.isnan(_all_X(h)).any(), slug


def test_sex_skew_site_is_mostly_women(hospitals):
    sex = data.FEATURES.index("sex")
    assert np.mean(_all_X(hospitals["rosewood_womens"])[:, sex]) < 0.15
    assert 0.4 < np.mean(_all_X(hospitals["metro_university"])[:, sex]) < 0.6


def test_write_hospitals_reproduces_the_shipped_files_byte_for_byte(tmp_path):
    paths = data.write_hospitals(tmp_path)

    assert len(paths) == 10
    assert sorted(p.name for p in paths) == sorted(p.name for p in SHIPPED_DIR.glob("*.csv"))
    for path in paths:
        content = path.read_bytes()
        assert b"\r" not in content
        assert content == (SHIPPED_DIR / path.name).read_bytes(), path.name


def test_load_hospitals_reads_env_var_and_reports_a_missing_file(tmp_path, monkeypatch):
    for path in SHIPPED_DIR.glob("*.csv"):
        shutil.copy(path, tmp_path)
    monkeypatch.setenv("FEDLAB_DATA", str(tmp_path))
    assert len(data.load_hospitals()) == 5

    (tmp_path / "rosewood_womens_test.csv").unlink()
    with pytest.raises(FileNotFoundError, match="rosewood_womens_test.csv"):
        data.load_hospitals()


def test_load_hospitals_rejects_an_implausible_value(tmp_path):
    for path in SHIPPED_DIR.glob("*.csv"):
        shutil.copy(path, tmp_path)
    target = tmp_path / "hillcrest_rural_train.csv"
    lines = target.read_text().splitlines()
    lines[17] = "400" + lines[17][lines[17].index(","):]
    target.write_text("\n".join(lines) + "\n")

    with pytest.raises(ValueError, match=r"hillcrest_rural_train\.csv: column 'age' row 17: "
                                         r"value 400 is outside the plausible range 18-110"):
        data.load_hospitals(tmp_path)


# --- the generator ---------------------------------------------------------------------


def test_generate_patients_is_deterministic_and_plausible():
    a = data.generate_patients(300, profile="hillcrest_rural", random_state=7)
    b = data.generate_patients(300, profile="hillcrest_rural", random_state=7)

    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    for j, name in enumerate(data.FEATURES):
        column = data.SCHEMA[name]
        assert np.all((a.X[:, j] >= column.low) & (a.X[:, j] <= column.high)), name


def test_generated_labels_follow_the_framingham_risk():
    site = data.generate_patients(20000, profile="metro_university", random_state=0)
    c = {name: site.column(name) for name in data.FEATURES}

    risk = data.framingham_risk(c["age"], c["sex"], c["total_chol"], c["hdl"], c["sbp"],
                                c["bp_treated"], c["smoker"], c["diabetes"],
                                shift=data.PROFILES["metro_university"].risk_shift)

    assert site.prevalence == pytest.approx(risk.mean(), abs=0.01)
    assert site.y[risk > 0.3].mean() > 3 * site.y[risk < 0.1].mean()


def test_generated_features_have_the_documented_correlations():
    site = data.generate_patients(20000, profile="metro_university", random_state=0)
    corr = np.corrcoef(site.X, rowvar=False)
    i = {name: j for j, name in enumerate(data.FEATURES)}

    assert corr[i["bmi"], i["sbp"]] > 0.15
    assert corr[i["bmi"], i["hdl"]] < -0.15
    assert corr[i["age"], i["sbp"]] > 0.2
    assert corr[i["glucose"], i["hba1c"]] > 0.7
    diabetic = site.column("diabetes") == 1
    assert np.mean(site.column("glucose")[diabetic]) > 140
    assert np.mean(site.column("hba1c")[~diabetic]) < 5.8


def test_framingham_reproduces_the_published_worked_example():
    # D'Agostino et al. 2008, Table 3: a 61-year-old woman -> 10.48 %.
    risk = data.framingham_risk(61, 0, 180, 47, 124, 0, 1, 0)

    np.testing.assert_allclose(risk, [0.1048], atol=5e-5)


def test_generate_patients_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        data.generate_patients(0)
    with pytest.raises(ValueError, match="profile must be"):
        data.generate_patients(10, profile="nowhere")
    with pytest.raises(TypeError, match="random_state"):
        data.generate_patients(10, random_state="seed")


# --- reading a site's CSV --------------------------------------------------------------


def test_read_site_csv_reads_numbers_and_empty_cells(tmp_path):
    path = _write_csv(tmp_path / "a.csv")

    site = data.read_site_csv(path, target=data.TARGET, schema=data.SCHEMA)

    assert site.name == "a"
    assert site.feature_names == data.FEATURES
    np.testing.assert_array_equal(site.y, [0, 1, 0])
    assert np.isnan(site.X[2, data.FEATURES.index("hdl")])
    assert np.isnan(site.X).sum() == 1


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        (_with_cell(3, "sbp", "abc"), r"a\.csv: column 'sbp' row 3: 'abc' is not a number"),
        (_with_cell(2, "age", "400"),
         r"a\.csv: column 'age' row 2: value 400 is outside the plausible range 18-110 years"),
        (_with_cell(1, "sbp", "-120"), r"a\.csv: column 'sbp' row 1: value -120 is outside"),
        (_with_cell(2, "cvd_10y", "2"), r"a\.csv: column 'cvd_10y' row 2: value 2 is not"),
        (_with_cell(1, "cvd_10y", ""), r"a\.csv: column 'cvd_10y' row 1: the target is missing"),
        (_with_cell(3, "smoker", "0.5"), r"a\.csv: column 'smoker' row 3: value 0.5 is not 0 or 1"),
        (_with_cell(2, "glucose", "inf"), r"a\.csv: column 'glucose' row 2: 'inf' is not a finite"),
        (_with_cell(1, "hdl", "NA"), r"a\.csv: column 'hdl' row 1: 'NA' is not a number"),
    ],
)
def test_read_site_csv_names_file_column_row_and_value(tmp_path, rows, match):
    path = _write_csv(tmp_path / "a.csv", rows=rows)

    with pytest.raises(ValueError, match=match):
        data.read_site_csv(path, target=data.TARGET, schema=data.SCHEMA)


def test_read_site_csv_reports_a_missing_column(tmp_path):
    drop = HEADER.index("hdl")
    header = [h for j, h in enumerate(HEADER) if j != drop]
    rows = [[v for j, v in enumerate(row) if j != drop] for row in GOOD_ROWS]
    path = _write_csv(tmp_path / "a.csv", header=header, rows=rows)

    with pytest.raises(ValueError, match=r"a\.csv: missing column 'hdl' \(expected columns: age"):
        data.read_site_csv(path, target=data.TARGET, schema=data.SCHEMA)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"a\.csv: the file is empty"),
        (",".join(HEADER) + "\n", r"a\.csv: no data rows below the header"),
        ("age,cvd_10y\n50,0\n61\n", r"a\.csv: row 2 has 1 values but the header has 2 columns"),
        ("age,age,cvd_10y\n1,2,0\n", r"a\.csv: duplicate column names"),
    ],
)
def test_read_site_csv_rejects_malformed_files(tmp_path, text, match):
    path = tmp_path / "a.csv"
    path.write_text(text)

    with pytest.raises(ValueError, match=match):
        data.read_site_csv(path, target=data.TARGET)


def test_read_site_csv_without_schema_only_checks_numbers(tmp_path):
    path = tmp_path / "own_site.csv"
    path.write_text("id,age,marker,event\n1,400,-3.5,1\n2,20,,0\n\n")

    site = data.read_site_csv(path, target="event", features=["marker", "age"])

    assert site.name == "own_site"
    assert site.feature_names == ("marker", "age")
    np.testing.assert_array_equal(site.X, [[-3.5, 400.0], [np.nan, 20.0]])
    np.testing.assert_array_equal(site.y, [1, 0])


def test_read_site_csv_hints_at_features_for_an_id_column(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("patient_id,age,event\nP001,50,0\n")

    with pytest.raises(ValueError, match=r"b\.csv: column 'patient_id' row 1: 'P001' is not a "
                                         r"number.*pass features="):
        data.read_site_csv(path, target="event")
    site = data.read_site_csv(path, target="event", features=["age"])
    np.testing.assert_array_equal(site.X, [[50.0]])


@settings(max_examples=30, deadline=None)
@given(
    X=st.lists(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan)),
                        min_size=3, max_size=3), min_size=1, max_size=20),
    seed=st.integers(0, 2**32 - 1),
)
def test_write_then_read_round_trips_exactly(tmp_path_factory, X, seed):
    y = np.random.default_rng(seed).integers(0, 2, len(X))
    site = data.Site("s", X, y, ("a", "b", "c"))
    path = tmp_path_factory.mktemp("csv") / "s.csv"

    back = data.read_site_csv(data.write_site_csv(site, path, target="label"), target="label")

    np.testing.assert_array_equal(back.X, site.X)
    np.testing.assert_array_equal(back.y, site.y)


# --- sites, splits and shifts ----------------------------------------------------------


def test_site_validates_its_arrays():
    with pytest.raises(ValueError, match="y must hold only 0 and 1, got 2"):
        data.Site("s", [[1.0], [2.0]], [0, 2], ("x",))
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        data.Site("s", [[1.0], [2.0]], [0], ("x",))
    with pytest.raises(ValueError, match="2 columns but 1 feature_names"):
        data.Site("s", [[1.0, 2.0]], [0], ("x",))


def test_site_take_accepts_indices_and_masks():
    site = data.Site("s", [[1.0], [2.0], [3.0]], [0, 1, 0], ("x",))

    np.testing.assert_array_equal(site.take([2, 0]).column("x"), [3.0, 1.0])
    np.testing.assert_array_equal(site.take(site.y == 0).column("x"), [1.0, 3.0])


def test_train_test_split_site_is_stratified_disjoint_and_deterministic():
    site = data.generate_patients(400, profile="metro_university", random_state=1)
    site = data.Site("s", np.column_stack([np.arange(400.0), site.X]), site.y,
                     ("row", *site.feature_names))

    train, test = data.train_test_split_site(site, test_size=0.25, random_state=5)
    again, _ = data.train_test_split_site(site, test_size=0.25, random_state=5)

    rows = np.concatenate([train.column("row"), test.column("row")])
    np.testing.assert_array_equal(np.sort(rows), np.arange(400.0))
    assert test.n_records == pytest.approx(100, abs=1)
    assert test.prevalence == pytest.approx(site.prevalence, abs=0.01)
    np.testing.assert_array_equal(train.X, again.X)


@pytest.mark.parametrize("test_size", [0, 1, 1.5, -0.1])
def test_train_test_split_site_rejects_bad_test_size(test_size):
    site = data.Site("s", [[1.0], [2.0], [3.0]], [0, 1, 0], ("x",))
    message = rf"test_size must be in \(0, 1\), got {test_size}"
    with pytest.raises(ValueError, match=message):
        data.train_test_split_site(site, test_size=test_size)


def test_pool_sites_and_hospital_views(hospitals):
    h = hospitals["hillcrest_rural"]

    pooled = data.pool_sites([h.train, h.test])

    assert pooled.n_records == h.n_train + h.n_test
    assert pooled.prevalence == pytest.approx(h.prevalence)
    with pytest.raises(ValueError, match="has features"):
        data.pool_sites([h.train, data.Site("other", [[1.0]], [0], ("x",))])


def test_shift_feature_keeps_missing_values_missing():
    site = data.Site("s", [[120.0, 1.0], [np.nan, 0.0]], [0, 1], ("sbp", "sex"))

    shifted = data.shift_feature(site, "sbp", offset=10.0, scale=1.1)

    np.testing.assert_allclose(shifted.X, [[142.0, 1.0], [np.nan, 0.0]])


# --- partitions ------------------------------------------------------------------------

counts = st.integers(1, 20).flatmap(
    lambda k: st.tuples(st.integers(k, 400), st.just(k))
)
alphas = st.floats(0.05, 100.0)
seeds = st.integers(0, 2**32 - 1)


def _assert_is_partition(parts, n_records, n_clients):
    assert len(parts) == n_clients
    assert all(len(part) >= 1 for part in parts)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(n_records))


@settings(max_examples=60, deadline=None)
@given(counts=counts, seed=seeds)
def test_partition_iid_covers_every_record_once_with_balanced_sizes(counts, seed):
    n_records, n_clients = counts

    parts = data.partition_iid(n_records, n_clients, random_state=seed)

    _assert_is_partition(parts, n_records, n_clients)
    sizes = [len(part) for part in parts]
    assert max(sizes) - min(sizes) <= 1


@settings(max_examples=60, deadline=None)
@given(counts=counts, alpha=alphas, seed=seeds)
def test_partition_quantity_skew_covers_every_record_once(counts, alpha, seed):
    n_records, n_clients = counts

    parts = data.partition_quantity_skew(n_records, n_clients, alpha=alpha, random_state=seed)

    _assert_is_partition(parts, n_records, n_clients)


@settings(max_examples=60, deadline=None)
@given(
    y=st.lists(st.integers(0, 2), min_size=1, max_size=300),
    n_clients=st.integers(1, 20),
    alpha=alphas,
    seed=seeds,
)
def test_partition_label_skew_covers_every_record_once(y, n_clients, alpha, seed):
    n_clients = min(n_clients, len(y))

    parts = data.partition_label_skew(y, n_clients, alpha=alpha, random_state=seed)

    _assert_is_partition(parts, len(y), n_clients)


@settings(max_examples=30, deadline=None)
@given(counts=counts, alpha=alphas, seed=seeds)
def test_partitions_are_deterministic_given_the_seed(counts, alpha, seed):
    n_records, n_clients = counts
    y = np.arange(n_records) % 2
    calls = [
        lambda: data.partition_iid(n_records, n_clients, random_state=seed),
        lambda: data.partition_quantity_skew(n_records, n_clients, alpha=alpha,
                                             random_state=seed),
        lambda: data.partition_label_skew(y, n_clients, alpha=alpha, random_state=seed),
    ]
    for call in calls:
        for a, b in zip(call(), call()):
            np.testing.assert_array_equal(a, b)


def test_small_alpha_skews_labels_and_large_alpha_does_not():
    y = np.repeat([0, 1], 1000)

    def spread(alpha):
        parts = data.partition_label_skew(y, 10, alpha=alpha, random_state=0)
        return np.mean([abs(y[part].mean() - 0.5) for part in parts])

    assert spread(0.1) > 0.3
    assert spread(1000.0) < 0.05


def test_small_alpha_skews_client_sizes():
    sizes = [len(p) for p in data.partition_quantity_skew(2000, 10, alpha=0.2, random_state=0)]
    assert max(sizes) > 10 * min(sizes)


@pytest.mark.parametrize(
    ("n_clients", "error", "match"),
    [
        (0, ValueError, "n_clients must be >= 1, got 0"),
        (-2, ValueError, "n_clients must be >= 1, got -2"),
        (2.5, TypeError, "n_clients must be an integer, got 2.5"),
        (True, TypeError, "n_clients must be an integer, got True"),
        (11, ValueError, "n_records must be >= n_clients"),
    ],
)
def test_partitions_reject_bad_n_clients(n_clients, error, match):
    with pytest.raises(error, match=match):
        data.partition_iid(10, n_clients)
    with pytest.raises(error, match=match):
        data.partition_quantity_skew(10, n_clients, alpha=1.0)


@pytest.mark.parametrize("alpha", [0, -1.0, math.nan, math.inf])
def test_partitions_reject_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        data.partition_label_skew([0, 1, 0, 1], 2, alpha=alpha)
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        data.partition_quantity_skew(4, 2, alpha=alpha)


def test_partition_label_skew_rejects_more_clients_than_records():
    with pytest.raises(ValueError, match=r"len\(y\) must be >= n_clients"):
        data.partition_label_skew([0, 1], 3, alpha=1.0)

