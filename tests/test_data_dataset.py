"""The dataset description (fedlab.data.Dataset): outcome kinds, split and id columns, CLI."""

import csv
import json

import numpy as np
import pytest

from fedlab import data
from fedlab.__main__ import main

ODD = {"age": "Age (years)", "sbp": "SBP (mmHg)", "y": "Event (10 y)",
       "split": "Split (static)", "id": "Patient ID"}


def _write(path, header, rows):
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _site(path, n, seed, *, names=ODD, id_prefix="P", split_every=4):
    """A small site: age, sbp, a 0/1 outcome, a static split (every 4th row test), an id."""
    rng = np.random.default_rng(seed)
    age = rng.integers(30, 80, n)
    sbp = rng.integers(100, 180, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(age - 55) / 8))).astype(int)
    rows = [[f"{id_prefix}-{i:04d}", a, s, v, "test" if i % split_every == 0 else "train"]
            for i, (a, s, v) in enumerate(zip(age, sbp, y))]
    header = [names["id"], names["age"], names["sbp"], names["y"], names["split"]]
    return _write(path, header, rows)


# --- reading through the description ---------------------------------------------------


def test_a_split_column_puts_each_row_where_it_says(tmp_path):
    path = _site(tmp_path / "a.csv", 40, 0)
    spec = data.Dataset([path], target=ODD["y"], split_column=ODD["split"],
                        id_column=ODD["id"])
    [site] = spec.load()
    assert site.feature_names == (ODD["age"], ODD["sbp"])  # id, outcome, split: not features
    assert site.n_test == 10 and site.n_train == 30
    assert list(site.ids_test) == [f"P-{i:04d}" for i in range(0, 40, 4)]
    assert all(int(i[2:]) % 4 for i in site.ids_train)


@pytest.mark.parametrize("value", ["Train", "test ", "", "validation"])
def test_a_split_value_other_than_train_or_test_names_file_column_and_row(tmp_path, value):
    path = _site(tmp_path / "a.csv", 12, 0)
    lines = path.read_text().splitlines()
    cells = lines[5].split(",")
    cells[-1] = value
    lines[5] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    spec = data.Dataset([path], target=ODD["y"], split_column=ODD["split"],
                        id_column=ODD["id"])
    with pytest.raises(ValueError, match=r"a\.csv: column 'Split \(static\)' row 5: "):
        spec.load()


def test_a_split_with_an_empty_side_is_refused(tmp_path):
    path = _site(tmp_path / "a.csv", 12, 0, split_every=100)  # only row 0 is test
    rows = [line.replace(",test", ",train") for line in path.read_text().splitlines()]
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match="has no 'test' rows"):
        data.Dataset([path], target=ODD["y"], split_column=ODD["split"],
                     id_column=ODD["id"]).load()


def test_ids_may_be_text_but_not_missing_or_repeated(tmp_path):
    path = _write(tmp_path / "a.csv", ["id", "age", "y"],
                  [["anna k.", 50, 0], ["bo", 60, 1], ["anna k.", 70, 1]])
    with pytest.raises(ValueError, match=r"a\.csv: column 'id' row 3: patient id 'anna k\.' "
                                         r"is also in row 1"):
        data.read_site_csv(path, target="y", id_column="id")
    _write(path, ["id", "age", "y"], [["anna", 50, 0], [" ", 60, 1]])
    with pytest.raises(ValueError, match="row 2: the patient id is missing"):
        data.read_site_csv(path, target="y", id_column="id")


def test_outcome_split_and_id_columns_are_never_features(tmp_path):
    path = _site(tmp_path / "a.csv", 20, 0)
    with pytest.raises(ValueError, match="'Split \\(static\\)' is the split column"):
        data.Dataset([path], target=ODD["y"], split_column=ODD["split"],
                     features=[ODD["age"], ODD["split"]])
    with pytest.raises(ValueError, match="the id column 'Patient ID' cannot also be a feature"):
        data.read_site_csv(path, target=ODD["y"], id_column=ODD["id"],
                           features=[ODD["age"], ODD["id"]])


def test_the_shipped_outcome_columns_are_never_inferred_as_features():
    # no schema, no --features: cvd_time, cvd_event and noncvd_death would leak the label
    site = data.read_site_csv(data.DATA_DIR / "metro_university_train.csv", target="cvd_10y")
    assert site.feature_names == data.FEATURES


def test_reading_with_text_columns_gives_the_same_numbers_as_the_fast_path(tmp_path):
    path = _site(tmp_path / "a.csv", 300, 1)
    fast = data.read_site_csv(path, target=ODD["y"], features=[ODD["age"], ODD["sbp"]])
    careful = data.read_site_csv(path, target=ODD["y"], id_column=ODD["id"],
                                 features=[ODD["age"], ODD["sbp"]])
    np.testing.assert_array_equal(fast.X, careful.X)
    np.testing.assert_array_equal(fast.y, careful.y)
    assert fast.ids is None and len(careful.ids) == 300


@pytest.mark.parametrize("kwargs, message", [
    ({"outcome": "binary"}, "needs a target column"),
    ({"outcome": "survival", "time": "t"}, "needs a event column"),
    ({"target": "y", "time": "t"}, "has no time column"),
    ({"outcome": "count", "target": "y"}, "outcome must be one of"),
    ({"target": "y", "id_column": "y"}, "column 'y' is given two roles"),
    ({"target": "y", "split_column": "s", "test_size": 0.2}, "both say how to split"),
    ({"target": "y", "test_size": 1.5}, "test_size"),
])
def test_a_description_that_does_not_hold_together_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.Dataset(["a.csv"], **kwargs)


