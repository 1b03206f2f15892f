"""The machinery behind every exercise: check, tiered hints, solution (as Kaggle learntools).

An exercise's :meth:`Exercise.check` has three outcomes: Correct; Incorrect, with a message
that names the mistake without handing over the answer; Not attempted, when the learner's
code still raises the stub's ``NotImplementedError``. Answers are passed explicitly;
nothing reads the notebook's globals.
"""

from __future__ import annotations

import html
import inspect
import textwrap
from dataclasses import dataclass

import numpy as np

__all__ = ["Result", "CORRECT", "INCORRECT", "NOT_ATTEMPTED", "Exercise", "FunctionExercise",
           "ValueExercise", "Mistake"]

CORRECT, INCORRECT, NOT_ATTEMPTED = "Correct", "Incorrect", "Not attempted"
# Colour-blind-safe (Okabe-Ito) colours, always with a symbol and a word as well.
_STYLE = {CORRECT: ("#009E73", "\u2714"), INCORRECT: ("#D55E00", "\u2718"),
          NOT_ATTEMPTED: ("#0072B2", "\u2026")}


@dataclass(frozen=True)
class Result:
    """The outcome of a check and the message shown to the learner."""

    outcome: str
    message: str = ""

    @property
    def correct(self):
        return self.outcome == CORRECT

    def __str__(self):
        return f"{_STYLE[self.outcome][1]} {self.outcome}" + (
            f": {self.message}" if self.message else "")

    __repr__ = __str__  # the plain-text view in a notebook reads like the coloured one

    def _repr_html_(self):
        colour, symbol = _STYLE[self.outcome]
        body = html.escape(self.message).replace("\n", "<br>")
        return (f'<div style="color:{colour}"><b>{symbol} {self.outcome}</b>'
                + (f": {body}" if body else "") + "</div>")


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer: a function (or value) that reproduces it, and what to say."""

    wrong: object
    message: str


class Exercise:
    """Base class: subclasses implement :meth:`evaluate`.

    Parameters
    ----------
    title : str
    hints : sequence of str
        From a gentle nudge to almost the answer.
    solution : str, callable or sequence of callables
        What :meth:`solution` shows: code as text, or the reference function(s)
        themselves, whose source is shown (so the solution is written only once).
    """

    def __init__(self, title, *, hints=(), solution=""):
        self.title = title
        self.hints = tuple(hints)
        self._solution = _solution_text(solution)
        self.last_result = None

    def evaluate(self, answer):
        """Return the :class:`Result` for ``answer`` without showing anything."""
        raise NotImplementedError

    def check(self, answer):
        """Check ``answer`` and show Correct, Incorrect (with why) or Not attempted."""
        self.last_result = self.evaluate(answer)
        _show(self.last_result)

    def hint(self, n=1):
        """Show hint number ``n`` (1 is the gentlest)."""
        if not self.hints:
            _show_text("There is no hint for this exercise.")
        elif not 1 <= n <= len(self.hints):
            _show_text(f"There are {len(self.hints)} hints: try hint(1) to "
                       f"hint({len(self.hints)}).")
        else:
            more = f" (hint({n + 1}) says more)" if n < len(self.hints) else ""
            _show_text(f"Hint {n}/{len(self.hints)}: {self.hints[n - 1]}{more}")

    def solution(self):
        """Show the solution."""
        _show_text(f"Solution:\n{self._solution}")

    def __repr__(self):
        return f"<exercise: {self.title}>"


class FunctionExercise(Exercise):
    """Checks a function the learner wrote against a reference on many cases.

    Parameters
    ----------
    title : str
    reference : callable
        The correct function.
    cases : callable
        ``cases(rng)`` returns a list of argument tuples: random cases and edge cases.
    mistakes : sequence of Mistake
        Typical wrong functions; when the learner's output matches one on a failing case,
        its message is shown.
    describe : callable, optional
        ``describe(args)`` says a case in words for messages.
    rtol, atol : float
        Tolerances of the comparison.
    hints, solution : see :class:`Exercise`
    """

    def __init__(self, title, *, reference, cases, mistakes=(), describe=None, rtol=1e-6,
                 atol=1e-8, hints=(), solution="", seed=0):
        super().__init__(title, hints=hints, solution=solution)
        self.reference, self.cases, self.mistakes = reference, cases, tuple(mistakes)
        self.describe = describe or _describe_args
        self.rtol, self.atol, self.seed = rtol, atol, seed

    def evaluate(self, answer):
        if not callable(answer):
            return Result(INCORRECT, f"expected a function, got {_short(answer)}; pass the "
                                     "function itself, without calling it")
        for args in self.cases(np.random.default_rng(self.seed)):
            try:
                got = answer(*_copy(args))
            except NotImplementedError:
                return Result(NOT_ATTEMPTED, "replace `raise NotImplementedError()` with "
                                             "your code, then check again")
            except Exception as err:  # the learner's code may raise anything
                return Result(INCORRECT, f"calling your function with {self.describe(args)} "
                                         f"raised {type(err).__name__}: {err}")
            expected = self.reference(*_copy(args))
            problem = _difference(got, expected, self.rtol, self.atol)
            if problem:
                return Result(INCORRECT, self._explain(args, got, problem))
        return Result(CORRECT)

    def _explain(self, args, got, problem):
        for mistake in self.mistakes:
            try:
                wrong = mistake.wrong(*_copy(args))
            except Exception:  # a mistake model that does not apply to this case
                continue
            if not _difference(got, wrong, self.rtol, self.atol):
                return f"{mistake.message} (with {self.describe(args)} you returned " \
                       f"{_short(got)})"
        return f"with {self.describe(args)}: {problem}"


class ValueExercise(Exercise):
    """Checks a number or array the learner computed, with typical wrong values named."""

    def __init__(self, title, *, expected, mistakes=(), rtol=1e-3, atol=1e-8, hints=(),
                 solution=""):
        super().__init__(title, hints=hints, solution=solution)
        self.expected, self.mistakes, self.rtol, self.atol = expected, tuple(mistakes), rtol, atol

    def evaluate(self, answer):
        if answer is None or answer is Ellipsis:
            return Result(NOT_ATTEMPTED, "compute the value and pass it to check()")
        expected = self.expected() if callable(self.expected) else self.expected
        problem = _difference(answer, expected, self.rtol, self.atol)
        if not problem:
            return Result(CORRECT)
        for mistake in self.mistakes:
            wrong = mistake.wrong() if callable(mistake.wrong) else mistake.wrong
            if not _difference(answer, wrong, self.rtol, self.atol):
                return Result(INCORRECT, mistake.message)
        return Result(INCORRECT, problem)


def _solution_text(solution):
    """The solution as text: a string as is, a function (or several) by its source."""
    if isinstance(solution, str):
        return textwrap.dedent(solution).strip()
    functions = [solution] if callable(solution) else list(solution)
    return "\n\n".join(_without_docstring(inspect.getsource(f)) for f in functions)


def _without_docstring(source):
    """Drop a function's docstring: learners see the code, not the maintainers' note."""
    lines = textwrap.dedent(source).strip().split("\n")
    for k, line in enumerate(lines[1:], start=1):
        stripped = line.strip()
        if stripped.startswith(('"""', "'''")):
            quote = stripped[:3]
            end = k if stripped.count(quote) >= 2 and len(stripped) > 3 else next(
                j for j in range(k + 1, len(lines)) if quote in lines[j])
            return "\n".join(lines[:k] + lines[end + 1:])
        if stripped:
            break
    return "\n".join(lines)


