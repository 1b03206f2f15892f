"""Figures of lesson 11: survival curves with their intervals, and the gap to the exact Cox fit."""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError
from fedlab.plots.evaluation import _wrapped
from fedlab.plots.style import color, new_axes

__all__ = ["survival_curves", "objective_gap"]


def survival_curves(curves, *, ax=None, title=None, ylabel="event-free (share of patients)",
                    xlabel="years since the baseline visit", ylim=None):
    """Step curves of survival, each with its pointwise 95 % band when it has one.

    Parameters
    ----------
    curves : dict of str to KaplanMeier or (times, survival)
        One curve per label: a :class:`fedlab.survival.KaplanMeier`, or a pair of arrays.
    ax : matplotlib Axes, optional
    title : str, optional
    ylabel, xlabel : str
    ylim : (float, float), optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> ax = survival_curves({"a": ([1.0, 2.0], [0.9, 0.8])}, title="two steps")
    >>> ax.get_title(), len(ax.lines)
    ('two steps', 1)
    >>> plt.close("all")
    """
    if not isinstance(curves, dict) or not curves:
        raise InvalidParameterError("curves must be a non-empty dict {label: curve}")
    ax = new_axes(ax)
    for k, (label, curve) in enumerate(curves.items()):
        if isinstance(curve, tuple):
            times, survival, band = np.asarray(curve[0]), np.asarray(curve[1]), None
        else:
            times, survival, band = curve.times, curve.survival, curve.ci
        x = np.r_[0.0, times]
        ax.step(x, np.r_[1.0, survival], where="post", color=color(k), lw=1.6, label=label)
        if band is not None:
            ax.fill_between(x, np.r_[1.0, band[0]], np.r_[1.0, band[1]], step="post",
                            color=color(k), alpha=0.15, lw=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(title or "Survival curves with 95 % pointwise intervals", fontsize=10)
    return ax


def objective_gap(gaps, *, ax=None, title=None):
    """The stratified log partial likelihood's gap to the exact optimum, round by round.

    Parameters
    ----------
    gaps : dict of str to array-like
        Per method, the gap :math:`\\ell(\\hat b) - \\ell(b_r)` after each round ``r`` (0, 1,
        ...); drawn on a log scale, so a gap of exactly 0 is drawn at the axis floor.
    ax : matplotlib Axes, optional
    title : str, optional
        Defaults to the finding: each method's gap after its last round.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> ax = objective_gap({"Newton": [5.0, 0.1, 0.0], "FedAvg": [5.0, 2.0, 1.0]})
    >>> len(ax.lines)
    2
    >>> plt.close("all")
    """
    if not isinstance(gaps, dict) or not gaps:
        raise InvalidParameterError("gaps must be a non-empty dict {method: gaps per round}")
    ax = new_axes(ax)
    values = {name: np.asarray(g, dtype=float) for name, g in gaps.items()}
    positive = np.concatenate([v[v > 0] for v in values.values()])
    floor = positive.min() / 10 if len(positive) else 1e-12
    for k, (name, gap) in enumerate(values.items()):
        ax.plot(np.arange(len(gap)), np.maximum(gap, floor), color=color(k), marker=".",
                lw=1.4, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("round (messages to and from every site)")
    ax.set_ylabel("log partial likelihood below the exact fit")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title is None:
        ends = ", ".join(f"{name} {gap[-1]:.2g} after {len(gap) - 1}"
                         for name, gap in values.items())
        title = _wrapped(ax, f"Gap to the exact stratified Cox fit: {ends} rounds")
    ax.set_title(title, fontsize=10)
    return ax