def test_sites_need_distinct_names():
    with pytest.raises(ValueError, match="distinct names"):
        data.Dataset(["x/a.csv", "y/a.csv"], target="y")


# --- time-to-event outcomes ---------------------------------------------------------------


def test_a_survival_outcome_reads_times_and_events(tmp_path):
    path = _write(tmp_path / "s.csv", ["age", "T (years)", "died"],
                  [[50, 2.5, 1], [61, 7.25, 0], [70, 0, 1]])
    site = data.read_site_csv(path, time="T (years)", event="died")
    assert site.outcome == "survival" and site.feature_names == ("age",)
    np.testing.assert_array_equal(site.time, [2.5, 7.25, 0.0])
    np.testing.assert_array_equal(site.y, [1, 0, 1])


@pytest.mark.parametrize("time, event, message", [
    ("-1", "1", "row 2: value -1 is not a valid time"),
    ("", "1", "row 2: the time is missing"),
    ("3", "2", "row 2: value 2 is not a valid event indicator"),
    ("inf", "1", "row 2: 'inf' is not a finite number"),
])
def test_bad_times_and_events_name_the_row(tmp_path, time, event, message):
    path = _write(tmp_path / "s.csv", ["age", "t", "e"], [[50, 2.5, 1], [61, time, event]])
    with pytest.raises(ValueError, match=message):
        data.read_site_csv(path, time="t", event="e")


def test_the_shipped_hospitals_as_a_survival_dataset():
    survival = data.load_hospitals(outcome="survival")
    binary = data.load_hospitals()
    for s, b in zip(survival, binary):
        np.testing.assert_array_equal(s.X_train, b.X_train)  # same patients, same features
        assert s.feature_names == data.FEATURES
        with (data.DATA_DIR / f"{s.slug}_test.csv").open() as f:
            rows = list(csv.DictReader(f))
        np.testing.assert_array_equal(s.time_test, [float(r["cvd_time"]) for r in rows])
        np.testing.assert_array_equal(s.y_test, [int(r["cvd_event"]) for r in rows])
        assert s.train.time is s.time_train or np.array_equal(s.train.time, s.time_train)


# --- Flower: a SuperNode reads its site from the configs the description writes -----------


def test_node_and_run_config_give_back_the_same_site(tmp_path):
    path = _site(tmp_path / "north.csv", 50, 3)
    spec = data.Dataset([path], target=ODD["y"], split_column=ODD["split"],
                        id_column=ODD["id"])
    node = data.dataset_from_config(spec.node_config(0), spec.run_config())
    a, b = spec.read_site(0), node.read_site(0)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.ids_test, b.ids_test)
    assert node.sites[0].name == "north"


def test_a_random_split_from_the_configs_is_the_seeded_one(tmp_path):
    path = _site(tmp_path / "north.csv", 80, 3)
    spec = data.Dataset([path], target=ODD["y"], id_column=ODD["id"], test_size=0.3,
                        features=[ODD["sbp"], ODD["age"]])
    node = data.dataset_from_config(spec.node_config(0), spec.run_config())
    a, b = spec.read_site(0, random_state=7), node.read_site(0, random_state=7)
    np.testing.assert_array_equal(a.ids_test, b.ids_test)
    assert a.n_test == 24 and b.feature_names == (ODD["sbp"], ODD["age"])


# --- the command line ---------------------------------------------------------------------


def _site_args(paths):
    return [a for p in paths for a in ("--site", str(p))]


def test_train_uses_a_published_split_with_odd_column_names(tmp_path, capsys):
    paths = [_site(tmp_path / f"{name}.csv", 160, seed) for seed, name in enumerate("ab")]
    out = tmp_path / "r.json"
    argv = ["train", *_site_args(paths), "--target", ODD["y"], "--split-column",
            ODD["split"], "--id-column", ODD["id"], "--rounds", "2", "--json", str(out)]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    for site in result["methods"]["centralized"]["sites"].values():
        assert site["n"] == 40  # exactly the rows marked test
    assert "Patient ID" not in capsys.readouterr().err


@pytest.mark.parametrize("extra, words", [
    (["--test-size", "0.3"], ["--split-column", "--test-size", "give one"]),
    (["--features", "Age (years),Split (static)"], ["--features", "Split (static)"]),
    (["--id-column", "Event (10 y)"], ["--target", "--id-column", "Event (10 y)"]),
])
def test_train_refuses_contradictory_site_options_in_one_line(tmp_path, capsys, extra, words):
    path = _site(tmp_path / "a.csv", 40, 0)
    argv = ["train", "--site", str(path), "--target", ODD["y"], "--split-column",
            ODD["split"], *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for word in words:
        assert word in err


def test_train_names_the_file_and_row_of_a_bad_split_value(tmp_path, capsys):
    paths = [_site(tmp_path / "a.csv", 40, 0), _site(tmp_path / "b.csv", 40, 1)]
    text = paths[1].read_text().replace(",test\n", ",TEST\n", 1)
    paths[1].write_text(text)
    assert main(["train", *_site_args(paths), "--target", ODD["y"], "--split-column",
                 ODD["split"], "--id-column", ODD["id"]]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "b.csv" in err and "Split (static)" in err and "row 1" in err and "'TEST'" in err


def test_flower_checks_every_site_file_before_any_process_starts(tmp_path, capsys):
    paths = [_site(tmp_path / "a.csv", 40, 0), _site(tmp_path / "b.csv", 40, 1)]
    paths[1].write_text(paths[1].read_text().replace(",test\n", ",TEST\n", 1))
    assert main(["flower", *_site_args(paths), "--target", ODD["y"], "--split-column",
                 ODD["split"], "--id-column", ODD["id"], "--rounds", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "b.csv" in err and "row 1" in err
