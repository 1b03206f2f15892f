"""Figures of training: metric per round against the ceiling and the floor, method tables."""

from __future__ import annotations

import numpy as np

from fedlab.plots.style import color, new_axes

__all__ = ["learning_curves", "method_comparison"]

_LABELS = {"auc": "test ROC AUC", "accuracy": "test accuracy", "loss": "test log loss"}
_METRIC = {"auc": "ROC AUC", "accuracy": "accuracy", "loss": "log loss"}


def learning_curves(histories, *, baselines=None, metric="auc", site=None, ax=None,
                    title=None, ylabel=None):
    """Plot a metric per round for one or several runs, with horizontal reference lines.

    Parameters
    ----------
    histories : History or dict of str to History
        One run, or several labelled runs.
    baselines : dict of str to float, optional
        Reference levels drawn as dashed lines, e.g.
        ``{"centralized (ceiling)": 0.78, "single hospital (floor)": 0.70}``.
    metric : {"auc", "accuracy", "loss"}, default="auc"
    site : str, optional
        A hospital's test set instead of the pooled one.
    ax : matplotlib Axes, optional
    title : str, optional
        Defaults to a sentence stating how close the last run ends to the first baseline.
    ylabel : str, optional
        What is plotted. Defaults to the metric on the runs' evaluation sets: their one
        name when a run was scored on one set (``test_sets={"pooled training records":
        ...}`` gives "log loss, pooled training records"), all hospitals' test sets
        otherwise.

    Returns
    -------
    matplotlib Axes
    """
    if not isinstance(histories, dict):
        histories = {"federated": histories}
    ax = new_axes(ax)
    for k, (label, history) in enumerate(histories.items()):
        values = history.metric(metric, site=site)
        ax.plot(np.arange(len(values)), values, color=color(k), lw=2, label=label)
    for k, (label, level) in enumerate((baselines or {}).items()):
        ax.axhline(level, color=color(len(histories) + k), ls="--", lw=1.5, label=label)
    ax.set_xlabel("communication round")
    ax.set_ylabel(ylabel or _ylabel(histories, metric, site))
    ax.legend(loc="lower right" if metric != "loss" else "upper right", fontsize=9)
    ax.grid(alpha=0.3)
    ax.set_title(title or _finding(histories, baselines, metric, site), fontsize=11)
    return ax


def method_comparison(results, *, metric="auc", ax=None, title=None):
    """Horizontal bars of one pooled metric per method, from :func:`fedlab.baselines.compare`.

    A method whose pooled metrics hold ``"<metric>_ci"`` gets its 95 % interval as a
    whisker.

    Returns
    -------
    matplotlib Axes
    """
    methods = results["methods"]
    names = list(methods)
    values = [methods[m]["pooled"][metric] for m in names]
    ax = new_axes(ax, figsize=(7, 0.45 * len(names) + 1))
    colours = [color(0) if n == "centralized" else color(2) if n.startswith("fed")
               else color(1) for n in names]
    ax.barh(names, values, color=colours)
    ax.invert_yaxis()
    intervals = np.array([methods[m]["pooled"].get(f"{metric}_ci", (np.nan, np.nan))
                          for m in names], dtype=float)
    has = ~np.isnan(intervals).any(axis=1)
    if has.any():
        ax.errorbar(np.asarray(values)[has], np.flatnonzero(has), color=color(7), lw=1,
                    capsize=3, ls="none",
                    xerr=np.abs(intervals[has].T - np.asarray(values)[has]))
    tops = np.where(has, intervals[:, 1], values)
    for y, (v, top) in enumerate(zip(values, tops)):
        ax.text(top, y, f" {v:.3f}", va="center", fontsize=9)
    low = np.nanmin(np.r_[values, intervals[has, 0]])
    ax.set_xlim(max(0.0, low - 0.05), min(1.0, np.nanmax(tops) + 0.05))
    ax.set_xlabel(_LABELS.get(metric, metric) + " (all hospitals' test sets)"
                  + ("\nwhiskers: 95 % interval" if has.any() else ""))
    ax.set_title(title or "Federated averaging comes close to pooling the records",
                 fontsize=11)
    return ax


def _ylabel(histories, metric, site):
    """The metric and the set it was measured on, from the runs' own evaluation sets."""
    if site:
        return f"{_LABELS.get(metric, metric)} at {site}"
    sets = {name for h in histories.values() for name in h.rounds[-1].sites}
    if len(sets) == 1:
        return f"{_METRIC.get(metric, metric)}, {sets.pop()}"
    return _LABELS.get(metric, metric) + " (all hospitals' test sets)"


def _finding(histories, baselines, metric, site):
    last = list(histories.values())[-1].metric(metric, site=site)[-1]
    if baselines:
        label, level = next(iter(baselines.items()))
        return f"After {len(list(histories.values())[-1].rounds) - 1} rounds: " \
               f"{metric.upper()} {last:.3f} vs {level:.3f} for the {label}"
    return f"{metric.upper()} after the last round: {last:.3f}"
