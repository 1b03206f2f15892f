"""Exercises on a function the learner writes, checked on many cases against a reference.

Every function exercise also checks, for free, that the function runs (the stub says Not
attempted; an exception is reported), returns something, has the answer's shape and number
of returned items, returns its items in the right order (the right items swapped are named
as such), and leaves its inputs alone (``theta -= ...`` on the global model).
"""

from __future__ import annotations

import copy
import inspect
import warnings

import numpy as np

from fedlab.exercises._compare import changed, difference, shape_of, short, swapped
from fedlab.exercises._core import (
    CORRECT,
    INCORRECT,
    NOT_ATTEMPTED,
    Exercise,
    Result,
    _quiet,
    _show,
)

__all__ = ["FunctionExercise", "FunctionsExercise"]

_STUB = "replace `raise NotImplementedError()` with your code, then check again"


class FunctionExercise(Exercise):
    """Checks a function the learner wrote on many cases: random ones and edge cases.

    Parameters
    ----------
    title : str
    cases : callable
        ``cases(rng)`` returns a list of argument tuples.
    reference : callable, optional
        A correct function (a fedlab function where one exists, not a copy of the
        notebook's solution); the learner's output must match it.
    judge : callable, optional
        ``judge(args, got)`` returns ``""`` for a right output, else what is wrong (never
        the answer); for exercises with more than one right answer. Give ``reference`` or
        ``judge``.
    mistakes : sequence of Mistake
        Typical wrong functions; the first that reproduces the learner's output on the
        failing case is named.
    describe : callable, optional
        ``describe(args)`` says a case in words; by default each argument is shown after
        the name the learner's function gives it.
    returns : sequence of str, optional
        The names of the returned items when the function returns several, so that a
        message says which one is wrong.
    warning_free_on : tuple, optional
        Arguments on which a right function must also run without a numpy
        ``RuntimeWarning`` (overflow, say); ``warning_message`` (with ``{warning}``)
        says why that matters.
    rtol, atol : float
        Tolerances of the comparison.
    hints : sequence of str
        From a gentle nudge to almost the answer.
    seed : int
        Seed of the random cases.
    """

    def __init__(self, title, *, cases, reference=None, judge=None, mistakes=(),
                 describe=None, returns=None, warning_free_on=None, warning_message="",
                 rtol=1e-6, atol=1e-8, hints=(), seed=0):
        super().__init__(title, hints=hints)
        if (reference is None) == (judge is None):
            raise ValueError("give a FunctionExercise exactly one of reference and judge")
        if judge is not None and any(m.match == "shape" for m in mistakes):
            raise ValueError("a judged exercise has no answer's shape to compare with")
        self.reference, self.judge, self.cases = reference, judge, cases
        self.mistakes = tuple(mistakes)
        self.describe = describe
        self.returns = tuple(returns) if returns else None
        self.warning_free_on, self.warning_message = warning_free_on, warning_message
        self.rtol, self.atol, self.seed = rtol, atol, seed

    def evaluate(self, answer):
        if not callable(answer):
            return Result(INCORRECT, f"the check needs a function, got {short(answer)}; "
                                     "pass the function itself, without calling it")
        with _quiet():
            cases = self.cases(np.random.default_rng(self.seed))
            for args in cases:
                result = self._evaluate_case(answer, args, cases)
                if result is not None:
                    return result
        return self._warnings(answer) or Result(CORRECT)

    def expected(self, args):
        """The reference's output on ``args`` (a judged exercise has none: None)."""
        return None if self.reference is None else self.reference(*copy.deepcopy(args))

    def described(self, args, answer=None):
        """The case ``args`` in words, with the names ``answer`` gives its parameters."""
        if self.describe is not None:
            return self.describe(args)
        names = _parameter_names(answer)
        return ", ".join((f"{names[k]}=" if k < len(names) else "") + short(a, 60)
                         for k, a in enumerate(args))

    def _evaluate_case(self, answer, args, cases=()):
        given = copy.deepcopy(args)  # the learner's function works on its own copy
        outcome = _call(answer, given, self.described(args, answer))
        if isinstance(outcome, Result):
            return Result(outcome.outcome, outcome.message, case=args)
        got = outcome
        where = f"with {self.described(args, answer)}"
        if got is None:
            return Result(INCORRECT, f"{where} your function returned None: is a `return` "
                                     "missing?", case=args)
        moved = [k for k, (before, after) in enumerate(zip(args, given))
                 if changed(before, after)]
        if moved:
            return Result(INCORRECT, _changed_message(answer, moved[0], args[moved[0]], where),
                          case=args)
        expected = self.expected(args)
        problem = self.judge(args, got) if self.judge else difference(
            got, expected, rtol=self.rtol, atol=self.atol, names=self.returns)
        if not problem:
            return None
        order = "" if self.judge else swapped(got, expected, rtol=self.rtol, atol=self.atol,
                                               names=self.returns)
        if order:
            return Result(INCORRECT, f"{order} ({where} you returned {short(got)})", case=args)
        named = [m for m in self.mistakes if self._reproduces(m, args, got, expected)]
        if named:
            mistake = self._likeliest(named, answer, [c for c in cases if c is not args])
            return Result(INCORRECT, f"{mistake.message} ({where} you returned "
                                     f"{short(got)})", case=args)
        return Result(INCORRECT, f"{where} you returned {short(got)}: {problem}", case=args)

    def _likeliest(self, named, answer, others):
        """Of the mistakes that reproduce the failing case, the first that reproduces the
        learner's function on every other case too (else the first): two slips can agree
        on one case, and the message must name the one the learner made."""
        if len(named) == 1:
            return named[0]
        for mistake in named:
            if all(self._agrees(mistake, answer, args) for args in others):
                return mistake
        return named[0]

    def _agrees(self, mistake, answer, args):
        """Whether ``mistake`` gives what ``answer`` gives on ``args`` (or cannot be told)."""
        if mistake.applies is not None and not mistake.applies(*args):
            return True
        try:
            got = answer(*copy.deepcopy(args))
        except Exception:  # the learner's code may raise anything: it is not this slip
            return False
        wrong = mistake.wrong(*copy.deepcopy(args))
        if mistake.match == "shape":
            return shape_of(got) == shape_of(wrong)
        return not difference(got, wrong, rtol=self.rtol, atol=self.atol)

    def _reproduces(self, mistake, args, got, expected):
        if mistake.applies is not None and not mistake.applies(*args):
            return False
        wrong = mistake.wrong(*copy.deepcopy(args))
        if mistake.match == "shape":
            return shape_of(got) == shape_of(wrong) != shape_of(expected)
        return not difference(got, wrong, rtol=self.rtol, atol=self.atol)

    def _warnings(self, answer):
        """Incorrect if the answer warns on ``warning_free_on``, else None."""
        if self.warning_free_on is None:
            return None
        args = self.warning_free_on
        with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outcome = _call(answer, copy.deepcopy(args), self.described(args, answer))
        if isinstance(outcome, Result):
            return Result(outcome.outcome, outcome.message, case=args)
        numeric = [w for w in caught if issubclass(w.category, RuntimeWarning)]
        if numeric:
            return Result(INCORRECT, self.warning_message.format(warning=numeric[0].message),
                          case=args)
        return None


