"""``link`` and ``vertical`` on parties' CSV files: counts, linked rows, report, one-line errors."""

import csv
import json

import numpy as np
import pytest

from fedlab import data
from fedlab.__main__ import main

REGISTRY = ("smoker", "diabetes")


def _write(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _cell(value):
    return "" if np.isnan(value) else f"{value:g}"


@pytest.fixture(scope="module")
def records():
    """The shipped hospitals' patients with pseudonymous ids, in a shuffled order."""
    hospitals = data.load_hospitals()
    X = np.vstack([h.X_train for h in hospitals])
    y = np.concatenate([h.y_train for h in hospitals])
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))[:1200]
    return [f"HX-{i:05d}" for i in order], X[order], y[order], list(hospitals[0].feature_names)


@pytest.fixture
def parties(tmp_path, records):
    """A hospital (patients 0-899) and a registry (300-1199, ids written in lower case)."""
    ids, X, y, names = records
    cols = [c for c in names if c not in REGISTRY]
    hospital = _write(tmp_path / "hospital.csv", ["pid", *cols],
                      [[ids[i], *(_cell(X[i, names.index(c)]) for c in cols)]
                       for i in range(900)])
    registry = _write(tmp_path / "registry.csv", ["pid", *REGISTRY, "cvd_10y"],
                      [[ids[i].lower(), *(_cell(X[i, names.index(c)]) for c in REGISTRY),
                        y[i]] for i in range(1199, 299, -1)])
    return hospital, registry


def _args(paths):
    return [a for p in paths for a in ("--party", str(p))]


