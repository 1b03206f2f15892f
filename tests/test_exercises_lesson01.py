"""Lesson 01's checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py.
"""

import numpy as np
import pytest

from fedlab.exercises import INCORRECT
from fedlab.exercises import lesson01 as ex

# --- q1: prevalence per site --------------------------------------------------------------


def test_q1_accepts_a_plain_list_of_rates():
    assert ex.q1.evaluate(lambda labels: [sum(y) / len(y) for y in labels]).correct


def _pooled(labels):
    pooled = np.concatenate([np.asarray(y) for y in labels]).mean()
    return [pooled] * len(labels)


@pytest.mark.parametrize("wrong, says", [
    (lambda labels: [np.sum(y) for y in labels], "number of events"),
    (lambda labels: [100 * np.mean(y) for y in labels], "percentages"),
    (lambda labels: [1 - np.mean(y) for y in labels], "without an event"),
    (_pooled, "same pooled rate for every site"),
    (lambda labels: [np.sum(y) / sum(len(z) for z in labels) for y in labels],
     "patients of all sites together"),
    (lambda labels: np.concatenate([np.asarray(y) for y in labels]).mean(), "one number"),
])
def test_q1_names_typical_mistakes(wrong, says):
    result = ex.q1.evaluate(wrong)
    assert result.outcome == INCORRECT and says in result.message


# --- q2: difference in means, ignoring missing values -----------------------------------

def test_q2_accepts_masking_the_missing_values():
    def masked(a, b):
        a, b = np.asarray(a), np.asarray(b)
        return a[~np.isnan(a)].mean() - b[~np.isnan(b)].mean()

    assert ex.q2.evaluate(masked).correct


@pytest.mark.parametrize("wrong, says", [
    (lambda a, b: np.mean(a) - np.mean(b), "turns a plain mean into NaN"),
    (lambda a, b: np.nanmean(b) - np.nanmean(a), "wrong way round"),
    (lambda a, b: abs(np.nanmean(a) - np.nanmean(b)), "without its sign"),
    (lambda a, b: np.mean(np.nan_to_num(a)) - np.mean(np.nan_to_num(b)), "as 0"),
    (lambda a, b: np.nanmedian(a) - np.nanmedian(b), "medians"),
])
def test_q2_names_typical_mistakes(wrong, says):
    result = ex.q2.evaluate(wrong)
    assert result.outcome == INCORRECT and says in result.message


def test_q2_nan_mistake_shows_where_the_gaps_are():
    result = ex.q2.evaluate(lambda a, b: np.mean(a) - np.mean(b))
    assert "missing>" in result.message and "nan" in result.message


# --- q3: fraction missing per column -------------------------------------------------------

def test_q3_accepts_counting_then_dividing():
    assert ex.q3.evaluate(lambda X: np.isnan(X).sum(axis=0) / len(X)).correct


@pytest.mark.parametrize("wrong, says", [
    (lambda X: np.isnan(X).sum(axis=0), "how many values are missing"),
    (lambda X: 100 * np.isnan(X).mean(axis=0), "percentages"),
    (lambda X: 1 - np.isnan(X).mean(axis=0), "present, not missing"),
    (lambda X: np.isnan(X).any(axis=1).mean(), "at least one missing value"),
    (lambda X: np.isnan(X).mean(), "whole table"),
    (lambda X: np.isnan(X).mean(axis=1), "one fraction per row"),
])
def test_q3_names_typical_mistakes(wrong, says):
    result = ex.q3.evaluate(wrong)
    assert result.outcome == INCORRECT and says in result.message


def test_q3_a_function_that_fills_in_x_in_place_is_told_so():
    def fills_in(X):
        fraction = np.isnan(X).mean(axis=0)
        X[np.isnan(X)] = 0.0  # the site's own records, changed behind the caller's back
        return fraction

    result = ex.q3.evaluate(fills_in)
    assert result.outcome == INCORRECT
    assert "changed its input `X` in place" in result.message


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2, ex.q3])
def test_each_exercise_has_tiered_hints(exercise, capsys):
    assert 1 <= len(exercise.hints) <= 3
    exercise.hint(len(exercise.hints))
    assert "Hint" in capsys.readouterr().out
