"""Every exercise of every lesson keeps the contract, tested on the notebook's own code.

The correct answer is the solution notebook's block (executed here, never re-typed), the
stub is what the generated lesson holds; every modelled mistake must be named on some case
and its model must never raise; the free checks (None, raised, wrong shape, changed
inputs) must fire; and no message may show the expected value.
"""

import ast
import copy
import functools
import importlib
import inspect
import pkgutil
import re

import nbformat
import numpy as np
import pytest

import fedlab.exercises
from fedlab import lessons
from fedlab.exercises import CORRECT, INCORRECT, NOT_ATTEMPTED, FunctionsExercise
from fedlab.exercises._blocks import check_calls, exercise_blocks, lesson_key
from fedlab.exercises._compare import short

SOLUTIONS = sorted((lessons.ROOT / "solutions").glob(lessons.NOTEBOOK_GLOB))
NOTEBOOKS = {path: nbformat.read(path, as_version=4) for path in SOLUTIONS}


def _blocks(notebook, where):
    return exercise_blocks([c.source if c.cell_type == "code" else None
                            for c in notebook.cells], where=where)


EXERCISES = [pytest.param(path, name, block, id=f"{lesson_key(path.name)}.{name}")
             for path, notebook in NOTEBOOKS.items()
             for name, block in _blocks(notebook, path.name).items()]


def _exercise(path, name):
    return getattr(importlib.import_module(f"fedlab.exercises.{lesson_key(path.name)}"), name)


def _imports(notebook):
    """The notebook's import statements: the namespace its exercise cells run in."""
    lines = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            tree = ast.parse(cell.source)
            lines += [ast.get_source_segment(cell.source, node) for node in tree.body
                      if isinstance(node, (ast.Import, ast.ImportFrom))]
    return "\n".join(lines)


def _run(notebook, code, answers):
    """The learner's objects defined by ``code`` in the notebook's namespace."""
    namespace = {}
    exec(_imports(notebook), namespace)
    exec(code, namespace)
    return [namespace[name] for name in answers]


def _solution(path, block):
    return _run(NOTEBOOKS[path], block["code"], block["answers"])


def _stub(path, block):
    cell = lessons.make_lesson(NOTEBOOKS[path]).cells[block["cell"] - 1].source
    [(_, answers, lines)] = check_calls(cell)
    code = "\n".join(line for k, line in enumerate(cell.split("\n"), start=1) if k not in lines)
    return _run(NOTEBOOKS[path], code, answers)


def _parts(exercise, answers):
    """(check, the learner's function) for each function an exercise checks."""
    if isinstance(exercise, FunctionsExercise):
        return list(zip(exercise.parts.values(), answers))
    return [(exercise, answers[0])]


def _leaves(value):
    """Every number in ``value`` (arrays and tuples flattened), ints kept exact."""
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _leaves(item)]
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return [int(value)]
    try:
        return np.asarray(value, dtype=float).ravel().tolist()
    except (TypeError, ValueError):
        return []


def _forms(leaf):
    if isinstance(leaf, int):
        return {str(leaf)} if abs(leaf) >= 10 else set()
    if not np.isfinite(leaf) or float(leaf).is_integer() and abs(leaf) < 10:
        return set()
    return {f"{leaf:.6g}", f"{leaf:.4g}", repr(leaf)}


def assert_no_expected_value(message, expected, *, described, returned=None):
    """The check's own words in ``message`` show no number of ``expected``.

    The case's description (the inputs) and the learner's own output, which a message may
    quote, are taken out first: a sign error's output is minus the answer, say.
    """
    words = message.replace(described, "<case>")
    if returned is not None:
        words = words.replace(short(returned), "<returned>")
    for leaf in _leaves(expected):
        for form in _forms(leaf):
            assert not re.search(rf"(?<![\w.]){re.escape(form)}(?![\w])", words), \
                f"the message shows the expected value {form}: {message}"


def test_every_exercise_module_has_exactly_its_notebooks_exercises():
    modules = {m.name for m in pkgutil.iter_modules(fedlab.exercises.__path__)
               if re.fullmatch(r"lesson\d\d[a-z]?", m.name)}
    assert modules == {lesson_key(path.name) for path in SOLUTIONS}
    for path, notebook in NOTEBOOKS.items():
        module = importlib.import_module(f"fedlab.exercises.{lesson_key(path.name)}")
        defined = {name for name in vars(module) if re.fullmatch(r"q\d+", name)}
        assert defined == set(_blocks(notebook, path.name)), path.name


