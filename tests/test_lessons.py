"""The lesson generator: solutions are the single source; learners' work is never lost."""

import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fedlab import lessons
from fedlab.__main__ import main
from fedlab.exercises._blocks import exercise_blocks


def _solution(tmp_path, *cells, name="03-demo.ipynb"):
    solutions = tmp_path / "solutions"
    solutions.mkdir(exist_ok=True)
    nbformat.write(new_notebook(cells=list(cells)), solutions / name)
    return solutions, tmp_path / "lessons"


def _use(monkeypatch, tmp_path):
    """Point the command line at the folders under ``tmp_path``."""
    paths = (tmp_path / "solutions", tmp_path / "lessons", tmp_path / "solutions.json")
    monkeypatch.setattr(lessons, "_paths", lambda s, lesson, b: paths)
    return paths


SOLVED = new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    y = 2 * x\n"
                       "    return y\n    ### END SOLUTION\n\nprint(double(2))")
EXERCISE = new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
                         "    ### END SOLUTION\n\n\nex.q1.check(double)")


def test_repository_lessons_are_exactly_what_the_solutions_generate():
    assert lessons.check_lessons() == []


def test_solution_blocks_become_stubs_at_the_same_indentation():
    lesson = lessons.make_lesson(new_notebook(cells=[SOLVED, new_markdown_cell("# Title")]))
    assert lesson.cells[0].source == ("def double(x):\n    # YOUR CODE HERE\n"
                                      "    raise NotImplementedError()\n\nprint(double(2))")
    assert lesson.cells[1].source == "# Title"
    assert "do not edit" in lesson.metadata["fedlab"]["generated"]


def test_outputs_are_stripped_from_lessons():
    cell = new_code_cell("1 + 1", execution_count=3,
                         outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "2"},
                                                         execution_count=3)])
    lesson = lessons.make_lesson(new_notebook(cells=[cell]))
    assert lesson.cells[0].outputs == [] and lesson.cells[0].execution_count is None


@pytest.mark.parametrize("source, match", [
    ("### BEGIN SOLUTION\nx = 1", r"line 1: ### BEGIN SOLUTION is never closed"),
    ("x = 1\n### END SOLUTION", r"line 2: ### END SOLUTION without a ### BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
     r"line 2: nested ### BEGIN SOLUTION \(the one on line 1 is not closed\)"),
])
def test_unmatched_or_nested_markers_are_errors_naming_cell_and_line(source, match):
    with pytest.raises(ValueError, match="demo.ipynb, cell 2, " + match):
        lessons.make_lesson(new_notebook(cells=[new_markdown_cell("intro"),
                                                new_code_cell(source)]),
                            source="demo.ipynb")


def test_markers_in_markdown_are_rejected():
    with pytest.raises(ValueError, match="only allowed in code cells"):
        lessons.make_lesson(new_notebook(cells=[new_markdown_cell("### BEGIN SOLUTION")]))


def test_generator_refuses_to_overwrite_a_lesson_a_learner_ran_or_edited(tmp_path):
    solutions, lessons_dir = _solution(tmp_path, SOLVED)
    blocks = tmp_path / "solutions.json"
    [path, _] = lessons.write_lessons(solutions, lessons_dir, blocks_file=blocks)
    assert lessons.write_lessons(solutions, lessons_dir, blocks_file=blocks) == []

    # the learner writes an answer
    work = nbformat.read(path, as_version=4)
    work.cells[0].source = work.cells[0].source.replace("raise NotImplementedError()",
                                                        "return x + x")
    nbformat.write(work, path)
    with pytest.raises(lessons.LessonError, match="cells were edited") as raised:
        lessons.write_lessons(solutions, lessons_dir, blocks_file=blocks)
    assert raised.value.exit_status == 1
    assert "return x + x" in path.read_text()  # nothing lost

    # forced, it is replaced
    lessons.write_lessons(solutions, lessons_dir, blocks_file=blocks, force=True)
    assert "return x + x" not in path.read_text()


def test_generator_refuses_to_overwrite_a_lesson_with_outputs(tmp_path):
    solutions, lessons_dir = _solution(tmp_path, SOLVED)
    blocks = tmp_path / "solutions.json"
    [path, _] = lessons.write_lessons(solutions, lessons_dir, blocks_file=blocks)
    work = json.loads(path.read_text())
    work["cells"][0]["execution_count"] = 1
    path.write_text(json.dumps(work))
    with pytest.raises(lessons.LessonError, match="has outputs"):
        lessons.write_lessons(solutions, lessons_dir, blocks_file=blocks)


