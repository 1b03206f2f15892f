"""The instructor's grader on correct, wrong, untouched and broken submissions.

One ``python -m fedlab grade`` run grades them all (each notebook in its own kernel);
the tests read its CSV. Lesson 00 and tiny hand-made notebooks keep it quick.
"""

import csv
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from fedlab import grading
from fedlab.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
SETUP = "from fedlab.exercises import lesson00 as ex"
TIMEOUT = 10  # seconds for the endless notebook; the others finish well within it


def _write(path, notebook):
    nbformat.write(notebook, path)
    return path


def _wrong_lesson(path):
    """Lesson 00 as a learner who averaged the hospitals' means (q1) and forgot the bias."""
    notebook = nbformat.read(ROOT / "lessons" / "00-welcome.ipynb", as_version=4)
    answers = {"def federated_mean": "    return float(np.mean(np.divide(sums, counts)))",
               "def model_bytes": "    return 8 * n_features"}
    for cell in notebook.cells:
        for head, body in answers.items():
            if cell.cell_type == "code" and cell.source.startswith(head):
                lines = cell.source.split("\n")
                start = next(i for i, line in enumerate(lines) if "YOUR CODE HERE" in line)
                lines[start:start + 2] = [body]
                cell.source = "\n".join(lines)
    return _write(path, notebook)


def _raising_and_deleted(path):
    """q1's check cell raises before checking; q2's check cell was deleted."""
    return _write(path, new_notebook(cells=[
        new_code_cell(SETUP),
        new_code_cell("def federated_mean(counts, sums):\n    return sum(sums) / sum(counts)"
                      "\n\n\nex.q1.check(federated_mean(1))"),
        new_code_cell("print('the rest still runs')"),
    ]))


def _endless(path):
    return _write(path, new_notebook(cells=[
        new_code_cell(SETUP),
        new_code_cell("def federated_mean(counts, sums):\n    return sum(sums) / sum(counts)"
                      "\n\n\nex.q1.check(federated_mean)"),
        new_code_cell("while True:\n    pass"),
        new_code_cell("def model_bytes(n):\n    return 8 * (n + 1)\n\n\n"
                      "ex.q2.check(model_bytes)"),
    ]))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    solution = folder / "solved" / "00-welcome.ipynb"
    solution.parent.mkdir()
    solution.write_bytes((ROOT / "solutions" / "00-welcome.ipynb").read_bytes())
    untouched = folder / "00-welcome.ipynb"
    untouched.write_bytes((ROOT / "lessons" / "00-welcome.ipynb").read_bytes())
    corrupt = folder / "corrupt" / "00-welcome.ipynb"
    corrupt.parent.mkdir()
    corrupt.write_text('{"cells": [ this is not JSON')
    submissions = {
        "correct": solution,
        "untouched": untouched,
        "wrong": _wrong_lesson(folder / "wrong-00-welcome.ipynb"),
        "raising": _raising_and_deleted(folder / "raising.ipynb"),
        "endless": _endless(folder / "endless-00-welcome.ipynb"),
        "corrupt": corrupt,
        "missing": folder / "missing-00-welcome.ipynb",
    }
    before = {k: (p.read_bytes(), p.stat().st_mtime_ns) for k, p in submissions.items()
              if p.exists()}
    out = folder / "results.csv"
    status = main(["grade", *map(str, submissions.values()), "--out", str(out),
                   "--timeout", str(TIMEOUT)])
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_kind = {kind: [r for r in rows if r["notebook"] == str(path)]
               for kind, path in submissions.items()}
    return {"status": status, "rows": rows, "by": by_kind, "before": before, "out": out,
            "submissions": submissions}


def _outcomes(rows):
    return {r["exercise"]: r["outcome"] for r in rows}


pytestmark = pytest.mark.notebook


def test_the_csv_has_one_row_per_notebook_and_exercise(graded):
    assert graded["status"] == 0
    with open(graded["out"], encoding="utf-8") as f:
        assert f.readline().strip() == "notebook,exercise,outcome,message"
    for kind in ("correct", "untouched", "wrong", "raising", "endless", "corrupt", "missing"):
        assert [r["exercise"] for r in graded["by"][kind]] == ["q1", "q2"], kind
    assert len(graded["rows"]) == 14


