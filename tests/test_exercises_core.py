"""The exercise machinery: three outcomes, free checks, kind messages without the answer."""

import warnings

import numpy as np
import pytest

from fedlab.exercises import (
    CORRECT,
    INCORRECT,
    NOT_ATTEMPTED,
    FunctionExercise,
    FunctionsExercise,
    Mistake,
    Result,
    ValueExercise,
)
from fedlab.exercises._compare import changed, difference


def _square_exercise(**options):
    return FunctionExercise(
        "square every entry",
        reference=lambda x: x**2,
        cases=lambda rng: [(np.array([1.5, -2.0, 3.0]),), (np.zeros(2),), (np.array([-2.0]),)],
        mistakes=[Mistake(lambda x: 2 * x, "you doubled instead of squaring")],
        hints=["Use **.", "x ** 2"], **options)


def test_correct_function():
    assert _square_exercise().evaluate(lambda x: x * x).outcome == CORRECT


def test_stub_is_not_attempted():
    def stub(x):
        raise NotImplementedError()

    result = _square_exercise().evaluate(stub)
    assert result.outcome == NOT_ATTEMPTED and "NotImplementedError" in result.message


def test_known_mistake_is_named_with_the_case_and_what_was_returned():
    result = _square_exercise().evaluate(lambda x: 2 * x)
    assert result.outcome == INCORRECT
    assert result.message == ("you doubled instead of squaring (with x=[ 1.5 -2. 3. ] you "
                              "returned [ 3. -4. 6.])")


def test_unknown_mistake_says_what_is_wrong_but_never_the_expected_value():
    result = _square_exercise().evaluate(lambda x: x**3)
    assert result.outcome == INCORRECT
    assert result.message == "with x=[ 1.5 -2. 3. ] you returned [ 3.375 -8. 27. ]: that is " \
                             "not right"
    assert "2.25" not in result.message and "expected" not in result.message
    partly = _square_exercise().evaluate(lambda x: np.where(x > 0, x**2, x))
    assert partly.message.endswith("that is off in 1 of 3 entries")


def test_learner_exception_is_wrapped():
    result = _square_exercise().evaluate(lambda x: x.nope)
    assert result.outcome == INCORRECT
    assert result.message.startswith("calling your function with x=[ 1.5 -2. 3. ] raised "
                                     "AttributeError")


def test_none_shape_nan_and_a_value_instead_of_a_function_are_explained():
    ex = _square_exercise()
    assert ex.evaluate(lambda x: None).message.endswith(
        "your function returned None: is a `return` missing?")
    assert ex.evaluate(lambda x: float(x @ x)).message.endswith(
        "that is a single number; the answer is an array of shape (3,)")
    assert ex.evaluate(lambda x: x[:2] ** 2).message.endswith(
        "that has shape (2,); the answer has shape (3,)")
    assert ex.evaluate(lambda x: x * np.nan).message.endswith("that holds NaN (not a number)")
    assert ex.evaluate(lambda x: x / 0).message.endswith("that holds an infinite value")
    result = ex.evaluate(3)
    assert result.outcome == INCORRECT and "without calling it" in result.message


def test_a_function_that_changes_its_input_is_incorrect_even_with_the_right_output():
    def in_place(x):
        x **= 2
        return x

    result = _square_exercise().evaluate(in_place)
    assert result.outcome == INCORRECT
    assert "changed its input `x` in place" in result.message
    assert "`x = x - ...` instead of `x -= ...`" in result.message


def test_a_changed_list_is_named_too():
    ex = FunctionExercise("total", reference=sum, cases=lambda rng: [([1, 2, 3],), ([4],)])

    def pops(values):
        values.append(0)
        return sum(values)

    result = ex.evaluate(pops)
    assert "changed its input `values` in place" in result.message
    assert "work on a copy of `values`" in result.message


