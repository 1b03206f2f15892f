"""An instructor's grader: run learners' lesson notebooks, one row per notebook and exercise.

Each submission is copied to a temporary folder of its own and run there in a fresh
kernel, every cell even after one raised, within a time limit for the whole notebook.
Each exercise's check cell (the cell calling ``ex.qN.check(...)``) is read back: the
check displays "✔ Correct", "✘ Incorrect: ..." or "… Not attempted: ..." (see
:class:`fedlab.exercises._core.Result`). The list of exercises comes from
``fedlab.exercises.lessonNN``, so an exercise whose cell was deleted still gets its row.

A submission's code is contained (:mod:`fedlab._sandbox`, :class:`fedlab._nbrun.Contained`):
it sees only its own copy, in its own folder, and may write nowhere else; Python, its
packages and fedlab are read-only to it; as root the kernel runs as an unprivileged
account (``nobody``); every process it starts, even one that double-forks into a new
session, is ended when its notebook is done. The list of submissions can be passed in a
file (``--list``), since any process can read another's command line.

What remains possible (the checks run the learner's own code, as nbgrader's visible tests
do): a notebook can print "Correct" itself, or redefine the checks; it can use the
network and the machine's CPU and memory until its time limit; without Landlock (Linux
< 5.13) it can read any file its account may read. Grades are feedback, not an exam.
The grader never writes to a submission.
"""

from __future__ import annotations

import csv
import importlib
import io
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fedlab._files import PendingFile, check_new_file
from fedlab._validation import InvalidParameterError, check_positive

__all__ = ["add_arguments", "grade_command", "CORRECT", "INCORRECT", "NOT_ATTEMPTED", "ERROR",
           "Grade", "grade_notebook", "grade_notebooks", "read_check", "read_list",
           "reserve_out", "grades_csv", "containment"]

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


def grade_notebooks(paths, *, timeout=120, log=None, user="nobody"):
    """Grade several submissions, one after the other; see :func:`grade_notebook`.

    Parameters
    ----------
    paths : sequence of str or Path
    timeout : float, default=120
        Seconds for each notebook's cells together.
    log : callable, optional
        Called with one line per graded notebook (e.g. ``print``).
    user : str, default="nobody"
        When the grader runs as root, the unprivileged account the kernels run as.

    Returns
    -------
    list of Grade
    """
    check_positive(timeout, "timeout")
    from fedlab._sandbox import sandbox_user

    account = sandbox_user(user)
    grades = []
    for path in paths:
        rows = grade_notebook(path, timeout=timeout, _account=account)
        grades += rows
        if log is not None:
            counts = {o: sum(g.outcome == o for g in rows) for o in
                      (CORRECT, INCORRECT, NOT_ATTEMPTED, ERROR)}
            log(f"{path}: " + ", ".join(f"{n} {o}" for o, n in counts.items()))
    return grades


def grade_notebook(path, *, timeout=120, user="nobody", _account=False):
    """Run one submission in a temporary copy and grade each of its exercises.

    Parameters
    ----------
    path : str or Path
        A learner's notebook (``NN-slug.ipynb``; the lesson is read from the notebook's
        ``from fedlab.exercises import lessonNN as ex``, else from the file name).
    timeout : float, default=120
        Seconds for all its cells together; an endless notebook is stopped there.
    user : str, default="nobody"
        When the grader runs as root, the unprivileged account the kernel runs as.

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

    from fedlab._nbrun import Contained
    from fedlab._sandbox import sandbox_user

    timeout = check_positive(timeout, "timeout")
    account = sandbox_user(user) if _account is False else _account
    label = str(path)
    path = Path(path)
    lesson = _lesson_from_name(path.name)
    if not path.is_file():
        why = "not a file" if path.exists() else "file not found"
        return _all_rows(label, _exercises(lesson), ERROR, why)
    with tempfile.TemporaryDirectory(prefix="fedlab-grade-") as folder:
        copy = Path(folder) / path.name
        shutil.copyfile(path, copy)  # the submission itself is only ever read
        contained = Contained(folder, user=account)
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
            contained.prepare()
            stopped = _run(notebook, timeout=timeout, cwd=folder, contained=contained)
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


HELP = """Each notebook runs in its own temporary folder, holding only its copy, and may
write only there; Python, its packages and fedlab are read-only to it (Landlock, Linux >=
5.13; without it, it reads what its account may). As root, kernels run as --user
(default nobody). Every process a notebook starts is ended with it. Pass the
submissions with --list FILE (one path per line; - reads standard input): any process
on the machine can read a command line. What remains possible: the checks run the
learner's own code, so a notebook can print "Correct" itself or redefine a check, and
it can use the network; grades are feedback, not an exam. Submissions are never
modified; --out is never one of them, even with --force."""


def add_arguments(parser):
    """The ``grade`` subcommand's options."""
    from fedlab.cli.options import positive

    parser.epilog = HELP
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                        help="submitted notebooks (never modified); --list keeps them off "
                             "the command line")
    parser.add_argument("--list", metavar="FILE",
                        help="a file naming the submissions, one path per line (- for "
                             "standard input)")
    parser.add_argument("--out", required=True, metavar="CSV",
                        help="results: notebook,exercise,outcome,message")
    parser.add_argument("--timeout", type=positive, default=120,
                        help="seconds for each notebook's cells together (default 120)")
    parser.add_argument("--user", default="nobody",
                        help="as root, the unprivileged account kernels run as (default "
                             "nobody)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out file")