def _error(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    return err


# -- link ------------------------------------------------------------------------------------


def test_link_prints_the_number_of_shared_patients(parties, capsys):
    assert main(["link", *_args(parties), "--id", "pid"]) == 0
    assert "The 2 parties share 600 patients (by pid)" in capsys.readouterr().out
    assert main(["link", *_args(parties), "--id", "pid", "--count-only"]) == 0
    assert "share 600 patients" in capsys.readouterr().out


def test_link_writes_each_partys_linked_rows_in_the_first_partys_order(parties, tmp_path,
                                                                       capsys):
    out = tmp_path / "linked"
    assert main(["link", *_args(parties), "--id", "pid", "--out", str(out)]) == 0
    with open(out / "hospital.csv") as f:
        hospital = list(csv.reader(f))
    with open(out / "registry.csv") as f:
        registry = list(csv.reader(f))
    assert hospital[0][0] == "pid" and registry[0] == ["pid", *REGISTRY, "cvd_10y"]
    assert len(hospital) == len(registry) == 601
    assert [r[0].lower() for r in hospital[1:]] == [r[0] for r in registry[1:]]
    with open(parties[0]) as f:
        original = list(csv.reader(f))
    assert hospital[1:] == original[301:]  # the first party's rows 300-899, as they were
    # a second run replaces nothing
    assert main(["link", *_args(parties), "--id", "pid", "--out", str(out)]) == 2
    assert "already exist" in _error(capsys)


def test_link_never_writes_onto_an_input(parties, capsys):
    folder = parties[0].parent
    assert main(["link", *_args(parties), "--id", "pid", "--out", str(folder),
                 "--force"]) == 2
    assert "is an input of the command" in _error(capsys)


def test_a_count_below_min_cell_is_suppressed(tmp_path, capsys):
    a = _write(tmp_path / "a.csv", ["pid", "x"], [[f"p{i}", i] for i in range(20)])
    b = _write(tmp_path / "b.csv", ["pid", "y"], [[f"p{i}", 1] for i in range(17, 40)])
    assert main(["link", *_args([a, b]), "--id", "pid"]) == 0
    out = capsys.readouterr().out
    assert "fewer than 5 patients" in out and "suppressed" in out and "3" not in out
    assert main(["link", *_args([a, b]), "--id", "pid", "--out", str(tmp_path / "o")]) == 2
    assert "not written" in _error(capsys)
    assert not (tmp_path / "o").exists()


def test_link_normalizes_names_and_dates_of_birth_alike(tmp_path, capsys):
    a = _write(tmp_path / "a.csv", ["name", "born", "x"],
               [["José O'Neil", "1957-03-14", 1], ["Ana Núñez", "1948-11-05", 2],
                *([f"Person {i}", f"1960-01-{i + 1:02d}", 0] for i in range(10))])
    b = _write(tmp_path / "b.csv", ["name", "born", "y"],
               [[" JOSE  ONEIL", "1957/3/14", 1], ["ana nunez", "1948/11/5", 0],
                *([f"PERSON {i}", f"1960/1/{i + 1}", 1] for i in range(10))])
    assert main(["link", *_args([a, b]), "--id", "name", "--id", "born"]) == 0
    assert "share 12 patients (by name, born)" in capsys.readouterr().out


# -- vertical --------------------------------------------------------------------------------


def test_vertical_reports_the_same_model_as_the_joined_table(parties, tmp_path, capsys):
    out = tmp_path / "vertical.json"
    assert main(["vertical", *_args(parties), "--id", "pid", "--target", "cvd_10y",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "All 150 test patients together" in text and "alone: registry" in text
    report = json.loads(out.read_text())
    assert report["linked"] == 600
    assert list(report["methods"]) == ["vertical", "centralized", "alone: registry"]
    vertical, central = report["methods"]["vertical"], report["methods"]["centralized"]
    features = [*(c for c in data.FEATURES if c not in REGISTRY), *REGISTRY]
    assert list(vertical["coefficients"]) == [*features, "(intercept)"]
    assert list(report["methods"]["alone: registry"]["coefficients"]) == [*REGISTRY,
                                                                          "(intercept)"]
    for key in ("coefficients", "coefficients_standardized"):
        np.testing.assert_allclose(list(vertical[key].values()), list(central[key].values()),
                                   rtol=0, atol=1e-10)
    assert vertical["pooled"]["auc"] == pytest.approx(central["pooled"]["auc"], abs=1e-12)
    assert report["config"]["command"] == "vertical" and report["config"]["id"] == ["pid"]
    for key in ("auc_ci", "accuracy_ci", "oe_ci"):
        assert len(vertical["pooled"][key]) == 2
    assert report["vs_centralized"]["vertical"]["difference"] == pytest.approx(0, abs=1e-12)
    assert report["training"]["converged"]
    # 450 partial predictors up, 450 residuals down, one squared gradient norm (tol)
    assert report["training"]["bytes_per_step"] == 2 * 450 * 8 + 8


def test_vertical_with_three_parties(parties, tmp_path, records, capsys):
    ids, X, _, names = records
    labs = ("hdl", "total_chol")
    hospital = tmp_path / "hospital.csv"
    with open(hospital) as f:
        rows = list(csv.reader(f))
    keep = [j for j, c in enumerate(rows[0]) if c not in labs]
    _write(hospital, [rows[0][j] for j in keep], [[r[j] for j in keep] for r in rows[1:]])
    lab = _write(tmp_path / "lab.csv", ["pid", *labs],
                 [[ids[i], *(_cell(X[i, names.index(c)]) for c in labs)]
                  for i in range(100, 1200)])
    assert main(["vertical", *_args([*parties, lab]), "--id", "pid",
                 "--target", "cvd_10y"]) == 0
    assert "vertical:" in capsys.readouterr().out


def _broken(tmp_path, parties, case):
    hospital, registry = parties
    lines = hospital.read_text().splitlines()
    if case == "no id column":
        hospital.write_text("\n".join(["patient" + lines[0][3:], *lines[1:]]) + "\n")
    elif case == "empty id":
        hospital.write_text("\n".join([*lines[:5], "," + lines[5].split(",", 1)[1],
                                       *lines[6:]]) + "\n")
    elif case == "duplicated id":
        hospital.write_text("\n".join([*lines, lines[3]]) + "\n")
    elif case == "target in two":
        hospital.write_text("\n".join([lines[0] + ",cvd_10y",
                                       *(line + ",0" for line in lines[1:])]) + "\n")
    elif case == "shared column":
        registry.write_text(registry.read_text().replace("smoker", "age", 1))
    elif case == "no shared patient":
        registry.write_text(registry.read_text().replace("hx-", "zz-"))
    return [hospital, registry]


@pytest.mark.parametrize(("case", "argv", "message"), [
    ("no id column", [], "hospital.csv: no id column 'pid' (--id)"),
    ("empty id", [], "hospital.csv: row 5: the id 'pid' is empty"),
    ("duplicated id", [], "hospital.csv: rows 3 and 901 have the same id"),
    ("target in two", [], "--target cvd_10y: in hospital.csv and registry.csv; exactly one"),
    ("none", ["--target", "outcome"], "--target outcome: no party has this column"),
    ("shared column", [], "column 'age' is in hospital.csv and registry.csv"),
    ("no shared patient", [], "the parties share no patient (by pid)"),
    ("none", ["--min-linked", "601"], "share 600 patients (by pid), fewer than --min-linked "
                                      "601"),
    ("none", ["--id", "pid"], "--id pid: given twice"),
    ("none", ["--own-id", "pid"], "--own-id pid: given twice (or as both --id and --own-id)"),
    ("none", ["--own-id", "nhs"], "--own-id nhs: no party has this column")])
def test_vertical_refuses_bad_input_in_one_line(tmp_path, parties, capsys, case, argv,
                                                message):
    paths = _broken(tmp_path, parties, case)
    target = [] if "--target" in argv else ["--target", "cvd_10y"]
    assert main(["vertical", *_args(paths), "--id", "pid", *target, *argv]) == 2
    assert message in _error(capsys)


def test_vertical_refuses_one_party_and_parties_with_the_same_name(parties, tmp_path,
                                                                    capsys):
    assert main(["vertical", *_args(parties[:1]), "--id", "pid", "--target", "cvd_10y"]) == 2
    assert "give at least two parties" in _error(capsys)
    other = tmp_path / "other"
    other.mkdir()
    copy = other / "hospital.csv"
    copy.write_text(parties[0].read_text())
    assert main(["vertical", *_args([parties[0], copy]), "--id", "pid",
                 "--target", "cvd_10y"]) == 2
    assert "distinct names" in _error(capsys)


def test_fewer_linked_patients_than_min_cell_are_not_counted_in_the_error(tmp_path, capsys):
    a = _write(tmp_path / "a.csv", ["pid", "x"], [[f"p{i}", i] for i in range(20)])
    b = _write(tmp_path / "b.csv", ["pid", "x2", "y"], [[f"p{i}", i, i % 2]
                                                        for i in range(17, 40)])
    assert main(["vertical", *_args([a, b]), "--id", "pid", "--target", "y"]) == 2
    err = _error(capsys)
    assert "fewer than 5 patients" in err and " 3 " not in err


def test_each_partys_own_id_is_kept_in_out_and_never_a_feature(parties, tmp_path, capsys):
    hospital, registry = parties
    for path, prefix in ((hospital, "H"), (registry, "R")):
        lines = path.read_text().splitlines()
        path.write_text("\n".join([f"{prefix.lower()}id," + lines[0],
                                   *(f"{prefix}{k:06d},{line}" for k, line in
                                     enumerate(lines[1:]))]) + "\n")
    argv = ["vertical", *_args(parties), "--id", "pid", "--target", "cvd_10y"]
    assert main(argv) == 2
    assert "column 'hid' row 1: 'H000000' is not a number" in _error(capsys)
    out = tmp_path / "report.json"
    assert main([*argv, "--own-id", "hid", "--own-id", "rid", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert "hid" not in report["methods"]["vertical"]["coefficients"]
    linked = tmp_path / "linked"
    assert main(["link", *_args(parties), "--id", "pid", "--own-id", "hid", "--own-id", "rid",
                 "--out", str(linked)]) == 0
    assert (linked / "hospital.csv").read_text().startswith("hid,pid,age")


def test_link_and_vertical_on_the_shipped_vertical_parties(tmp_path, capsys):
    from fedlab.data.vertical import HOSPITAL, IDENTITY, REGISTRY, VERTICAL_DIR

    paths = [VERTICAL_DIR / f"{HOSPITAL}.csv", VERTICAL_DIR / f"{REGISTRY}.csv"]
    ids = [a for column in IDENTITY for a in ("--id", column)]
    assert main(["link", *_args(paths), *ids]) == 0
    assert "share 2,550 patients" in capsys.readouterr().out
    out = tmp_path / "vertical.json"
    assert main(["vertical", *_args(paths), *ids, "--own-id", "hospital_id", "--own-id",
                 "registry_id", "--target", "cvd_10y", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["linked"] == 2550
    assert list(report["methods"]) == ["vertical", "centralized", f"alone: {REGISTRY}"]