def test_returned_items_are_named_and_a_missing_item_is_told():
    ex = FunctionExercise("mean and spread", reference=lambda x: (np.mean(x), np.std(x)),
                          returns=("mean", "std"),
                          cases=lambda rng: [(np.array([1.0, 2.0, 4.0]),)])
    result = ex.evaluate(lambda x: (np.mean(x), np.var(x)))
    assert result.message.endswith("your `std` is not right (your `mean` is right)")
    assert "value 2" not in result.message
    assert ex.evaluate(lambda x: np.mean(x)).message.endswith(
        "that is one value; the answer has 2 (`mean` and `std`): `return mean, std`")
    assert ex.evaluate(lambda x: (1, 2, 3)).message.endswith(
        "that holds 3 values; the answer has 2 (`mean` and `std`)")


def test_a_shape_mistake_is_named_whatever_the_numbers_but_only_for_that_shape():
    ex = FunctionExercise(
        "column means", reference=lambda X: X.mean(axis=0),
        cases=lambda rng: [(np.arange(6.0).reshape(3, 2),)],
        mistakes=[Mistake(lambda X: X.mean(axis=1), "you averaged each row", match="shape")])
    assert ex.evaluate(lambda X: X.sum(axis=1)).message.startswith("you averaged each row")
    assert "each row" not in ex.evaluate(lambda X: X.sum(axis=0)).message


def test_a_mistake_is_not_tried_where_it_does_not_apply_and_a_raising_model_is_not_hidden():
    tried = []

    def model(x, y):
        tried.append(y)
        return x / y

    ex = FunctionExercise("sum", reference=lambda x, y: x + y,
                          cases=lambda rng: [(1.0, 0.0), (1.0, 2.0)],
                          mistakes=[Mistake(model, "you divided", applies=lambda x, y: y != 0)])
    assert ex.evaluate(lambda x, y: x / y if y else 1.0).message.startswith("you divided")
    assert tried == [2.0]
    raising = FunctionExercise("sum", reference=lambda x, y: x + y,
                               cases=lambda rng: [(1.0, 0.0)],
                               mistakes=[Mistake(model, "you divided")])
    with pytest.raises(ZeroDivisionError):
        raising.evaluate(lambda x, y: 7.0)


def test_a_judged_exercise_accepts_every_right_answer():
    ex = FunctionExercise("a root of x^2 = a", judge=lambda args, got: (
        "" if np.isclose(got**2, args[0]) else "its square is not a"),
        cases=lambda rng: [(4.0,), (9.0,)],
        mistakes=[Mistake(lambda a: a / 2, "you halved a")])
    assert ex.evaluate(np.sqrt).correct and ex.evaluate(lambda a: -np.sqrt(a)).correct
    assert ex.evaluate(lambda a: a / 2).message.startswith("you halved a")
    assert ex.evaluate(lambda a: a).message.endswith("you returned 4: its square is not a")


def test_an_exercise_needs_exactly_one_way_to_grade():
    cases = lambda rng: [(1.0,)]  # noqa: E731
    with pytest.raises(ValueError, match="exactly one of reference and judge"):
        FunctionExercise("t", cases=cases)
    with pytest.raises(ValueError, match="exactly one of reference and judge"):
        FunctionExercise("t", cases=cases, reference=abs, judge=lambda a, g: "")
    with pytest.raises(ValueError, match="match must be 'value' or 'shape', got 'type'"):
        Mistake(abs, "m", match="type")
    with pytest.raises(ValueError, match="no answer's shape"):
        FunctionExercise("t", cases=cases, judge=lambda a, g: "",
                         mistakes=[Mistake(abs, "m", match="shape")])


def test_warning_free_inputs_name_an_overflow_and_nothing_leaks_out():
    ex = FunctionExercise("exp", reference=np.exp, cases=lambda rng: [(np.array([0.0, 1.0]),)],
                          warning_free_on=(np.array([1000.0]),),
                          warning_message="numpy said \"{warning}\"")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ex.evaluate(np.exp).message == 'numpy said "overflow encountered in exp"'
        assert ex.evaluate(lambda z: np.exp(np.minimum(z, 700))).correct


def test_several_functions_are_checked_in_turn_each_message_named():
    part = _square_exercise()
    ex = FunctionsExercise("both", parts={"first": part, "second": part})
    assert ex.evaluate(np.square, np.square).correct
    assert ex.evaluate(np.square, lambda x: 2 * x).message.startswith(
        "`second`: you doubled instead of squaring")
    assert ex.evaluate(np.square).message == ("pass the 2 functions, in this order: "
                                              "check(first, second)")


