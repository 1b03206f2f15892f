"""Every solution runs top to bottom; every lesson runs to the end with every exercise skipped.

Each notebook executes once per test run: determinism (same seed, same bits) is tested on
the functions the notebooks call, not by running a notebook twice.
"""

import re
from pathlib import Path

import nbformat
import pytest

from fedlab._nbrun import execute_all_cells, execute_notebook
from fedlab.lessons import NOTEBOOK_GLOB, STUB

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob(NOTEBOOK_GLOB))
LESSONS = sorted((ROOT / "lessons").glob(NOTEBOOK_GLOB))
# what changes between runs without being a result: object addresses, widget model ids, timings
VOLATILE = re.compile(r"0x[0-9a-f]+|model_id['\"]?: ?['\"][0-9a-f]+['\"]|\d+(\.\d+)? ?(ms|s)\b")

pytestmark = pytest.mark.notebook


def _errors(notebook):
    return [(i, o) for i, c in enumerate(notebook.cells) if c.cell_type == "code"
            for o in c.outputs if o.output_type == "error"]


def _text(cell):
    """The text a learner reads in one cell (streams and plain results)."""
    texts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            texts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            data = out.get("data", {})
            if "application/vnd.jupyter.widget-view+json" not in data:
                texts.append(data.get("text/plain", ""))
    return VOLATILE.sub("<masked>", "\n".join(texts))


def test_there_are_solution_notebooks_and_each_has_a_lesson():
    assert len(SOLUTIONS) >= 4
    assert [p.name for p in LESSONS] == [p.name for p in SOLUTIONS]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_runs_clean_and_every_check_says_correct(path):
    executed = execute_notebook(path, timeout=180)
    assert _errors(executed) == []
    shown = "\n".join(_text(c) for c in executed.cells if c.cell_type == "code")
    assert "Incorrect" not in shown and "Not attempted" not in shown, shown
    assert "Correct" in shown  # every lesson has exercises


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_to_the_end_with_every_exercise_skipped(path):
    """A learner who skips every exercise still gets a lesson that runs to its end.

    Only a stub cell may fail, and only with the stub's NotImplementedError; every check
    of a stubbed function says "Not attempted"; no later cell uses the learner's function.
    """
    notebook = nbformat.read(path, as_version=4)
    stopped = execute_all_cells(notebook, timeout=300, cwd=path.parent)
    assert stopped is None, stopped
    stubs = {i for i, c in enumerate(notebook.cells)
             if c.cell_type == "code" and STUB[1] in c.source}
    assert stubs, "a lesson has exercises"
    bad = [(i, e.ename, e.evalue) for i, e in _errors(notebook)
           if i not in stubs or e.ename != "NotImplementedError"]
    assert bad == [], bad
    for i in stubs:
        cell = notebook.cells[i]
        failed = any(o.output_type == "error" for o in cell.outputs)
        if ".check(" in cell.source and not failed:
            assert "Not attempted" in _text(cell), (i, _text(cell))
