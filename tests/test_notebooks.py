"""Every solution runs top to bottom, deterministically; every lesson runs up to its first stub."""

import re
from pathlib import Path

import nbformat
import pytest

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


def _text_outputs(notebook):
    """The text a learner reads (streams and plain results), volatile parts masked."""
    texts = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                texts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                data = out.get("data", {})
                if "application/vnd.jupyter.widget-view+json" not in data:
                    texts.append(data.get("text/plain", ""))
    return [VOLATILE.sub("<masked>", t) for t in texts]


def test_there_are_solution_notebooks_and_each_has_a_lesson():
    assert len(SOLUTIONS) >= 4
    assert [p.name for p in LESSONS] == [p.name for p in SOLUTIONS]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_runs_clean_and_deterministically(path, run_notebook):
    first = run_notebook(path)
    assert _errors(first) == []
    shown = "\n".join(_text_outputs(first))
    assert "Incorrect" not in shown and "Not attempted" not in shown, shown
    assert "\u2714 Correct" in shown or "Correct" in shown  # every lesson has exercises
    second = run_notebook(path)
    assert _text_outputs(second) == _text_outputs(first)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_up_to_its_first_stub_which_is_not_attempted(path, run_notebook):
    cells = nbformat.read(path, as_version=4).cells
    first_stub = next(i for i, c in enumerate(cells)
                      if c.cell_type == "code" and STUB[1] in c.source)
    executed = run_notebook(path, n_cells=first_stub + 3)  # the stub, and its check
    errors = _errors(executed)
    # nothing fails before the first exercise; what fails after is the stub itself
    assert all(i >= first_stub and e.ename == "NotImplementedError" for i, e in errors), \
        [(i, e.ename, e.evalue) for i, e in errors]
    if errors and errors[0][0] == first_stub:
        return  # a stub at top level raised NotImplementedError
    # a stubbed function: the check right after it reports "Not attempted"
    after = "\n".join(_text_outputs(nbformat.from_dict(
        {**executed, "cells": executed.cells[first_stub:first_stub + 3]})))
    assert "Not attempted" in after