def test_a_solution_is_correct(graded):
    assert _outcomes(graded["by"]["correct"]) == {"q1": "correct", "q2": "correct"}


def test_an_untouched_lesson_is_not_attempted(graded):
    rows = graded["by"]["untouched"]
    assert _outcomes(rows) == {"q1": "not attempted", "q2": "not attempted"}
    assert "NotImplementedError" in rows[0]["message"]


def test_wrong_answers_are_incorrect_with_the_checks_message(graded):
    rows = graded["by"]["wrong"]
    assert _outcomes(rows) == {"q1": "incorrect", "q2": "incorrect"}
    assert "averaged the hospitals' own means" in rows[0]["message"]
    assert "bias" in rows[1]["message"]


def test_a_raising_check_is_an_error_and_a_deleted_check_is_not_attempted(graded):
    q1, q2 = graded["by"]["raising"]
    assert q1["outcome"] == "error" and q1["message"].startswith("TypeError")
    assert q2["outcome"] == "not attempted" and "ex.q2.check" in q2["message"]


def test_an_endless_notebook_is_stopped_and_what_ran_before_is_kept(graded):
    q1, q2 = graded["by"]["endless"]
    assert q1["outcome"] == "correct"
    assert (q2["outcome"], q2["message"]) == ("error", f"timed out after {TIMEOUT} s")


def test_unreadable_and_missing_files_get_rows_saying_why(graded):
    for row in graded["by"]["corrupt"]:
        assert row["outcome"] == "error" and "not a readable notebook" in row["message"]
    for row in graded["by"]["missing"]:
        assert (row["outcome"], row["message"]) == ("error", "file not found")


def test_submissions_are_never_modified(graded):
    for kind, (content, mtime) in graded["before"].items():
        path = graded["submissions"][kind]
        assert path.read_bytes() == content, kind
        assert path.stat().st_mtime_ns == mtime, kind
    assert not graded["submissions"]["missing"].exists()


def test_out_is_not_overwritten_without_force(graded, tmp_path, capsys):
    out = tmp_path / "results.csv"
    out.write_text("the instructor's earlier results\n")
    missing = str(tmp_path / "00-welcome.ipynb")
    assert main(["grade", missing, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "--force" in err and "Traceback" not in err
    assert out.read_text() == "the instructor's earlier results\n"
    assert main(["grade", missing, "--out", str(out), "--force"]) == 0
    assert out.read_text().startswith("notebook,exercise,outcome,message")


@pytest.mark.parametrize("argv, message", [
    (["--timeout", "0"], "--timeout"),
    (["--out", "no/such/folder/r.csv"], "does not exist"),
])
def test_bad_options_are_one_clear_line_and_exit_2(tmp_path, capsys, argv, message):
    args = ["grade", str(tmp_path / "00-welcome.ipynb"), "--out", str(tmp_path / "r.csv")]
    assert main(args + argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("output, expected", [
    (new_output("display_data", data={"text/plain": "\u2714 Correct"}), ("correct", "")),
    (new_output("stream", name="stdout", text="some print\n\u2026 Not attempted: fill it\n"),
     ("not attempted", "fill it")),
    (new_output("execute_result", data={"text/plain": "Incorrect: off by one"},
                execution_count=1), ("incorrect", "off by one")),
    (new_output("error", ename="NameError", evalue="name 'ex' is not defined",
                traceback=[]), ("error", "NameError: name 'ex' is not defined")),
    (new_output("display_data", data={"text/html": "<b>Correct</b>"}),
     ("error", "the check showed no result")),
])
def test_read_check_is_tolerant_of_how_the_result_was_shown(output, expected):
    assert grading.read_check(new_code_cell("ex.q1.check(f)", outputs=[output])) == expected


def test_the_last_result_of_a_cell_counts():
    cell = new_code_cell("ex.q1.check(f)\nex.q1.check(g)", outputs=[
        new_output("display_data", data={"text/plain": "\u2718 Incorrect: no"}),
        new_output("display_data", data={"text/plain": "\u2714 Correct"})])
    assert grading.read_check(cell) == ("correct", "")
