"""The command line end to end: demo, train on users' CSVs, data regeneration, help."""

import json
import subprocess
import sys

import numpy as np
import pytest

from fedlab import data
from fedlab.__main__ import format_table, main


@pytest.mark.slow  # a whole `python -m fedlab` process
def test_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "fedlab", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for command in ("demo", "train", "data", "lessons"):
        assert command in out


def test_demo_prints_the_table_and_writes_json(tmp_path, capsys):
    path = tmp_path / "demo.json"
    assert main(["demo", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "centralized" in out and "fedavg (weighted)" in out
    results = json.loads(path.read_text())
    methods = results["methods"]
    hospitals = [h.name for h in data.load_hospitals()]
    assert {"centralized", "fedavg (mean)", "fedavg (weighted)"} <= set(methods)
    assert {f"alone: {h}" for h in hospitals} <= set(methods)
    new_keys = {"n", "events", "auc_ci", "accuracy_ci", "oe", "oe_ci", "calibration_slope",
                "calibration_intercept", "brier"}
    for m in methods.values():
        assert {"auc", "accuracy", "loss"} | new_keys <= set(m["pooled"])
        assert set(m["sites"]) == set(hospitals)
        for site in m["sites"].values():
            assert new_keys <= set(site)
            low, high = site["auc_ci"]
            assert low < site["auc"] < high
    n_test = {h.name: (h.n_test, int(h.y_test.sum())) for h in data.load_hospitals()}
    for name, site in methods["centralized"]["sites"].items():
        assert (site["n"], site["events"]) == n_test[name]
    # each method's AUC against the centralized model's, paired on the same patients
    versus = results["vs_centralized"]
    assert set(versus) == set(methods) - {"centralized"}
    for name, d in versus.items():
        assert d["difference"] == pytest.approx(
            methods[name]["pooled"]["auc"] - methods["centralized"]["pooled"]["auc"])
        assert d["ci"][0] <= d["difference"] <= d["ci"][1]
    assert "95 % CI" in out and "patients / events" in out
    # the story: FedAvg (weighted) closes most of the gap between one hospital and pooling
    ceiling = methods["centralized"]["pooled"]["auc"]
    floor = np.mean([methods[f"alone: {h}"]["pooled"]["auc"] for h in hospitals])
    fedavg = methods["fedavg (weighted)"]["pooled"]["auc"]
    assert ceiling > floor
    assert (fedavg - floor) / (ceiling - floor) > 0.5


def _write_site(path, n, seed, *, bad_row=None):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(50, 10, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * (x1 + (x2 - 50) / 10)))).astype(int)
    rows = [f"{a:.3f},{b:.2f},{c}" for a, b, c in zip(x1, x2, y)]
    if bad_row is not None:
        rows[bad_row] = "abc,50.0,1"
    path.write_text("marker,age,outcome\n" + "\n".join(rows) + "\n")
    return path


def test_train_runs_the_comparison_on_user_csvs(tmp_path, capsys):
    sites = [_write_site(tmp_path / f"site{k}.csv", n, k) for k, n in
             enumerate((300, 120, 80))]
    out_json = tmp_path / "out.json"
    args = ["train", "--target", "outcome", "--rounds", "10", "--json", str(out_json)]
    for s in sites:
        args += ["--site", str(s)]
    assert main(args) == 0
    methods = json.loads(out_json.read_text())["methods"]
    assert set(methods["centralized"]["sites"]) == {"site0", "site1", "site2"}
    assert methods["fedavg (weighted)"]["pooled"]["auc"] > 0.7


