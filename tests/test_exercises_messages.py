"""Every exercise's words: messages print as text, outputs in the wrong order are named as
swapped, and the code of every hint runs in a namespace like the notebook's.

A hint's code is a block of lines indented by four spaces. A block with a ``return`` is the
body of the learner's function (the notebook's signature) and must pass the check; any
other block runs on the exercise's first case, the case's arguments under the learner's
names, and must not raise.
"""

import ast
import copy
import importlib.util
import inspect
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from fedlab.exercises import CORRECT, INCORRECT, FunctionsExercise

_spec = importlib.util.spec_from_file_location(  # the contract's helpers (tests import so)
    "exercises_contract", Path(__file__).with_name("test_exercises_contract.py"))
contract = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(contract)
EXERCISES, NOTEBOOKS = contract.EXERCISES, contract.NOTEBOOKS
_exercise, _imports, _parts, _solution = (contract._exercise, contract._imports,
                                          contract._parts, contract._solution)

# `*emphasis*`, `**strong**`, `_emphasis_`, [links](...) and # headings are markdown: printed,
# they show as the characters themselves
_MARKDOWN = [re.compile(r"(?<![\w*)\]])\*[A-Za-z][^*\n]*?[A-Za-z']\*(?![\w*(])"),
             re.compile(r"(?<![\w)])\*\*[A-Za-z][^*\n]*?[A-Za-z]\*\*(?![\w(])"),
             re.compile(r"(?<!\w)_[A-Za-z ]+_(?!\w)"),
             re.compile(r"\[[^\]]+\]\([^)]+\)"), re.compile(r"^#+ ", re.M)]
_NOUNS = ("client", "site", "hospital", "patient", "record", "round", "feature", "update",
          "event", "parameter", "value", "cell", "cluster", "order", "share", "device")
_PLURAL_OF_ONE = re.compile(rf"(?<![\w.,-])1 ({'|'.join(_NOUNS)})s\b")


def _texts(exercise):
    """The words an exercise can show: its hints and every mistake's and warning's message."""
    texts = list(exercise.hints)
    parts = exercise.parts.values() if isinstance(exercise, FunctionsExercise) else [exercise]
    for part in parts:
        texts += [m.message for m in part.mistakes] + list(part.hints)
        if part.warning_message:
            texts.append(part.warning_message)
    return texts


def _said(exercise, solution):
    """The messages the check shows for every modelled mistake and the free checks."""
    said = []
    for part, _ in _parts(exercise, [solution] * len(getattr(exercise, "parts", [0]))):
        said += [part.evaluate(m.wrong).message for m in part.mistakes]
        said.append(part.evaluate(lambda *args: None).message)
        cases = part.cases(np.random.default_rng(part.seed))
        said += [part.described(args, solution) for args in cases]
    return said


def assert_plain_text(text):
    for pattern in _MARKDOWN:
        assert not pattern.search(text), f"markdown {pattern.search(text)[0]!r} in {text!r}"
    assert text.count("`") % 2 == 0, f"an unclosed backtick in {text!r}"
    assert "(s)" not in text, f"write the number's own singular or plural: {text!r}"
    assert not _PLURAL_OF_ONE.search(text), f"one of a plural: {text!r}"
    words = text.split(" you returned ")[0]  # the learner's own output is quoted as numpy prints it
    assert not re.search(r"(?<![\w.])\d+[eE]\+\d", words), \
        f"a whole number in exponent form: {text!r}"


@pytest.mark.parametrize("path, name, block", EXERCISES)
def test_every_message_and_hint_prints_as_plain_text(path, name, block):
    exercise = _exercise(path, name)
    [*solutions] = _solution(path, block)
    for text in _texts(exercise):
        assert_plain_text(text)
    for solution in solutions:
        with np.errstate(all="ignore"):
            for text in _said(exercise, solution):
                assert_plain_text(text)


def test_the_text_checks_can_fail():
    for wrong in ("the *sum*", "**all**", "1 clients", "3 client(s)", "1e+03 clients",
                  "an `unclosed backtick"):
        with pytest.raises(AssertionError):
            assert_plain_text(wrong)
    assert_plain_text("count * (mean - the global mean)**2, 2**bits - 1, 1 client, 1,000 "
                      "clients, `np.isnan(X)`, 11 records")


