"""How long a lesson takes a learner, estimated from the notebook alone (nothing is run).

A lesson's core is every cell up to and including its ``## Summary``; what follows it (the
"Going deeper (optional)" sections, an optional exercise, "Going further") is optional. The
course promises a core of at most :data:`CORE_BUDGET` minutes.

The estimate adds up what a learner does:

============================  ===============================================================
what                          minutes
============================  ===============================================================
prose                         one per 200 words
maths                         0.1 per formula (``$...$`` or ``$$...$$``), on top of the prose
code, read and run            0.05 per line outside the exercises (comments and blank lines
                              left out)
a figure                      0.5 per cell that draws one (``fedlab.plots``, matplotlib)
a dashboard                   5 per cell that shows one (``fedlab.widgets``): its controls
                              are tried, its panels read
an exercise                   5, plus 0.3 per line of the notebook's solution and 1 per
                              argument of the function: the inputs are what a learner must
                              understand first (lesson 04's FedProx, SCAFFOLD and FedAdam
                              take 5, 7 and 9)
============================  ===============================================================

Calibration. The old yardstick (words / 180 + code lines / 10 + 5 per exercise) said 44.9
minutes for lesson 04, which took a learner 75. The weights above come from a linear
programme: each weight within a plausible range (200 to 100 words a minute, 0.1 to 0.5
minute a formula, 0.05 to 0.2 a line of code, 0.5 to 2 a figure, 2 to 5 a dashboard, 3 to 8
an exercise, 0.3 to 2 a solution line, 0 to 1 an argument), the smallest total overshoot
such that no estimate falls below a time measured with learners (whole lesson, core and
optional, unless stated); then rounded up. On the notebooks as they stood:

======  ========  =========================================
lesson  measured  this estimate: total (core + optional)
======  ========  =========================================
02      55        58 (52 + 6)
03b     50        76 (57 + 19)
04      75        76 (71 + 5)
06b     55        60 (60 + 0)
07      65        72 (57 + 16); core 40 measured
08      55        62 (54 + 8)
09      50        64 (53 + 11)
======  ========  =========================================

Seven measurements cannot pin eight weights down: the estimate is a bound that errs long
(by up to 26 minutes, lesson 03b's), not a prediction. Lesson 04's time is what sets the
weights of exercises and their arguments; lesson 07's core (40 measured, 57 estimated) is
read faster than its formulas suggest. ``tests/test_lessons_time.py`` prints every lesson's
estimate and checks the measured lower bounds, so a weight that undercuts one fails.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import nbformat

__all__ = ["CORE_BUDGET", "WEIGHTS", "Estimate", "estimate_minutes", "measures"]

CORE_BUDGET = 45
"""Minutes the course promises for a lesson's core."""

WEIGHTS = {"words": 1 / 200, "formulas": 0.1, "code_lines": 0.05, "figures": 0.5,
           "dashboards": 5.0, "exercises": 5.0, "solution_lines": 0.3, "arguments": 1.0}
"""Minutes per unit of each measure (see the module's table)."""

_SUMMARY = re.compile(r"^#+\s*Summary\b", re.M)
_FORMULA = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.S)
_WORD = re.compile(r"[A-Za-z0-9][\w'.,%-]*")
_BEGIN, _END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass(frozen=True)
class Estimate:
    """Minutes for a lesson's core and for its optional part."""

    core: float
    optional: float

    @property
    def total(self):
        return self.core + self.optional


def estimate_minutes(notebook):
    """The minutes a learner needs for ``notebook``'s core and its optional part.

    Parameters
    ----------
    notebook : nbformat.NotebookNode or str or path
        A solution notebook (the solutions are needed to weigh the exercises).

    Returns
    -------
    Estimate
        ``core`` (up to and including the summary) and ``optional`` (the rest).

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    >>> nb = new_notebook(cells=[new_markdown_cell("word " * 130), new_code_cell("x = 1"),
    ...                          new_markdown_cell("## Summary"),
    ...                          new_markdown_cell("## Going deeper (optional) $a$")])
    >>> e = estimate_minutes(nb)  # 131 words and a line of code; 3 words and a formula
    >>> round(e.core, 3), round(e.optional, 3)
    (0.705, 0.115)
    """
    core, optional = (sum(WEIGHTS[k] * v for k, v in part.items())
                      for part in measures(notebook))
    return Estimate(core=core, optional=optional)


def measures(notebook):
    """What the estimate counts, for the core and for the optional part: two dicts."""
    if not isinstance(notebook, nbformat.NotebookNode):
        notebook = nbformat.read(str(notebook), as_version=4)
    cells = notebook.cells
    cut = next((k for k, c in enumerate(cells)
                if c.cell_type == "markdown" and _SUMMARY.search(c.source)), len(cells) - 1)
    names = _plotting_names(cells)
    return _count(cells[:cut + 1], names), _count(cells[cut + 1:], names)


def _count(cells, names):
    counted = dict.fromkeys(WEIGHTS, 0)
    for cell in cells:
        if cell.cell_type == "markdown":
            counted["formulas"] += len(_FORMULA.findall(cell.source))
            counted["words"] += len(_WORD.findall(_FORMULA.sub(" ", cell.source)))
        elif cell.cell_type == "code":
            lines = _lines(cell.source)
            if _BEGIN in cell.source:
                counted["exercises"] += cell.source.count(".check(") > 0
                counted["solution_lines"] += _solution_lines(cell.source)
                counted["arguments"] += _arguments(cell.source)
            else:
                counted["code_lines"] += len(lines)
            called = _called(cell.source)
            counted["figures"] += bool(called & names["figures"])
            counted["dashboards"] += bool(called & names["dashboards"])
    return counted


def _lines(source):
    return [line for line in source.split("\n")
            if line.strip() and not line.strip().startswith("#")]


def _solution_lines(source):
    inside, n = False, 0
    for line in source.split("\n"):
        if line.strip() in (_BEGIN, _END):
            inside = line.strip() == _BEGIN
        elif inside and line.strip() and not line.strip().startswith("#"):
            n += 1
    return n


def _arguments(source):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return 0
    return sum(len(node.args.args) for node in tree.body if isinstance(node, ast.FunctionDef))


def _plotting_names(cells):
    """The names a notebook draws with: ``{"figures": {...}, "dashboards": {...}}``."""
    names = {"figures": {"plt"}, "dashboards": set()}
    for cell in cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    kind = _kind(f"{node.module}.{alias.name}")
                    if kind:
                        names[kind].add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    kind = _kind(alias.name)
                    if kind:
                        names[kind].add(alias.asname or alias.name.rsplit(".", 1)[-1])
    return names


def _kind(module):
    if module.startswith(("fedlab.plots", "matplotlib")):
        return "figures"
    if module.startswith("fedlab.widgets"):
        return "dashboards"
    return None


def _called(source):
    """The names a cell calls, and the modules whose functions it calls."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    called = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            while isinstance(func, ast.Attribute):
                func = func.value
            if isinstance(func, ast.Name):
                called.add(func.id)
    return called
