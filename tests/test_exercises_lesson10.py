"""Lesson 10 checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py.
"""

import numpy as np
import pytest
from scipy import stats

from fedlab import metrics
from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson10 as ex


def _says(question, answer, words):
    result = question.evaluate(answer)
    assert result.outcome == INCORRECT, result
    assert result.message.startswith(words), result.message


# -- q1: O/E with its interval ---------------------------------------------------------------

def oe_by_logs(y, proba):
    log_oe = np.log(np.sum(y)) - np.log(np.sum(proba))
    half = stats.norm.ppf(0.975) / np.sqrt(np.sum(y))
    return tuple(float(v) for v in np.exp([log_oe, log_oe - half, log_oe + half]))


def oe_from_fedlab(y, proba):
    oe, (low, high) = metrics.observed_expected(y, proba)
    return oe, low, high


def oe_as_list(y, proba):
    return list(oe_by_logs(y, proba))


def oe_with_rounded_quantile(y, proba):
    oe, half = np.sum(y) / np.sum(proba), 1.96 / np.sqrt(np.sum(y))
    return oe, oe * np.exp(-half), oe * np.exp(half)


@pytest.mark.parametrize("answer", [oe_by_logs, oe_from_fedlab, oe_as_list,
                                    oe_with_rounded_quantile])
def test_q1_accepts_other_right_answers(answer):
    assert ex.q1.evaluate(answer).outcome == CORRECT


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda y, p: (lambda r, h: (r, r * np.exp(-h), r * np.exp(h)))(
        p.sum() / y.sum(), 1.96 / np.sqrt(y.sum())), "your ratio is upside down"),
    (lambda y, p: (lambda r, h: (r, r - h, r + h))(
        y.sum() / p.sum(), 1.96 * y.sum() / p.sum() / np.sqrt(y.sum())),
     "your interval is symmetric"),
    (lambda y, p: (lambda r, h: (r, r * np.exp(-h), r * np.exp(h)))(
        y.sum() / p.sum(), 1.96 / np.sqrt(len(y))), "your interval uses the number of patients"),
])
def test_q1_names_typical_mistakes(wrong, named):
    _says(ex.q1, wrong, named)


def test_q1_names_the_wrong_item():
    result = ex.q1.evaluate(lambda y, p: (*oe_by_logs(y, p)[:2], 2.0))
    assert result.outcome == INCORRECT and "your `high` is not right" in result.message


# -- q2: pooled O/E --------------------------------------------------------------------------

def pooled_by_loop(sites):
    observed = expected = 0.0
    for site in sites:
        observed += site["events"]
        expected += site["expected"]
    return observed / expected


@pytest.mark.parametrize("answer", [
    pooled_by_loop,
    lambda sites: np.average([s["events"] / s["expected"] for s in sites],
                             weights=[s["expected"] for s in sites]),
])
def test_q2_accepts_other_right_answers(answer):
    assert ex.q2.evaluate(answer).outcome == CORRECT


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda sites: np.mean([s["events"] / s["expected"] for s in sites]),
     "you averaged the sites' ratios"),
    (lambda sites: np.average([s["events"] / s["expected"] for s in sites],
                              weights=[s["n"] for s in sites]),
     "you weighted the ratios by patients"),
])
def test_q2_names_typical_mistakes(wrong, named):
    _says(ex.q2, wrong, named)


def test_q2_matches_the_pooling_of_fedlab_metrics():
    rng = np.random.default_rng(3)
    reports = []
    for n in (120, 300, 80):
        p = rng.uniform(0.05, 0.6, size=n)
        reports.append(metrics.site_metrics((rng.random(n) < p).astype(int), p))
    assert pooled_by_loop(reports) == pytest.approx(metrics.pool_site_metrics(reports)["oe"])


# -- q3: rounds below the quorum -------------------------------------------------------------

def below_by_loop(rounds, min_sites):
    below = []
    for record in rounds:
        if len(record["participants"]) < min_sites:
            below.append(record["round"])
    return below


@pytest.mark.parametrize("answer", [
    below_by_loop,
    lambda rounds, m: [r["round"] for r in rounds if not len(r["participants"]) >= m],
])
def test_q3_accepts_other_right_answers(answer):
    assert ex.q3.evaluate(answer).outcome == CORRECT


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda rounds, m: [r["round"] for r in rounds if len(r["participants"]) <= m],
     "a round with exactly min_sites"),
    (lambda rounds, m: [r["round"] for r in rounds
                        if len(r["participants"]) + len(r["dropped"]) < m],
     "you counted the sites that dropped out"),
    (lambda rounds, m: [r["round"] for r in rounds if r["dropped"]],
     "you listed every round with a drop-out"),
])
def test_q3_names_typical_mistakes(wrong, named):
    _says(ex.q3, wrong, named)


def test_q3_reports_a_wrong_count_without_the_answer():
    result = ex.q3.evaluate(lambda rounds, m: [r["round"] for r in rounds])
    assert result.outcome == INCORRECT and "you returned" in result.message
