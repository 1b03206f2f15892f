"""An instructor's grader: run learners' lesson notebooks, one row per notebook and exercise.

Each submission is copied to a temporary folder and run there in a fresh kernel, every
cell even after one raised, within a time limit for the whole notebook. Each exercise's
check cell (the cell calling ``ex.qN.check(...)``) is read back: the check displays
"✔ Correct", "✘ Incorrect: ..." or "… Not attempted: ..." (see
:class:`fedlab.exercises._core.Result`). The list of exercises comes from
``fedlab.exercises.lessonNN``, so an exercise whose cell was deleted still gets its row.

The grader trusts the notebook's code, as nbgrader does with visible tests: a learner
determined to print "Correct" can. It never writes to a submission.
"""

from __future__ import annotations

import csv
import importlib
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fedlab._validation import InvalidParameterError, check_positive

__all__ = ["CORRECT", "INCORRECT", "NOT_ATTEMPTED", "ERROR", "Grade", "grade_notebook",
           "grade_notebooks", "read_check", "check_out_path", "write_grades"]

CORRECT, INCORRECT, NOT_ATTEMPTED, ERROR = "correct", "incorrect", "not attempted", "error"
FIELDS = ("notebook", "exercise", "outcome", "message")

_CHECK_CALL = re.compile(r"\bex\.(q\d+)\.check\(")
_LESSON_IMPORT = re.compile(r"from\s+fedlab\.exercises\s+import\s+lesson(\d\d[a-z]?)\s+as\s+ex\b")
_LESSON_NAME = re.compile(r"(?:^|\D)(\d\d[a-z]?)-[A-Za-z]")
# what a check shows, as text/plain or printed: symbol (optional), outcome, ": message"
_RESULT = re.compile(r"^[\s\u2714\u2718\u2026]*(Correct|Incorrect|Not attempted)\b:?[ \t]*(.*)",
                     re.MULTILINE | re.DOTALL)
_OUTCOME = {"Correct": CORRECT, "Incorrect": INCORRECT, "Not attempted": NOT_ATTEMPTED}


@dataclass(frozen=True)
class Grade:
    """One row of the results: a notebook, an exercise and its outcome."""

    notebook: str
    exercise: str
    outcome: str
    message: str = ""


def grade_notebooks(paths, *, timeout=120, log=None):
    """Grade several submissions, one after the other; see :func:`grade_notebook`.

    Parameters
    ----------
    paths : sequence of str or Path
    timeout : float, default=120
        Seconds for each notebook's cells together.
    log : callable, optional
        Called with one line per graded notebook (e.g. ``print``).

    Returns
    -------
    list of Grade
    """
    check_positive(timeout, "timeout")
    grades = []
    for path in paths:
        rows = grade_notebook(path, timeout=timeout)
        grades += rows
        if log is not None:
            counts = {o: sum(g.outcome == o for g in rows) for o in
                      (CORRECT, INCORRECT, NOT_ATTEMPTED, ERROR)}
            log(f"{path}: " + ", ".join(f"{n} {o}" for o, n in counts.items()))
    return grades


def grade_notebook(path, *, timeout=120):
    """Run one submission in a temporary copy and grade each of its exercises.

    Parameters
    ----------
    path : str or Path
        A learner's notebook (``NN-slug.ipynb``; the lesson is read from the notebook's
        ``from fedlab.exercises import lessonNN as ex``, else from the file name).
    timeout : float, default=120
        Seconds for all its cells together; an endless notebook is stopped there.

    Returns
    -------
    list of Grade
        One per exercise, in order, with outcome ``correct``, ``incorrect``, ``not
        attempted`` or ``error`` (the check cell raised, was not reached before the time
        limit, or the notebook could not be read). A file that cannot be read at all gives
        one ``error`` row per exercise of its lesson (a single row when even the lesson is
        unknown).
    """
    import nbformat

    timeout = check_positive(timeout, "timeout")
    label = str(path)
    path = Path(path)
    lesson = _lesson_from_name(path.name)
    if not path.is_file():
        why = "not a file" if path.exists() else "file not found"
        return _all_rows(label, _exercises(lesson), ERROR, why)
    with tempfile.TemporaryDirectory(prefix="fedlab-grade-") as folder:
        copy = Path(folder) / path.name
        shutil.copyfile(path, copy)  # the submission itself is only ever read
        try:
            notebook = nbformat.read(copy, as_version=4)
            sources = [c.source for c in notebook.cells if c.cell_type == "code"]
        except Exception as err:  # any unreadable file: invalid JSON, not a notebook, ...
            return _all_rows(label, _exercises(lesson), ERROR,
                             f"not a readable notebook ({type(err).__name__}: "
                             f"{_first_line(err)})")
        lesson = _lesson_from_sources(sources) or lesson
        checks = _check_cells(notebook)
        names = sorted(set(_exercises(lesson)) | set(checks), key=lambda q: int(q[1:]))
        if not names:
            return [Grade(label, "", ERROR, "no exercise found: no cell calls "
                                            "ex.qN.check(...) and the lesson is unknown")]
        try:
            stopped = _run(notebook, timeout=timeout, cwd=folder)
        except Exception as err:  # the kernel could not start
            return _all_rows(label, names, ERROR, f"could not run the notebook "
                                                  f"({type(err).__name__}: {_first_line(err)})")
    rows = []
    for name in names:
        if name not in checks:
            rows.append(Grade(label, name, NOT_ATTEMPTED,
                              f"no cell calls ex.{name}.check(...)"))
        elif stopped is not None and checks[name] >= stopped[0]:
            rows.append(Grade(label, name, ERROR, stopped[1]))
        else:
            rows.append(Grade(label, name, *read_check(notebook.cells[checks[name]])))
    return rows