def test_value_exercise():
    ex = ValueExercise("epsilon", expected=1.5, mistakes=[Mistake(3.0, "you forgot to halve")])
    assert ex.evaluate(1.5).correct
    assert ex.evaluate(3.0).message == "you forgot to halve"
    assert ex.evaluate(None).outcome == NOT_ATTEMPTED
    assert ex.evaluate(7).message == "your value is not right"


@pytest.mark.parametrize("got, expected, says", [
    ({"a": 1.0}, {"a": 2.0}, "your ['a'] is not right"),
    ({"b": 2.0}, {"a": 2.0}, "that has the keys ['b']; the answer has ['a']"),
    (2**80 + 1, 2**80, "that is not right"),
    (2.5, 2, "that is 2.5, not a whole number"),
    ("x", 1.0, "that is 'x', not a number or an array of numbers"),
])
def test_structured_and_integer_answers_are_compared(got, expected, says):
    assert difference(got, expected, rtol=1e-6, atol=0) == says
    assert difference(expected, expected, rtol=1e-6, atol=0) == ""


def test_changed_compares_arrays_lists_and_numbers_and_ignores_other_objects():
    assert changed(np.array([1.0, np.nan]), np.array([1.0, np.nan])) is False
    assert changed(np.array([1.0]), np.array([2.0])) is True
    assert changed([1, [2]], [1, [3]]) is True
    assert changed(np.random.default_rng(0), np.random.default_rng(1)) is False


def test_check_and_hints_print(capsys):
    ex = _square_exercise()
    ex.check(lambda x: x**2)
    assert "Correct" in capsys.readouterr().out and ex.last_result.correct
    ex.hint()
    assert "Hint 1/2: Use **. (hint(2) says more)" in capsys.readouterr().out
    ex.hint(5)
    assert "There are 2 hints" in capsys.readouterr().out


def test_an_exercise_outside_the_lessons_has_no_recorded_solution(capsys):
    _square_exercise().solution()
    assert "No solution is recorded" in capsys.readouterr().out


def test_result_html_shows_symbol_word_and_code_as_code():
    html = Result(INCORRECT, "use `np.exp(-z)` & <b>not</b> this")._repr_html_()
    assert "Incorrect" in html and "\u2718" in html
    assert "<code>np.exp(-z)</code>" in html and "`" not in html
    assert "&amp; &lt;b&gt;not&lt;/b&gt;" in html
    assert str(Result(INCORRECT, "use `x`")) == "\u2718 Incorrect: use `x`"


def test_of_two_slips_that_agree_on_the_failing_case_the_one_that_fits_every_case_is_named():
    exercise = FunctionExercise(
        "double", reference=lambda x: 2 * x,
        cases=lambda rng: [(np.array([2.0]),), (np.array([3.0]),), (np.array([-1.0]),)],
        mistakes=[Mistake(lambda x: x**2, "you squared"), Mistake(lambda x: x + 2, "you added 2")])
    assert exercise.evaluate(lambda x: x + 2).message.startswith("you added 2")  # 4 = 2**2 too
    assert exercise.evaluate(lambda x: x**2).message.startswith("you squared")


def test_the_right_items_in_another_order_are_named_as_swapped_and_floats_for_integers():
    exercise = FunctionExercise(
        "mean and spread", reference=lambda x: (float(np.mean(x)), float(np.std(x))),
        returns=("mean", "std"), cases=lambda rng: [(np.array([1.0, 2.0, 6.0]),)] * 3)
    message = exercise.evaluate(lambda x: (np.std(x), np.mean(x))).message
    assert message.startswith("you returned `mean` and `std` swapped: return `mean, std`")
    levels = FunctionExercise("levels", reference=lambda x: np.rint(x).astype(int),
                              cases=lambda rng: [(np.array([0.2, 1.7]),)] * 3)
    assert levels.evaluate(lambda x: np.rint(x).astype(int)).outcome == CORRECT
    assert "whole numbers (integers)" in levels.evaluate(lambda x: np.rint(x)).message
