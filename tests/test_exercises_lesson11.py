"""Lesson 11's checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py;
the answers here are written as a learner would.
"""

import numpy as np

from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson11 as ex


def _says(question, answer, words):
    result = question.evaluate(answer)
    assert result.outcome == INCORRECT, result
    assert words in result.message, result.message


# -- q1: a site's life table -----------------------------------------------------------

def site_counts_vectorized(time, event, grid):
    time, event, grid = np.asarray(time), np.asarray(event), np.asarray(grid, float)
    lower = np.r_[0.0, grid[:-1]]
    at_risk = (time[None, :] > lower[:, None]).sum(axis=1)
    inside = (time[None, :] > lower[:, None]) & (time[None, :] <= grid[:, None])
    return at_risk, (inside & (event[None, :] == 1)).sum(axis=1)


def site_counts_by_searchsorted(time, event, grid):
    time, event = np.asarray(time), np.asarray(event)
    bins = np.searchsorted(grid, time, side="left")  # the bin each time falls in
    events = np.bincount(bins[event == 1], minlength=len(grid) + 1)[:len(grid)]
    leaving = np.bincount(bins, minlength=len(grid) + 1)
    at_risk = len(time) - np.r_[0, np.cumsum(leaving)[:len(grid) - 1]]
    return at_risk, events


def test_other_right_life_tables_pass():
    assert ex.q1.evaluate(site_counts_vectorized).outcome == CORRECT
    assert ex.q1.evaluate(site_counts_by_searchsorted).outcome == CORRECT


def test_a_life_table_of_the_events_alone_is_named_as_dropping_the_censored():
    def only_events(time, event, grid):
        time, event = np.asarray(time), np.asarray(event)
        return site_counts_vectorized(time[event == 1], event[event == 1], grid)

    _says(ex.q1, only_events, "left out the censored patients")


def test_counting_every_leaver_as_an_event_is_named():
    def leavers(time, event, grid):
        at_risk, _ = site_counts_vectorized(time, event, grid)
        lower = np.r_[0.0, np.asarray(grid)[:-1]]
        t = np.asarray(time)
        return at_risk, np.array([np.sum((t > lo) & (t <= hi)) for lo, hi in zip(lower, grid)])

    _says(ex.q1, leavers, "counted censored patients as events")


def test_a_risk_set_that_never_shrinks_is_named():
    def everyone(time, event, grid):
        _, events = site_counts_vectorized(time, event, grid)
        return np.full(len(grid), len(time)), events

    _says(ex.q1, everyone, "never shrinks")


def test_bins_closed_on_the_left_are_refused():
    def left_closed(time, event, grid):  # [lower, upper) instead of (lower, upper]
        time, event, grid = np.asarray(time), np.asarray(event), np.asarray(grid, float)
        lower = np.r_[0.0, grid[:-1]]
        at_risk = np.array([np.sum(time >= lo) for lo in lower])
        events = np.array([np.sum((event == 1) & (time >= lo) & (time < hi))
                           for lo, hi in zip(lower, grid)])
        return at_risk, events

    assert ex.q1.evaluate(left_closed).outcome == INCORRECT


# -- q2: the curve from the sites' counts ----------------------------------------------

def km_with_a_loop(at_risk, events):
    n, d = np.sum(at_risk, axis=0), np.sum(events, axis=0)
    survival, s = [], 1.0
    for n_k, d_k in zip(n, d):
        if n_k > 0:
            s *= 1 - d_k / n_k
        survival.append(s)
    return np.array(survival)


def km_with_logs(at_risk, events):
    n, d = np.sum(at_risk, axis=0).astype(float), np.sum(events, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(np.cumsum(np.where(n > 0, np.log1p(-d / n), 0.0)))


def test_other_right_curves_pass():
    assert ex.q2.evaluate(km_with_a_loop).outcome == CORRECT
    assert ex.q2.evaluate(km_with_logs).outcome == CORRECT


def test_averaging_the_sites_curves_is_named():
    def mean_curve(at_risk, events):
        n, d = np.asarray(at_risk, float), np.asarray(events, float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.cumprod(np.where(n > 0, 1 - d / n, 1.0), axis=1).mean(axis=0)

    _says(ex.q2, mean_curve, "averaged the sites' own curves")


def test_dividing_by_the_starting_number_is_named_as_forgetting_who_left():
    def one_minus_share(at_risk, events):
        return 1 - np.cumsum(np.sum(events, axis=0)) / np.sum(at_risk, axis=0)[0]

    _says(ex.q2, one_minus_share, "censored patients left the risk set")


def test_a_single_sites_curve_is_refused():
    assert ex.q2.evaluate(lambda n, d: km_with_a_loop(n[:1], d[:1])).outcome == INCORRECT


# -- q3: the server's Newton step ------------------------------------------------------

def newton_with_inverse(coef, gradients, informations):
    return coef + np.linalg.inv(sum(informations)) @ sum(gradients)


def newton_with_means(coef, gradients, informations):
    # means instead of sums: the 1/n_sites cancels
    return coef + np.linalg.solve(np.mean(informations, axis=0), np.mean(gradients, axis=0))


def test_other_right_newton_steps_pass():
    assert ex.q3.evaluate(newton_with_inverse).outcome == CORRECT
    assert ex.q3.evaluate(newton_with_means).outcome == CORRECT


def test_averaging_the_sites_own_steps_is_named():
    def mean_of_steps(coef, gradients, informations):
        return coef + np.mean([np.linalg.solve(i, g)
                               for g, i in zip(gradients, informations)], axis=0)

    _says(ex.q3, mean_of_steps, "averaged the sites' own Newton steps")


def test_a_step_the_wrong_way_and_a_gradient_step_are_named():
    _says(ex.q3, lambda b, g, i: b - np.linalg.solve(i.sum(0), g.sum(0)), "goes downhill")
    _says(ex.q3, lambda b, g, i: b + g.sum(0), "gradient step")


def test_the_step_must_survive_a_site_whose_own_information_is_singular():
    def pseudo_inverse_of_each(coef, gradients, informations):
        return coef + sum(np.linalg.pinv(i) @ g for g, i in zip(gradients, informations))

    assert ex.q3.evaluate(pseudo_inverse_of_each).outcome == INCORRECT
