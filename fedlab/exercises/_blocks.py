"""Each exercise's solution, taken from the solution notebook: the notebook is the only copy.

An exercise is the code cell that holds a ``### BEGIN SOLUTION`` block and calls
``ex.qN.check(...)``. ``python -m fedlab lessons`` (:mod:`fedlab.lessons`) extracts that
cell's code, without the markers and without the check, into ``solutions.json`` next to
this module (generated, do not edit); ``ex.qN.solution()`` shows it.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from functools import lru_cache
from pathlib import Path

__all__ = ["BLOCKS_FILE", "NOTICE", "lesson_key", "exercise_blocks", "check_calls",
           "solution_code"]

BLOCKS_FILE = Path(__file__).with_name("solutions.json")
NOTICE = ("generated from solutions/*.ipynb by `python -m fedlab lessons`; do not edit, edit "
          "the solution notebooks and regenerate")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
_EXERCISE = re.compile(r"q\d+")


def lesson_key(notebook_name):
    """The exercise module of a notebook: ``"03-federated-averaging.ipynb"`` -> ``"lesson03"``.

    A lesson split in parts carries a letter after its number: ``"03b-..."`` -> ``"lesson03b"``.

    Examples
    --------
    >>> lesson_key("03-federated-averaging.ipynb"), lesson_key("06b-dp-training.ipynb")
    ('lesson03', 'lesson06b')
    """
    return f"lesson{Path(notebook_name).name.split('-', 1)[0]}"


def check_calls(source):
    """The ``ex.qN.check(...)`` statements of a cell: ``[(qN, [argument names], lines)]``.

    ``lines`` is the range of (1-based) lines the statement spans.

    Examples
    --------
    >>> check_calls("def f(x):\\n    return x\\n\\nex.q2.check(f)")
    [('q2', ['f'], range(4, 5))]
    """
    calls = []
    for node in ast.parse(source).body:
        call = node.value if isinstance(node, ast.Expr) else None
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == "check" and isinstance(call.func.value, ast.Attribute)
                and _EXERCISE.fullmatch(call.func.value.attr)):
            names = [arg.id if isinstance(arg, ast.Name) else ast.unparse(arg)
                     for arg in call.args]
            calls.append((call.func.value.attr, names, range(node.lineno, node.end_lineno + 1)))
    return calls


def exercise_blocks(sources, *, where="notebook"):
    """The exercises of one notebook: ``{qN: {"cell", "answers", "code"}}``.

    Parameters
    ----------
    sources : sequence of str
        The notebook's cells' sources, code cells only as ``str`` and other cells as
        ``None`` (so cell numbers match the notebook's).
    where : str
        The notebook's path, for error messages.

    Returns
    -------
    dict
        For each exercise: the cell's number (from 1), the names passed to ``check`` (the
        learner's functions) and the cell's code without the markers and the check.

    Raises
    ------
    ValueError
        A cell with a solution block that is not valid Python, that checks more than one
        exercise, or an exercise checked in two cells.

    Examples
    --------
    >>> cell = "def f(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION\\n" \\
    ...        "\\nex.q1.check(f)"
    >>> blocks = exercise_blocks([None, cell])
    >>> blocks["q1"]["cell"], blocks["q1"]["answers"]
    (2, ['f'])
    >>> print(blocks["q1"]["code"])
    def f(x):
        return 2 * x
    """
    blocks = {}
    for number, source in enumerate(sources, start=1):
        if source is None or MARKERS[0] not in source:
            continue
        try:
            calls = check_calls(source)
        except SyntaxError as err:
            raise ValueError(f"{where}, cell {number}: the solution cell is not valid Python "
                             f"(line {err.lineno}: {err.msg})") from None
        if len(calls) > 1:
            raise ValueError(f"{where}, cell {number}: one exercise per cell, found checks of "
                             f"{', '.join(name for name, _, _ in calls)}")
        if not calls:
            continue  # a solution block without a check: not an exercise
        [(name, answers, lines)] = calls
        if name in blocks:
            raise ValueError(f"{where}, cell {number}: {name} is already checked in cell "
                             f"{blocks[name]['cell']}")
        kept = [line for k, line in enumerate(source.split("\n"), start=1)
                if k not in lines and line.strip() not in MARKERS]
        blocks[name] = {"cell": number, "answers": answers,
                        "code": "\n".join(kept).strip("\n")}
    return blocks


def solution_code(exercise):
    """The notebook's solution of ``exercise`` (an object of a ``lessonNN`` module), or None."""
    found = _locate(exercise)
    if found is None:
        return None
    lesson, name = found
    entry = _recorded().get("lessons", {}).get(lesson, {}).get("exercises", {}).get(name)
    return None if entry is None else entry["code"]


def _locate(exercise):
    """``("lessonNN", "qN")`` for an exercise defined in a lesson's module, else None."""
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("fedlab.exercises.lesson") and module is not None:
            for name, value in vars(module).items():
                if value is exercise and _EXERCISE.fullmatch(name):
                    return module_name.rsplit(".", 1)[1], name
    return None


@lru_cache(maxsize=1)
def _recorded():
    try:
        return json.loads(BLOCKS_FILE.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return {}
