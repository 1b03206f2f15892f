"""The reading-time estimator: every lesson's estimate, core and optional apart, reported;
no estimate below a time measured with learners; every core within the course's budget."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fedlab import lessons
from fedlab.lessons_time import CORE_BUDGET, estimate_minutes, measures

SOLUTIONS = sorted((lessons.ROOT / "solutions").glob(lessons.NOTEBOOK_GLOB))
ESTIMATES = {path.name.split("-")[0]: estimate_minutes(path) for path in SOLUTIONS}

SPLIT = {"04": ("04a", "04b")}
"""Lessons measured whole and split afterwards: the measured time bounds the parts' sum."""

MEASURED = {"02": 55, "03b": 50, "04": 75, "06b": 55, "07": 65, "08": 55, "09": 50}
"""Minutes learners took for the whole lesson (issue 19)."""
MEASURED_CORE = {"07": 40}

OVER_BUDGET = {"09"}
"""Lessons whose core the estimate puts above the budget, to be trimmed or split."""


def test_every_lessons_estimate_is_reported(capsys):
    with capsys.disabled():
        print("\nlesson  core  optional  (minutes, estimated)")
        for lesson, estimate in ESTIMATES.items():
            print(f"{lesson:<6}  {estimate.core:4.0f}  {estimate.optional:8.0f}")
    parts = {part for lesson in MEASURED for part in SPLIT.get(lesson, (lesson,))}
    assert parts <= set(ESTIMATES)


@pytest.mark.parametrize("lesson", sorted(MEASURED))
def test_no_estimate_falls_below_a_measured_time(lesson):
    total = sum(ESTIMATES[part].total for part in SPLIT.get(lesson, (lesson,)))
    assert total >= MEASURED[lesson]
    if lesson in MEASURED_CORE:
        assert ESTIMATES[lesson].core >= MEASURED_CORE[lesson]


@pytest.mark.parametrize("lesson", [
    pytest.param(k, marks=pytest.mark.xfail(k in OVER_BUDGET, strict=False,
                                            reason="over the budget: to be trimmed or split"))
    for k in ESTIMATES])
def test_every_core_is_within_the_budget(lesson):
    assert ESTIMATES[lesson].core <= CORE_BUDGET


def test_the_optional_part_starts_after_the_summary_and_every_measure_counts():
    nb = new_notebook(cells=[
        new_markdown_cell("Some words and $x^2$ and $$y$$."),
        new_code_cell("from fedlab import plots, widgets\nimport numpy as np\n# a comment\n"
                      "plots.roc_curves([])"),
        new_code_cell("def f(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n"
                      "    ### END SOLUTION\n\nex.q1.check(f)"),
        new_markdown_cell("## Summary\nDone."),
        new_code_cell("widgets.fedavg_dashboard()"),
    ])
    core, optional = measures(nb)
    assert core == {"words": 6, "formulas": 2, "code_lines": 3, "figures": 1, "dashboards": 0,
                    "exercises": 1, "solution_lines": 1, "arguments": 2}
    assert optional["dashboards"] == 1 and optional["code_lines"] == 1
    assert sum(optional.values()) == 2


def test_a_notebook_without_a_summary_is_all_core(tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("word " * 200)]), path)
    estimate = estimate_minutes(path)
    assert estimate.optional == 0 and estimate.core == pytest.approx(1.0)