class FunctionsExercise(Exercise):
    """Several functions checked together, one :class:`FunctionExercise` each.

    ``check(encode, decode)`` checks each function in turn with its own part; a message
    starts with the function's name.

    Parameters
    ----------
    title : str
    parts : dict of str to FunctionExercise
        The functions' names, in the order ``check`` takes them, and their checks.
    hints : sequence of str
    """

    def __init__(self, title, *, parts, hints=()):
        super().__init__(title, hints=hints)
        self.parts = dict(parts)

    def check(self, *functions):
        """Check the learner's functions, given in the order of ``parts``."""
        self.last_result = self.evaluate(*functions)
        _show(self.last_result)

    def evaluate(self, *functions):
        if len(functions) != len(self.parts):
            names = ", ".join(self.parts)
            return Result(INCORRECT, f"pass the {len(self.parts)} functions, in this order: "
                                     f"check({names})")
        for (name, part), function in zip(self.parts.items(), functions):
            result = part.evaluate(function)
            if not result.correct:
                return Result(result.outcome, f"`{name}`: {result.message}", case=result.case)
        return Result(CORRECT)


def _call(function, args, described):
    """The learner's output, or the Result that says why there is none."""
    try:
        return function(*args)
    except NotImplementedError:
        return Result(NOT_ATTEMPTED, _STUB)
    except Exception as err:  # the learner's code may raise anything: it is reported
        return Result(INCORRECT, f"calling your function with {described} raised "
                                 f"{type(err).__name__}: {err}")


def _parameter_names(function):
    """The names of ``function``'s positional parameters (none for ``*args``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (ValueError, TypeError):
        return []
    return [p.name for p in parameters
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _changed_message(function, position, value, where):
    names = _parameter_names(function)
    if position >= len(names):
        return (f"{where} your function changed its argument number {position + 1} in place: "
                "the caller's value changed too. Leave inputs as they are: work on a copy")
    name = names[position]
    if isinstance(value, np.ndarray):
        tip = (f"write `{name} = {name} - ...` instead of `{name} -= ...`, or start from a "
               f"copy: `{name} = np.array({name}, dtype=float)`")
    else:
        tip = f"work on a copy of `{name}`"
    return (f"{where} your function changed its input `{name}` in place: the caller's "
            f"`{name}` changed too (were it the global model, every later client would start "
            f"from the wrong place). Leave inputs as they are: {tip}")
