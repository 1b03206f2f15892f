"""The machinery behind every exercise: check, tiered hints, solution (as Kaggle learntools).

An exercise's ``check`` has three outcomes: Correct; Incorrect, with a message that names
the mistake without handing over the answer; Not attempted, when the learner's code still
raises the stub's ``NotImplementedError``. Answers are passed explicitly; nothing reads the
notebook's globals. Function exercises live in :mod:`fedlab.exercises._functions`.
"""

from __future__ import annotations

import html
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from fedlab.exercises._blocks import solution_code
from fedlab.exercises._compare import difference

__all__ = ["Result", "CORRECT", "INCORRECT", "NOT_ATTEMPTED", "Exercise", "ValueExercise",
           "Mistake", "Text", "Code"]

CORRECT, INCORRECT, NOT_ATTEMPTED = "Correct", "Incorrect", "Not attempted"
# Colour-blind-safe (Okabe-Ito) colours, always with a symbol and a word as well.
_STYLE = {CORRECT: ("#009E73", "\u2714"), INCORRECT: ("#D55E00", "\u2718"),
          NOT_ATTEMPTED: ("#0072B2", "\u2026")}


@dataclass(frozen=True)
class Result:
    """The outcome of a check, the message shown to the learner, and the case it is about."""

    outcome: str
    message: str = ""
    case: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def correct(self):
        return self.outcome == CORRECT

    def __str__(self):
        return f"{_STYLE[self.outcome][1]} {self.outcome}" + (
            f": {self.message}" if self.message else "")

    __repr__ = __str__  # the plain-text view in a notebook reads like the coloured one

    def _repr_html_(self):
        colour, symbol = _STYLE[self.outcome]
        body = _html(self.message)
        return (f'<div style="color:{colour}"><b>{symbol} {self.outcome}</b>'
                + (f": {body}" if body else "") + "</div>")


class Text(str):
    """A hint or a solution as shown: plain text, and in a notebook with its code as code.

    In a message or a hint, code is written in backticks (inline) or on lines indented by
    four spaces (a block, which runs as written); a solution is code throughout.
    """

    code = False

    def _repr_html_(self):
        if self.code:
            return f"<pre>{html.escape(str(self))}</pre>"
        return f"<div>{_html(str(self))}</div>"

    def __repr__(self):
        return str(self)


class Code(Text):
    code = True


def _after(text):
    """What separates ``text`` from a remark after it: a new line after a code block."""
    return "\n" if text.split("\n")[-1].startswith("    ") else " "


def _html(text):
    """``text`` as HTML: backticks become code, lines indented by four spaces a block."""
    parts, block = [], []
    for line in text.split("\n"):
        if line.startswith("    "):
            block.append(line[4:])
            continue
        if block:
            parts.append(f"<pre>{html.escape(chr(10).join(block))}</pre>")
            block = []
        parts.append(re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(line)) + "<br>")
    if block:
        parts.append(f"<pre>{html.escape(chr(10).join(block))}</pre>")
    return "".join(parts).removesuffix("<br>")


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer: a function (or value) that reproduces it, and what to say.

    Parameters
    ----------
    wrong : callable or object
        The wrong function, called with the case's arguments (for a
        :class:`ValueExercise`: the wrong value, or a function of no argument).
    message : str
        What went wrong and a likely cause; never the expected value.
    match : {"value", "shape"}, default="value"
        ``"value"``: the learner's output equals ``wrong``'s. ``"shape"``: it has the
        shape of ``wrong``'s output, which differs from the answer's (an average along
        the wrong axis, say, whatever the numbers).
    applies : callable, optional
        ``applies(*args)`` is False for the cases this mistake cannot be told on (its
        model must not be called there); by default it applies to every case.
    """

    wrong: object
    message: str
    match: str = "value"
    applies: object = None

    def __post_init__(self):
        if self.match not in ("value", "shape"):
            raise ValueError(f"match must be 'value' or 'shape', got {self.match!r}")


class Exercise:
    """Base class: a title, tiered hints and the notebook's solution.

    Subclasses implement :meth:`evaluate`.
    """

    def __init__(self, title, *, hints=()):
        self.title = title
        self.hints = tuple(hints)
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
            more = "" if n == len(self.hints) else f"{_after(self.hints[n - 1])}" \
                f"(hint({n + 1}) says more)"
            _show_text(f"Hint {n}/{len(self.hints)}: {self.hints[n - 1]}{more}")

    def solution(self):
        """Show the solution: the solution notebook's own code for this exercise."""
        code = solution_code(self)
        _show(Code(f"Solution:\n{code}") if code else Text(
                   "No solution is recorded for this exercise (run `python -m fedlab "
                   "lessons` to extract the solution notebooks' blocks)."))

    def __repr__(self):
        return f"<exercise: {self.title}>"


class ValueExercise(Exercise):
    """Checks a number or array the learner computed, with typical wrong values named.

    ``expected`` and each mistake's ``wrong`` are values or functions of no argument.
    ``None`` (or ``...``) is Not attempted.
    """

    def __init__(self, title, *, expected, mistakes=(), rtol=1e-3, atol=1e-8, hints=()):
        super().__init__(title, hints=hints)
        self.expected, self.mistakes, self.rtol, self.atol = expected, tuple(mistakes), rtol, atol

    def evaluate(self, answer):
        if answer is None or answer is Ellipsis:
            return Result(NOT_ATTEMPTED, "compute the value and pass it to check()")
        with _quiet():
            expected = self.expected() if callable(self.expected) else self.expected
            problem = difference(answer, expected, rtol=self.rtol, atol=self.atol,
                                 subject="your value")
            if not problem:
                return Result(CORRECT)
            for mistake in self.mistakes:
                wrong = mistake.wrong() if callable(mistake.wrong) else mistake.wrong
                if not difference(answer, wrong, rtol=self.rtol, atol=self.atol):
                    return Result(INCORRECT, mistake.message)
        return Result(INCORRECT, problem)


@contextmanager
def _quiet():
    """Silence numpy's floating-point warnings: a check prints its verdict, nothing else."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


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
    _show(Text(text))
