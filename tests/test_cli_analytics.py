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
