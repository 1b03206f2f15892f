"""The exercise machinery: three outcomes, kind specific messages, hints, solution."""

import numpy as np
import pytest

from fedlab.exercises import (
    CORRECT,
    INCORRECT,
    NOT_ATTEMPTED,
    FunctionExercise,
    Mistake,
    ValueExercise,
)


def _square_exercise():
    return FunctionExercise(
        "square every entry",
        reference=lambda x: x**2,
        cases=lambda rng: [(rng.normal(size=3),), (np.zeros(2),), (np.array([-2.0]),)],
        mistakes=[Mistake(lambda x: 2 * x, "you doubled instead of squaring")],
        hints=["Use **.", "x ** 2"], solution="def square(x):\n    return x ** 2")


def test_correct_function():
    assert _square_exercise().evaluate(lambda x: x * x).outcome == CORRECT


def test_stub_is_not_attempted():
    def stub(x):
        raise NotImplementedError()

    result = _square_exercise().evaluate(stub)
    assert result.outcome == NOT_ATTEMPTED and "NotImplementedError" in result.message


def test_known_mistake_is_named():
    result = _square_exercise().evaluate(lambda x: 2 * x)
    assert result.outcome == INCORRECT
    assert result.message.startswith("you doubled instead of squaring")


def test_unknown_mistake_says_expected_and_got():
    result = _square_exercise().evaluate(lambda x: x**3)
    assert result.outcome == INCORRECT and "expected" in result.message and "got" in result.message


def test_learner_exception_is_wrapped():
    result = _square_exercise().evaluate(lambda x: x.nope)
    assert result.outcome == INCORRECT
    assert result.message.startswith("calling your function with")
    assert "raised AttributeError" in result.message


def test_wrong_shape_and_non_function_are_explained():
    assert "expected shape" in _square_exercise().evaluate(lambda x: x.sum()).message
    result = _square_exercise().evaluate(3)
    assert result.outcome == INCORRECT and "without calling it" in result.message


def test_learner_modifying_the_input_does_not_change_the_expected_answer():
    def in_place(x):
        x **= 2
        return x

    assert _square_exercise().evaluate(in_place).outcome == CORRECT


def test_value_exercise():
    ex = ValueExercise("epsilon", expected=1.5, mistakes=[Mistake(3.0, "you forgot to halve")])
    assert ex.evaluate(1.5).correct
    assert ex.evaluate(3.0).message == "you forgot to halve"
    assert ex.evaluate(None).outcome == NOT_ATTEMPTED
    assert "expected" in ex.evaluate(7).message


def test_check_hint_solution_print(capsys):
    ex = _square_exercise()
    ex.check(lambda x: x**2)
    assert "Correct" in capsys.readouterr().out and ex.last_result.correct
    ex.hint()
    assert "Hint 1/2: Use **." in capsys.readouterr().out
    ex.hint(5)
    assert "There are 2 hints" in capsys.readouterr().out
    ex.solution()
    assert "return x ** 2" in capsys.readouterr().out


def test_result_html_uses_symbol_and_word_not_only_colour():
    html = _square_exercise().evaluate(lambda x: 2 * x)._repr_html_()
    assert "Incorrect" in html and "\u2718" in html


@pytest.mark.parametrize("got, expected", [({"a": 1.0}, {"a": 2.0}), ((1.0,), (1.0, 2.0))])
def test_structured_answers_are_compared(got, expected):
    ex = ValueExercise("structured", expected=expected)
    assert ex.evaluate(got).outcome == INCORRECT
    assert ex.evaluate(expected).outcome == CORRECT


def _reference_square(x):
    """Maintainers' note, not shown."""
    return x**2


def test_solution_can_be_the_reference_function_itself(capsys):
    ex = FunctionExercise("square", reference=_reference_square,
                          cases=lambda rng: [(np.ones(2),)], solution=_reference_square)
    ex.solution()
    shown = capsys.readouterr().out
    assert "def _reference_square(x):\n    return x**2" in shown
    assert "Maintainers" not in shown