# -- outputs in the wrong order ------------------------------------------------------------

def _several_outputs():
    for param in EXERCISES:
        path, name, block = param.values
        exercise = _exercise(path, name)
        for part, _ in _parts(exercise, [None] * len(getattr(exercise, "parts", [0]))):
            cases = part.cases(np.random.default_rng(part.seed))
            if part.reference is not None and isinstance(part.expected(cases[0]), tuple):
                yield pytest.param(path, name, block, id=param.id)


@pytest.mark.parametrize("path, name, block", list(_several_outputs()))
def test_outputs_in_the_wrong_order_are_named_as_swapped(path, name, block):
    exercise = _exercise(path, name)
    [solution] = _solution(path, block)

    def rotated(*args):
        right = solution(*args)
        return (*right[1:], right[0])

    def first_two_swapped(*args):
        right = solution(*args)
        return (right[1], right[0], *right[2:])

    for answer in (rotated, first_two_swapped):
        result = exercise.evaluate(answer)
        assert result.outcome == INCORRECT
        assert re.match(r"you returned (.+ swapped|the right \d items in another order)",
                        result.message), result.message
        if exercise.returns:
            assert f"`{', '.join(exercise.returns)}`" in result.message


# -- every hint's code runs -------------------------------------------------------------------

def _code_blocks(hint):
    """The blocks of lines indented by four spaces in ``hint``, dedented."""
    blocks, block = [], []
    for line in hint.split("\n") + [""]:
        if line.startswith("    "):
            block.append(line)
        elif block:
            blocks.append(textwrap.dedent("\n".join(block)))
            block = []
    return blocks


def _constants(notebook):
    """The notebook's top-level names bound to literals (``DELTA = 1e-5``)."""
    lines = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and all(_plain(t) for t in node.targets):
                    try:
                        ast.literal_eval(node.value)
                    except ValueError:
                        continue
                    lines.append(ast.unparse(node))
    return "\n".join(lines)


def _plain(target):
    """A name or a tuple of names (``x = ...``, ``a, b = ...``), not ``widget.value = ...``."""
    if isinstance(target, ast.Tuple):
        return all(isinstance(t, ast.Name) for t in target.elts)
    return isinstance(target, ast.Name)


def _hinted(path, name, block):
    exercise = _exercise(path, name)
    hints = list(exercise.hints)
    if isinstance(exercise, FunctionsExercise):
        hints += [h for part in exercise.parts.values() for h in part.hints]
    return [pytest.param(path, name, block, code, id=f"{name}-hint{k}")
            for k, hint in enumerate(hints, start=1) for code in _code_blocks(hint)]


HINT_BLOCKS = [p for param in EXERCISES for p in _hinted(*param.values)]


def test_hints_hold_code_to_run():
    assert len(HINT_BLOCKS) >= 30, "most exercises show their code in a hint"


@pytest.mark.parametrize("path, name, block, code", HINT_BLOCKS)
def test_every_hints_code_runs(path, name, block, code):
    notebook = NOTEBOOKS[path]
    namespace = {}
    exec(_imports(notebook) + "\n" + _constants(notebook), namespace)
    exercise = _exercise(path, name)
    solution = _solution(path, block)[0]
    parameters = list(inspect.signature(solution).parameters)
    if any(isinstance(node, ast.Return) for node in ast.walk(ast.parse(code))):
        source = f"def hinted({', '.join(parameters)}):\n{textwrap.indent(code, '    ')}"
        exec(source, namespace)
        result = exercise.evaluate(namespace["hinted"])
        assert result.outcome == CORRECT, f"{code}\n{result.message}"
        return
    part = next(iter(exercise.parts.values())) if isinstance(exercise, FunctionsExercise) \
        else exercise
    first = part.cases(np.random.default_rng(part.seed))[0]
    namespace.update(zip(parameters, copy.deepcopy(first)))
    exec(code, namespace)
