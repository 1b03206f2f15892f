"""The lesson generator: solutions are the single source; learners' work is never lost."""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fedlab import lessons
from fedlab.__main__ import main


def _solution(tmp_path, *cells, name="03-demo.ipynb"):
    solutions = tmp_path / "solutions"
    solutions.mkdir(exist_ok=True)
    nbformat.write(new_notebook(cells=list(cells)), solutions / name)
    return solutions, tmp_path / "lessons"


SOLVED = new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    y = 2 * x\n"
                       "    return y\n    ### END SOLUTION\n\nprint(double(2))")


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
    [path] = lessons.write_lessons(solutions, lessons_dir)
    assert lessons.write_lessons(solutions, lessons_dir) == []  # untouched: nothing to do

    # the learner writes an answer
    work = nbformat.read(path, as_version=4)
    work.cells[0].source = work.cells[0].source.replace("raise NotImplementedError()",
                                                        "return x + x")
    nbformat.write(work, path)
    with pytest.raises(lessons.LessonConflict, match="cells were edited"):
        lessons.write_lessons(solutions, lessons_dir)
    assert "return x + x" in path.read_text()  # nothing lost

    # forced, it is replaced
    lessons.write_lessons(solutions, lessons_dir, force=True)
    assert "return x + x" not in path.read_text()


def test_generator_refuses_to_overwrite_a_lesson_with_outputs(tmp_path):
    solutions, lessons_dir = _solution(tmp_path, SOLVED)
    [path] = lessons.write_lessons(solutions, lessons_dir)
    work = json.loads(path.read_text())
    work["cells"][0]["execution_count"] = 1
    path.write_text(json.dumps(work))
    with pytest.raises(lessons.LessonConflict, match="has outputs"):
        lessons.write_lessons(solutions, lessons_dir)


def test_check_reports_stale_missing_and_extra_lessons(tmp_path):
    solutions, lessons_dir = _solution(tmp_path, SOLVED)
    assert any("missing" in p for p in lessons.check_lessons(solutions, lessons_dir))
    lessons.write_lessons(solutions, lessons_dir)
    assert lessons.check_lessons(solutions, lessons_dir) == []
    _solution(tmp_path, SOLVED, new_code_cell("print('new')"))
    assert any("differs" in p for p in lessons.check_lessons(solutions, lessons_dir))
    (lessons_dir / "99-orphan.ipynb").write_text("{}")
    assert any("no solution notebook" in p for p in lessons.check_lessons(solutions,
                                                                          lessons_dir))


def test_cli_check_exits_nonzero_when_lessons_are_stale(tmp_path, monkeypatch, capsys):
    solutions, lessons_dir = _solution(tmp_path, SOLVED)
    monkeypatch.setattr(lessons, "_dirs", lambda s, lesson: (solutions, lessons_dir))
    assert main(["lessons", "--check"]) == 1
    assert main(["lessons"]) == 0
    assert main(["lessons", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


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