def test_check_reports_stale_missing_and_extra_lessons(tmp_path):
    solutions, lessons_dir = _solution(tmp_path, SOLVED)
    blocks = tmp_path / "solutions.json"
    assert any("missing" in p for p in lessons.check_lessons(solutions, lessons_dir,
                                                             blocks_file=blocks))
    lessons.write_lessons(solutions, lessons_dir, blocks_file=blocks)
    assert lessons.check_lessons(solutions, lessons_dir, blocks_file=blocks) == []
    _solution(tmp_path, SOLVED, new_code_cell("print('new')"))
    assert any("differs" in p for p in lessons.check_lessons(solutions, lessons_dir,
                                                             blocks_file=blocks))
    (lessons_dir / "99-orphan.ipynb").write_text("{}")
    assert any("no solution notebook" in p for p in lessons.check_lessons(
        solutions, lessons_dir, blocks_file=blocks))


def test_cli_check_exits_nonzero_when_lessons_are_stale(tmp_path, monkeypatch, capsys):
    _solution(tmp_path, SOLVED)
    _use(monkeypatch, tmp_path)
    assert main(["lessons", "--check"]) == 1
    assert main(["lessons"]) == 0
    assert main(["lessons", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


# -- each exercise's solution, extracted for ex.qN.solution() -------------------------------

def test_exercise_solutions_are_extracted_and_check_sees_them_stale(tmp_path, monkeypatch,
                                                                   capsys):
    _solution(tmp_path, new_markdown_cell("# Demo"), EXERCISE)
    _, _, blocks = _use(monkeypatch, tmp_path)
    assert main(["lessons"]) == 0
    recorded = json.loads(blocks.read_text(encoding="utf-8"))
    assert "do not edit" in recorded["generated"]
    assert recorded["lessons"]["lesson03"] == {
        "notebook": "solutions/03-demo.ipynb",
        "exercises": {"q1": {"cell": 2, "answers": ["double"],
                             "code": "def double(x):\n    return 2 * x"}}}
    blocks.write_text(blocks.read_text().replace("2 * x", "x + x"))
    assert main(["lessons", "--check"]) == 1
    assert "solutions.json: differs from the solution notebooks' exercises" in \
        capsys.readouterr().err


@pytest.mark.parametrize("source, match", [
    ("ex.q1.check(f)\nex.q2.check(g)\n### BEGIN SOLUTION\n### END SOLUTION",
     "demo, cell 1: one exercise per cell, found checks of q1, q2"),
    ("if x\n### BEGIN SOLUTION\n### END SOLUTION",
     "demo, cell 1: the solution cell is not valid Python"),
])
def test_badly_formed_exercise_cells_are_errors_naming_the_cell(source, match):
    with pytest.raises(ValueError, match=match):
        exercise_blocks([source], where="demo")


def test_an_exercise_checked_in_two_cells_is_an_error():
    with pytest.raises(ValueError, match="demo, cell 2: q1 is already checked in cell 1"):
        exercise_blocks([EXERCISE.source, EXERCISE.source], where="demo")


# -- robust to the locale, to damaged files and to a missing folder (issue 14) --------------

@pytest.mark.slow  # a whole Python process under an ASCII locale
def test_lessons_are_read_and_written_as_utf8_under_an_ascii_locale(tmp_path):
    text = "Gaussian noise \u03c3 \u00b7 \u03b5 \u2264 1, na\u00efve \u2192 private"
    _solution(tmp_path, new_markdown_cell(text), SOLVED)
    script = ("import sys\nfrom pathlib import Path\nfrom fedlab import lessons\n"
              "from fedlab.__main__ import main\n"
              "root = Path(sys.argv[1])\n"
              "lessons._paths = lambda s, l, b: (root / 'solutions', root / 'lessons', "
              "root / 'solutions.json')\n"
              "sys.exit(main(['lessons']) or main(['lessons', '--check']))\n")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0",
           "PYTHONIOENCODING": "ascii", "PYTHONPATH": str(lessons.ROOT)}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env,
                          capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert b"up to date" in done.stdout
    lesson = (tmp_path / "lessons" / "03-demo.ipynb").read_bytes().decode("utf-8")
    assert text in json.loads(lesson)["cells"][0]["source"]


@pytest.mark.parametrize("damage, says", [
    ("{\"cells\": [", "not a notebook (invalid JSON, line 1 column 12"),
    ('{"title": "not a notebook"}', "not a notebook (JSON without a notebook's cells"),
    ("[]", "not a notebook (JSON without a notebook's cells"),
    ('{"cells": 3, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
     "not a valid notebook"),
    (b"\xff\xfe not text", "not a notebook (not UTF-8 text)"),
])
def test_a_damaged_solution_is_named_and_the_others_are_still_made(tmp_path, monkeypatch,
                                                                   capsys, damage, says):
    solutions, lessons_dir = _solution(tmp_path, SOLVED, name="01-good.ipynb")
    _solution(tmp_path, SOLVED, name="09-good-too.ipynb")
    bad = solutions / "05-bad.ipynb"
    bad.write_bytes(damage if isinstance(damage, bytes) else damage.encode())
    _use(monkeypatch, tmp_path)
    assert main(["lessons"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: {says}" in err
    assert "solutions.json: not updated" in err
    assert sorted(p.name for p in lessons_dir.iterdir()) == ["01-good.ipynb",
                                                              "09-good-too.ipynb"]
    assert main(["lessons", "--check"]) == 1
    assert f"{bad}: {says}" in capsys.readouterr().err


def test_a_damaged_lesson_is_not_overwritten_unless_forced(tmp_path, monkeypatch, capsys):
    _solution(tmp_path, SOLVED, name="01-one.ipynb")
    _solution(tmp_path, SOLVED, name="02-two.ipynb")
    _, lessons_dir, _ = _use(monkeypatch, tmp_path)
    assert main(["lessons"]) == 0
    damaged = lessons_dir / "01-one.ipynb"
    damaged.write_text('{"cells": [')  # a learner's half-saved notebook
    (lessons_dir / "02-two.ipynb").unlink()
    assert main(["lessons"]) == 2
    out, err = capsys.readouterr()
    assert f"{damaged}: not a notebook (invalid JSON" in err and "--force" in err
    assert "wrote" in out and "02-two.ipynb" in out  # the other lesson is still made
    assert damaged.read_text() == '{"cells": ['
    assert main(["lessons", "--force"]) == 0
    assert json.loads(damaged.read_text())["cells"]


def test_without_a_solutions_folder_it_says_so_and_creates_nothing(tmp_path, monkeypatch,
                                                                   capsys):
    solutions, lessons_dir, _ = _use(monkeypatch, tmp_path)
    assert main(["lessons"]) == 2
    assert f"{solutions}: no such folder" in capsys.readouterr().err
    assert not lessons_dir.exists()
    assert main(["lessons", "--check"]) == 1
    assert "no such folder" in capsys.readouterr().err
    solutions.mkdir()
    assert main(["lessons"]) == 2
    assert "holds no solution notebook" in capsys.readouterr().err
    assert not lessons_dir.exists()


def test_links_between_notebooks_point_to_notebooks_that_exist():
    import re

    for path in sorted((lessons.ROOT / "solutions").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                for target in re.findall(r"\]\(([^)#]+\.ipynb)", cell.source):
                    assert (path.parent / target).exists(), f"{path.name} links to {target}"


def test_package_files_named_in_notebooks_exist():
    import re

    for path in sorted((lessons.ROOT / "solutions").glob("*.ipynb")):
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        for named in re.findall(r"(fedlab/[\w/]+\.py)", text):
            assert (lessons.ROOT / named).exists(), f"{path.name} names {named}"


def test_a_lesson_that_is_a_symlink_is_never_written_through_even_with_force(
        tmp_path, monkeypatch, capsys):
    _solution(tmp_path, SOLVED, name="01-one.ipynb")
    _solution(tmp_path, SOLVED, name="02-two.ipynb")
    _, lessons_dir, _ = _use(monkeypatch, tmp_path)
    lessons_dir.mkdir()
    elsewhere = tmp_path / "my-notes.txt"  # a file outside lessons/
    elsewhere.write_text("an instructor's own notes\n")
    link = lessons_dir / "01-one.ipynb"
    link.symlink_to(elsewhere)
    for argv in (["lessons"], ["lessons", "--force"]):
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert f"{link}: is a symbolic link (to {elsewhere})" in err and "even with --force" in err
        assert "02-two.ipynb" in out or (lessons_dir / "02-two.ipynb").exists()
    assert elsewhere.read_text() == "an instructor's own notes\n"
    assert link.is_symlink()


def test_a_deleted_solution_notebook_is_an_error_naming_it(tmp_path, monkeypatch, capsys):
    solutions, lessons_dir = _solution(tmp_path, EXERCISE, name="01-one.ipynb")
    _solution(tmp_path, SOLVED, name="02-two.ipynb")
    _, _, blocks = _use(monkeypatch, tmp_path)
    assert main(["lessons"]) == 0
    solved = blocks.read_text()
    assert '"lesson01"' in solved
    (solutions / "01-one.ipynb").unlink()
    assert main(["lessons"]) == 2
    err = capsys.readouterr().err
    assert (f"{lessons_dir / '01-one.ipynb'}: its solution notebook "
            f"{solutions / '01-one.ipynb'} is missing") in err
    assert blocks.read_text() == solved  # the lesson's exercises keep their solutions
