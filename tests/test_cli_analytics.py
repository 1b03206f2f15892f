"""The describe and kmeans commands on users' CSV files: tables, JSON, clear errors."""

import json
import shutil

import numpy as np
import pytest

from fedlab import data
from fedlab.__main__ import main


@pytest.fixture
def csvs(tmp_path):
    paths = []
    for slug in ("metro_university", "hillcrest_rural", "lakeview_general"):
        target = tmp_path / f"{slug}.csv"
        shutil.copy(data.DATA_DIR / f"{slug}_train.csv", target)
        paths.append(target)
    return paths


def _args(paths):
    return [a for p in paths for a in ("--site", str(p))]


def test_describe_prints_a_federated_table_with_suppression_and_writes_json(csvs, tmp_path,
                                                                           capsys):
    out = tmp_path / "summary.json"
    assert main(["describe", *_args(csvs), "--columns", "age,hdl,cvd_10y",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Federated summary of 2962 records" in text and "median" in text
    summary = json.loads(out.read_text())
    hospitals = {h.slug: h for h in data.load_hospitals()}
    hdl = np.concatenate([hospitals[p.stem].train.column("hdl") for p in csvs])
    assert summary["columns"]["hdl"]["n"] == np.sum(~np.isnan(hdl))
    assert summary["columns"]["hdl"]["missing"] == np.sum(np.isnan(hdl))
    np.testing.assert_allclose(summary["columns"]["hdl"]["mean"], np.nanmean(hdl))
    assert summary["min_cell"] == 5 and summary["sites"] == [p.stem for p in csvs]


def test_describe_refuses_what_a_tiny_site_would_disclose(csvs, tmp_path, capsys):
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("age,sbp\n61,140\n45,120\n")
    assert main(["describe", "--site", str(csvs[0]), "--site", str(tiny),
                 "--columns", "age,sbp"]) == 0
    text = capsys.readouterr().out
    assert "suppr." in text and "site 'tiny' refuses" in text


def test_kmeans_prints_centres_in_the_columns_units_and_writes_json(csvs, tmp_path, capsys):
    out = tmp_path / "kmeans.json"
    argv = ["kmeans", *_args(csvs), "--k", "3", "--columns", "age,sbp,hdl", "--json", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "Federated k-means, k = 3, on 2962 records at 3 sites" in text
    assert "lakeview_general: 135 record(s) with missing values filled" in text
    result = json.loads(out.read_text())
    assert np.array(result["centres"]).shape == (3, 3)
    assert sum(result["cluster_sizes"]) == pytest.approx(2962)
    assert 40 < np.array(result["centres"])[:, 0].mean() < 70  # ages, not z-scores

    assert main(argv) == 2  # an existing file is not overwritten ...
    assert "pass --force" in capsys.readouterr().err
    assert main([*argv, "--force", "--secure-aggregation"]) == 0  # ... unless forced
    secure = json.loads(out.read_text())
    np.testing.assert_allclose(secure["centres"], result["centres"], atol=1e-6)


@pytest.mark.parametrize("content, argv, message", [
    ("id,age\nP1,61\nP2,45\n", [], "column 'id' row 1: 'P1' is not a number"),
    ("age,sbp\n", [], "no data rows"),
    ("", [], "the file is empty"),
    ("age,sbp\n61,140\n", ["--columns", "age,bmi"], "missing column 'bmi'"),
])
def test_bad_files_are_one_clear_line_with_status_2(csvs, tmp_path, capsys, content, argv,
                                                    message):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    for command in (["describe"], ["kmeans", "--k", "2"]):
        assert main([*command, "--site", str(bad), *argv]) == 2
        err = capsys.readouterr().err
        assert "bad.csv" in err and message in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


def test_kmeans_names_the_rules_for_k(csvs, tmp_path, capsys):
    small = tmp_path / "small.csv"
    small.write_text("age,sbp\n61,140\n45,120\n50,130\n")
    assert main(["kmeans", "--site", str(small), "--k", "4"]) == 2
    assert "--k must be between 1 and the 3 records" in capsys.readouterr().err
    assert main(["kmeans", "--site", str(csvs[0]), "--k", "0"]) == 2
    assert main(["kmeans", "--site", str(tmp_path / "nope.csv"), "--k", "2"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_the_id_column_hint_names_the_option(tmp_path, capsys):
    site = tmp_path / "ids.csv"
    site.write_text("id,age\nP1,61\nP2,45\n")
    assert main(["describe", "--site", str(site)]) == 2
    assert "pass --columns" in capsys.readouterr().err


def _records(tmp_path, name, n, seed=1):
    rng = np.random.default_rng(seed)
    rows = [f"{rng.integers(40, 80)},{rng.normal(130, 15):.0f}" for _ in range(n)]
    path = tmp_path / name
    path.write_text("age,sbp\n" + "\n".join(rows) + "\n")
    return path, rows


def test_describe_refuses_a_missing_count_of_one(tmp_path, capsys):
    """Issue 21: a 29-record site with one empty sbp cell printed 'sbp 28, missing 1'."""
    path, rows = _records(tmp_path, "clinic.csv", 29)
    rows[3] = rows[3].split(",")[0] + ","
    path.write_text("age,sbp\n" + "\n".join(rows) + "\n")
    out = tmp_path / "s.json"
    assert main(["describe", "--site", str(path), "--json", str(out)]) == 0
    sbp = json.loads(out.read_text())["columns"]["sbp"]
    assert sbp["n"] is None and sbp["missing"] is None and sbp["mean"] is None
    assert "'missing sbp' holds fewer than 5" in capsys.readouterr().out


def test_describe_with_an_audit_log_refuses_the_run_that_lost_one_patient(tmp_path, capsys):
    """Issue 21: two --json runs on 39 and 38 rows gave the dropped patient's record."""
    path, rows = _records(tmp_path, "clinic.csv", 39)
    log = tmp_path / "audit.jsonl"
    argv = ["describe", "--site", str(path), "--audit-log", str(log)]
    assert main([*argv, "--json", str(tmp_path / "first.json")]) == 0
    first = json.loads((tmp_path / "first.json").read_text())
    assert first["columns"]["sbp"]["n"] == 39
    assert "no --audit-log" not in capsys.readouterr().out
    size = log.stat().st_size
    assert main(argv) == 0  # the same file again: the same groups, answered
    assert "Federated summary of 39 records" in capsys.readouterr().out
    path.write_text("age,sbp\n" + "\n".join(rows[:5] + rows[6:]) + "\n")
    assert main([*argv, "--json", str(tmp_path / "second.json")]) == 0
    second = json.loads((tmp_path / "second.json").read_text())
    assert second["n_records"] is None
    assert all(second["columns"][c]["mean"] is None for c in ("age", "sbp"))
    assert "(differencing)" in capsys.readouterr().out
    assert log.stat().st_size > size  # appended
    assert main(["describe", "--site", str(path), "--audit-log", str(path)]) == 2
    assert "is an input of the command" in capsys.readouterr().err


@pytest.mark.parametrize("content, argv, message", [
    ("age,sbp\n61,140\n", ["--columns", ","], "--columns must name at least one column"),
    ("age,sbp\n1_000,140\n", [], "'1_000' is not a number (write a plain decimal"),
    ("age;sbp\n61;140\n45;120\n", [], "the file seems to use ';' between values"),
])
def test_describe_and_kmeans_refuse_in_one_line(tmp_path, capsys, content, argv, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    for command in (["describe"], ["kmeans", "--k", "1"]):
        assert main([*command, "--site", str(bad), *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


def test_kmeans_secure_aggregation_at_120000_rows_a_site(tmp_path, capsys):
    """Issue 21: 'raise secagg_range', an option the command line does not have."""
    rng = np.random.default_rng(0)
    paths = []
    for name, shift in (("a", 0.0), ("b", 3.0)):
        X = rng.normal(shift, 1.0, (120_000, 2)).round(3)
        path = tmp_path / f"{name}.csv"
        np.savetxt(path, X, delimiter=",", header="x,y", comments="", fmt="%.3f")
        paths.append(path)
    out = tmp_path / "k.json"
    assert main(["kmeans", *_args(paths), "--k", "2", "--secure-aggregation", "--max-iter",
                 "5", "--json", str(out)]) == 0
    secure = json.loads(out.read_text())
    assert main(["kmeans", *_args(paths), "--k", "2", "--max-iter", "5", "--json", str(out),
                 "--force"]) == 0
    np.testing.assert_allclose(secure["centres"], json.loads(out.read_text())["centres"],
                               atol=1e-6)


def test_kmeans_suppresses_a_lone_outlier_and_refuses_a_small_missing_count(tmp_path,
                                                                            capsys):
    rng = np.random.default_rng(2)
    rows = [f"{x:.2f},{y:.2f}" for x, y in rng.normal(0, 1, (40, 2))] + ["30,30"]
    (tmp_path / "a.csv").write_text("x,y\n" + "\n".join(rows) + "\n")
    other = [f"{x:.2f},{y:.2f}" for x, y in rng.normal(5, 1, (40, 2))]
    (tmp_path / "b.csv").write_text("x,y\n" + "\n".join(other) + "\n")
    out = tmp_path / "k.json"
    assert main(["kmeans", "--site", str(tmp_path / "a.csv"), "--site", str(tmp_path / "b.csv"),
                 "--k", "2", "--json", str(out)]) == 0
    assert "cluster of fewer than 5: left out of that site's sums" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert sorted(result["cluster_sizes"]) == [40, 40] and result["suppressed"]
    (tmp_path / "a.csv").write_text("x,y\n" + "\n".join(rows + ["1.0,"]) + "\n")
    capsys.readouterr()
    assert main(["kmeans", "--site", str(tmp_path / "a.csv"), "--k", "3"]) == 2
    assert "'missing y' holds fewer than 5" in capsys.readouterr().err