@pytest.mark.parametrize("path, name, block", EXERCISES)
def test_the_notebooks_solution_is_correct_and_shown_by_solution(path, name, block, capsys):
    exercise = _exercise(path, name)
    result = exercise.evaluate(*_solution(path, block))
    assert result.outcome == CORRECT, result.message
    exercise.solution()
    assert capsys.readouterr().out == f"Solution:\n{block['code']}\n"


@pytest.mark.parametrize("path, name, block", EXERCISES)
def test_the_lessons_stub_is_not_attempted(path, name, block):
    result = _exercise(path, name).evaluate(*_stub(path, block))
    assert result.outcome == NOT_ATTEMPTED, result.message
    assert "NotImplementedError" in result.message


@pytest.mark.parametrize("path, name, block", EXERCISES)
def test_every_mistake_is_named_its_model_never_raises_and_no_answer_shows(path, name, block):
    exercise = _exercise(path, name)
    for part, solution in _parts(exercise, _solution(path, block)):
        cases = part.cases(np.random.default_rng(part.seed))
        assert len(cases) >= 3, "checks try several cases"
        for mistake in part.mistakes:
            applicable = [args for args in cases
                          if mistake.applies is None or mistake.applies(*args)]
            assert applicable, f"{mistake.message!r} applies to no case"
            with np.errstate(all="ignore"):
                for args in applicable:  # raises here if a model does not fit a case
                    mistake.wrong(*copy.deepcopy(args))
            result = part.evaluate(mistake.wrong)
            assert result.outcome == INCORRECT, f"never named: {mistake.message!r}"
            assert result.message.startswith(mistake.message), (mistake.message,
                                                                result.message)
            with np.errstate(all="ignore"):
                assert_no_expected_value(
                    result.message, solution(*copy.deepcopy(result.case)),
                    described=part.described(result.case, mistake.wrong),
                    returned=mistake.wrong(*copy.deepcopy(result.case)))


def _raises(*args):
    raise ZeroDivisionError("division by zero")


def _reshaped(function):
    @functools.wraps(function)  # the learner's names for the arguments
    def wrong_shape(*args):
        right = function(*args)
        if isinstance(right, tuple):
            return right[:-1]
        if np.ndim(right) == 0:
            return np.array([right, right])
        return np.append(right, np.ravel(right)[0])
    return wrong_shape


def _mutable(value):
    return (isinstance(value, np.ndarray) and value.size > 0) or (
        isinstance(value, list) and len(value) > 0)


def _changing_its_input(function):
    @functools.wraps(function)
    def changes(*args):
        right = function(*args)
        target = next((a for a in args if _mutable(a)), None)
        if target is None:
            pass  # nothing to change in this case
        elif isinstance(target, list):
            target.append(target[0])
        elif target.dtype == bool:
            target.flat[0] = not target.flat[0]
        else:
            target.flat[0] += 1
        return right
    return changes


@pytest.mark.parametrize("path, name, block", EXERCISES)
def test_the_free_checks_fire_on_every_function(path, name, block):
    exercise = _exercise(path, name)
    for part, solution in _parts(exercise, _solution(path, block)):
        answers = {"None": lambda *args: None, "raised": _raises,
                   "shape": _reshaped(solution)}
        cases = part.cases(np.random.default_rng(part.seed))
        if any(_mutable(a) for args in cases for a in args):
            answers["changed"] = _changing_its_input(solution)
        said = {kind: part.evaluate(answer) for kind, answer in answers.items()}
        assert "your function returned None: is a `return` missing?" in said["None"].message
        assert "raised ZeroDivisionError: division by zero" in said["raised"].message
        assert re.search(r"shape|single number|holds \d+ value|one value|a pair",
                         said["shape"].message), said["shape"].message
        if "changed" in said:
            changed = next(k for k, a in enumerate(said["changed"].case) if _mutable(a))
            name = list(inspect.signature(solution).parameters)[changed]
            assert f"changed its input `{name}` in place" in said["changed"].message
        for kind, result in said.items():
            assert result.outcome == INCORRECT, result.message
            with np.errstate(all="ignore"):
                returned = answers[kind](*copy.deepcopy(result.case)) if kind == "shape" \
                    else None
                assert_no_expected_value(result.message, solution(*copy.deepcopy(result.case)),
                                         described=part.described(result.case,
                                                                   answers[kind]),
                                         returned=returned)