def read_check(cell):
    """The outcome and message a check cell displayed, once run.

    Parameters
    ----------
    cell : nbformat.NotebookNode
        An executed code cell.

    Returns
    -------
    (str, str)
        ``error`` with the exception's name when the cell raised; otherwise the last
        result the cell showed; ``error`` when it showed none.

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_output
    >>> cell = new_code_cell("ex.q1.check(f)", outputs=[new_output(
    ...     "display_data", data={"text/plain": "\u2718 Incorrect: upside down"})])
    >>> read_check(cell)
    ('incorrect', 'upside down')
    """
    outcome = None
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return ERROR, f"{output.ename}: {_short(output.evalue)}".rstrip(": ")
        if output.output_type == "stream":
            text = output.text
        elif output.output_type in ("display_data", "execute_result"):
            text = output.get("data", {}).get("text/plain", "")
        else:
            continue
        found = _RESULT.findall(text)
        if found:
            word, message = found[-1]
            outcome = (_OUTCOME[word], _short(message))
    return outcome or (ERROR, "the check showed no result")


def check_out_path(out, *, force=False):
    """Refuse an output file that exists (unless ``force``) or whose folder does not."""
    out = Path(out)
    if out.exists() and (not force or out.is_dir()):
        raise InvalidParameterError(f"--out {out} already exists; add --force to overwrite it"
                         if not out.is_dir() else f"--out {out} is a folder, not a file")
    if not out.parent.is_dir():
        raise InvalidParameterError(f"--out {out}: the folder {out.parent} does not exist")
    return out


def write_grades(grades, out, *, force=False):
    """Write ``grades`` as CSV (``notebook,exercise,outcome,message``) to a new file.

    An existing file is overwritten only with ``force`` (the file is then replaced, not
    appended to).
    """
    out = check_out_path(out, force=force)
    try:
        with open(out, "w" if force else "x", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(FIELDS)
            writer.writerows((g.notebook, g.exercise, g.outcome, g.message) for g in grades)
    except FileExistsError:  # created while the notebooks ran
        raise InvalidParameterError(
            f"--out {out} already exists; add --force to overwrite it") from None
    return out


def _run(notebook, *, timeout, cwd):
    from fedlab._nbrun import execute_all_cells

    return execute_all_cells(notebook, timeout=timeout, cwd=cwd)


def _check_cells(notebook):
    """``{exercise: index of the last code cell that calls ex.<exercise>.check(...)}``."""
    found = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            for name in _CHECK_CALL.findall(cell.source):
                found[name] = index
    return found


def _exercises(lesson):
    """``["q1", "q2", ...]`` of ``fedlab.exercises.lessonNN``; empty when unknown."""
    if lesson is None:
        return []
    try:
        module = importlib.import_module(f"fedlab.exercises.lesson{lesson}")
    except ImportError:
        return []
    from fedlab.exercises._core import Exercise

    names = [
        n
        for n in vars(module)
        if re.fullmatch(r"q\d+", n) and isinstance(getattr(module, n), Exercise)
    ]
    return sorted(names, key=lambda q: int(q[1:]))


def _lesson_from_sources(sources):
    for source in sources:
        match = _LESSON_IMPORT.search(source)
        if match:
            return match.group(1)
    return None


def _lesson_from_name(name):
    match = _LESSON_NAME.search(name)
    return match.group(1) if match else None


def _all_rows(label, names, outcome, message):
    return [Grade(label, n, outcome, message) for n in names] or [
        Grade(label, "", outcome, message)
    ]


def _first_line(err):
    return _short(str(err).strip().split("\n")[0])


def _short(text, limit=300):
    """One line (a CSV cell a spreadsheet shows whole), at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