@pytest.mark.slow  # a whole `python -m fedlab` process
def test_train_reports_a_bad_file_clearly_with_nonzero_exit(tmp_path):
    good = _write_site(tmp_path / "good.csv", 100, 0)
    bad = _write_site(tmp_path / "bad.csv", 100, 1, bad_row=4)
    result = subprocess.run([sys.executable, "-m", "fedlab", "train", "--site", str(good),
                             "--site", str(bad), "--target", "outcome"],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "bad.csv" in result.stderr and "marker" in result.stderr
    assert "row 5" in result.stderr


def test_train_names_a_missing_target_column(tmp_path, capsys):
    site = _write_site(tmp_path / "a.csv", 50, 0)
    assert main(["train", "--site", str(site), "--target", "death"]) == 2
    err = capsys.readouterr().err
    assert "a.csv" in err and "death" in err


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--site", str(tmp_path / "nope.csv"), "--target", "y"]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_data_command_regenerates_the_shipped_files_byte_for_byte(tmp_path):
    assert main(["data", "--out", str(tmp_path)]) == 0
    shipped = sorted(p for p in data.DATA_DIR.glob("*.csv"))
    assert shipped
    for path in shipped:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("argv", [["demo", "--rounds", "-1"], ["demo", "--lr", "0"]])
def test_bad_settings_exit_with_status_2(argv, capsys):
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_train_aligns_columns_by_name_and_can_skip_an_id_column(tmp_path, capsys):
    a = _write_site(tmp_path / "a.csv", 200, 0)
    rows = [r.split(",") for r in a.read_text().splitlines()[1:]]
    # site b: the same columns in another order, after a text patient id
    b = tmp_path / "b.csv"
    b.write_text("pid,outcome,age,marker\n" + "".join(
        f"P{k},{r[2]},{r[1]},{r[0]}\n" for k, r in enumerate(rows)))
    out = tmp_path / "out.json"
    common = ["--target", "outcome", "--rounds", "5", "--json", str(out)]

    # the id column first: a clear error that says how to skip it
    assert main(["train", "--site", str(b), "--site", str(a), *common]) == 2
    assert "--features" in capsys.readouterr().err
    assert main(["train", "--site", str(b), "--site", str(a), *common,
                 "--features", "marker,age"]) == 0
    methods = json.loads(out.read_text())["methods"]
    # the same records in both files, read by column name: identical single-site models
    assert methods["alone: a"]["pooled"] == methods["alone: b"]["pooled"]

    # a site without one of the columns is named, never silently misaligned
    c = tmp_path / "c.csv"
    c.write_text("marker,outcome\n" + "".join(f"{r[0]},{r[2]}\n" for r in rows))
    assert main(["train", "--site", str(a), "--site", str(c), *common, "--force"]) == 2
    err = capsys.readouterr().err
    assert "c.csv" in err and "age" in err


def test_table_shows_intervals_counts_and_missing_values():
    site = {"n": 40, "events": 0, "auc": float("nan"), "auc_ci": (float("nan"),) * 2,
            "accuracy": 0.95, "accuracy_ci": (0.835, 0.986), "oe": 0.0, "oe_ci": (0.0, 1.2),
            "brier": 0.04}
    other = dict(site, n=60, events=9, auc=0.81, auc_ci=(0.66, 0.9))
    pooled = dict(other, n=100, auc=0.7, auc_ci=(0.55, 0.82))
    results = {"methods": {"a": {"pooled": pooled, "sites": {"s1": site, "s2": other}},
                           "b": {"pooled": pooled, "sites": {"s1": site, "s2": other}}},
               "vs_centralized": {"b": {"difference": -0.0001, "ci": (-0.02, 0.02)}}}
    table = format_table(results)
    assert "All 100 test patients together (9 events)" in table
    assert "0.700 [0.550, 0.820]" in table and "0.000 [-0.020, 0.020]" in table
    assert "40 / 0" in table and "60 / 9" in table
    assert "n/a" in table and "0.81 [0.66, 0.90]" in table
    assert "accuracy [95 % CI]" in table and "O/E [95 % CI]" in table
    assert "0.00 [0.00, 1.20]" in table  # no event at s1: O/E 0 with its exact upper limit
    assert all(line == line.rstrip() for line in table.splitlines())