def grade_command(args):
    """Grade every submission and write the CSV (reserved before the first notebook runs)."""
    from fedlab._sandbox import sandbox_user

    paths = list(args.notebooks) + (read_list(args.list) if args.list else [])
    if not paths:
        raise InvalidParameterError("grade: give the submissions as NOTEBOOK arguments or "
                                    "with --list FILE")
    sandbox_user(args.user)  # an unknown --user fails now
    inputs = paths + ([args.list] if args.list and args.list != "-" else [])
    pending = reserve_out(args.out, inputs=inputs, force=args.force)
    try:
        print(containment(args.user))
        grades = grade_notebooks(paths, timeout=args.timeout, log=print, user=args.user)
        pending.commit(grades_csv(grades), replace=args.force)
    finally:
        pending.discard()
    print(f"{len(grades)} rows written to {args.out}")
    return 0


def read_list(path):
    """The submissions named in a list file: one path per line (``-``: standard input).

    Blank lines and lines starting with ``#`` are skipped; a relative path is taken from
    the current folder, as the shell would.

    Raises
    ------
    ValueError
        If the file names no submission.
    OSError
        If it cannot be read.
    """
    text = sys.stdin.read() if str(path) == "-" else Path(path).read_text(encoding="utf-8")
    paths = [line.strip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    if not paths:
        raise InvalidParameterError(f"--list {path}: names no notebook (one path per line)")
    return paths


def reserve_out(out, *, inputs, force=False):
    """Check ``out`` and reserve it before any notebook runs; a :class:`~fedlab._files.PendingFile`.

    ``out`` may never be one of ``inputs`` (the submissions and the list file), even with
    ``force``; an existing file is replaced only with ``force``; a folder that cannot be
    written fails now, not after the grading.
    """
    return PendingFile(check_new_file(out, option="--out", force=force, inputs=inputs))


def grades_csv(grades):
    """``grades`` as CSV text: a ``notebook,exercise,outcome,message`` header, one row each."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(FIELDS)
    writer.writerows((g.notebook, g.exercise, g.outcome, g.message) for g in grades)
    return text.getvalue()


def containment(user="nobody"):
    """One line saying how submissions are contained on this machine."""
    from fedlab._sandbox import landlock_abi, sandbox_user

    account = sandbox_user(user)
    who = f"as {user}" if account is not None else "as this user"
    abi = landlock_abi()
    files = (f"reading only Python, its packages and fedlab (Landlock ABI {abi})" if abi else
             "reading what its account may read (this Linux kernel has no Landlock)")
    return (f"each notebook runs {who} in its own temporary folder, writing only there and "
            f"{files}; every process it starts is ended with it")


def _run(notebook, *, timeout, cwd, contained=None):
    from fedlab._nbrun import execute_all_cells

    return execute_all_cells(notebook, timeout=timeout, cwd=cwd, contained=contained)


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