def _difference(got, expected, rtol, atol):
    """``""`` when ``got`` matches ``expected``; otherwise what is different, in words."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"expected a dict, got {_short(got)}"
        if set(got) != set(expected):
            return f"expected the keys {sorted(expected)}, got {sorted(got)}"
        for key in expected:
            problem = _difference(got[key], expected[key], rtol, atol)
            if problem:
                return f"[{key!r}] {problem}"
        return ""
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected {len(expected)} values, got {_short(got)}"
        for k, (g, e) in enumerate(zip(got, expected)):
            problem = _difference(g, e, rtol, atol)
            if problem:
                return f"value {k + 1}: {problem}"
        return ""
    expected = np.asarray(expected, dtype=float)
    try:
        got_arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"expected a number or array, got {_short(got)}"
    if got_arr.shape != expected.shape:
        return (f"expected shape {expected.shape}, got shape {got_arr.shape} "
                f"({_short(got)})")
    if not np.allclose(got_arr, expected, rtol=rtol, atol=atol, equal_nan=True):
        return f"expected {_short(expected)}, got {_short(got_arr)}"
    return ""


def _copy(args):
    """Fresh copies of array arguments, so a function that modifies its input harms no case."""
    return tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in args)


def _short(value, limit=80):
    if isinstance(value, np.generic):  # np.float64(0.5) reads as 0.5 to a learner
        value = value.item()
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.generic) for v in value):
        value = type(value)(v.item() if isinstance(v, np.generic) else v for v in value)
    if isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = np.array2string(value, precision=4, threshold=6) \
            if isinstance(value, np.ndarray) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _describe_args(args):
    return ", ".join(_short(a, 60) for a in args)


def _show(result):
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with the course
        print(result)
        return
    if get_ipython() is None:
        print(result)
    else:
        display(result)


def _show_text(text):
    print(text)
