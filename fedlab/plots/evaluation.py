"""Figures of model evaluation: ROC curves, calibration diagrams, per-site metrics with intervals.

Calibration follows Van Calster et al., "Calibration: the Achilles heel of predictive
analytics", BMC Medicine 2019; the AUC is the rank-sum statistic of Hanley & McNeil 1982,
its interval DeLong's (see :mod:`fedlab.metrics`).
"""

from __future__ import annotations

import textwrap

import numpy as np
from sklearn.metrics import roc_curve

from fedlab._validation import InvalidParameterError
from fedlab.metrics import auc_interval, wilson_interval
from fedlab.plots.style import color, new_axes

__all__ = ["roc_curves", "calibration_diagram", "site_auc_bars", "calibration_table"]


def roc_curves(curves, *, intervals=True, ax=None, title=None):
    """One ROC curve per labelled set of predictions, with its AUC in the legend.

    Parameters
    ----------
    curves : dict of str to (y_true, score), or one (y_true, score) pair
        For each label (a hospital, a model), the 0/1 outcomes and the predicted risks
        (any score that ranks patients) of the same patients.
    intervals : bool, default=True
        Give each AUC's 95 % interval (DeLong) in the legend.
    ax : matplotlib Axes, optional
    title : str, optional
        Defaults to a sentence naming the lowest and the highest AUC.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ValueError
        If a set of outcomes holds a single class (no ROC curve exists) or the lengths
        of outcomes and scores differ.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> ax = roc_curves({"demo": ([0, 0, 0, 1, 1, 1], [.1, .3, .6, .4, .7, .9])})
    >>> ax.get_legend().get_texts()[0].get_text()
    'demo (AUC 0.889, 95 % CI 0.261-0.995)'
    >>> plt.close(ax.figure)
    """
    curves = _labelled(curves, "curves")
    ax = new_axes(ax, figsize=(5.5, 5))
    aucs = {}
    for k, (label, (y, score)) in enumerate(curves.items()):
        fpr, tpr, _ = roc_curve(y, score)
        aucs[label], _, (low, high) = auc_interval(y, score)
        ci = f", 95 % CI {low:.3f}-{high:.3f}" if intervals and low == low else ""
        ax.plot(fpr, tpr, color=color(k), lw=2, drawstyle="steps-post",
                label=f"{label} (AUC {aucs[label]:.3f}{ci})")
    ax.plot([0, 1], [0, 1], color=color(7), ls=":", lw=1.2, label="coin flip (AUC 0.5)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate = 1 - specificity\n(share of patients without an "
                  "event who are flagged)")
    ax.set_ylabel("true positive rate = sensitivity\n(share of events that are flagged)")
    if intervals:  # long labels: below the axes, where they hide no curve
        ax.legend(loc="upper left", bbox_to_anchor=(0, -0.22), fontsize=8, frameon=False)
    else:
        ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    if title is None:
        low, high = min(aucs, key=aucs.get), max(aucs, key=aucs.get)
        title = _wrapped(ax, f"AUC {aucs[high]:.3f} at best ({high})" if low == high else
                         f"AUC ranges from {aucs[low]:.3f} ({low}) to {aucs[high]:.3f} "
                         f"({high})")
    ax.set_title(title, fontsize=10)
    return ax


def calibration_table(y_true, proba, *, n_bins=10, strategy="quantile"):
    """Mean predicted risk, observed event rate and its 95 % interval in each risk bin.

    Parameters
    ----------
    y_true : array-like of shape (n_patients,)
        0/1 outcomes.
    proba : array-like of shape (n_patients,)
        Predicted probabilities of an event, in [0, 1].
    n_bins : int, default=10
    strategy : {"quantile", "uniform"}, default="quantile"
        ``"quantile"`` puts the same number of patients in each bin (deciles of predicted
        risk by default); ``"uniform"`` cuts [0, 1] into equal widths. Empty bins are
        dropped.

    Returns
    -------
    dict of str to ndarray of shape (n_nonempty_bins,)
        ``"predicted"`` (mean predicted risk), ``"observed"`` (event rate), ``"low"`` and
        ``"high"`` (Wilson 95 % interval of the event rate), ``"count"`` (patients).

    Examples
    --------
    >>> t = calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2)
    >>> t["predicted"], t["observed"], t["count"]
    (array([0.15, 0.8 ]), array([0., 1.]), array([2, 2]))
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(proba, dtype=float)
    if y.ndim != 1 or p.shape != y.shape or len(y) == 0:
        raise InvalidParameterError(f"y_true and proba must be 1-D of the same non-zero length, "
                                    f"got "
                         f"shapes {y.shape} and {p.shape}")
    if np.any((p < 0) | (p > 1)) or np.isnan(p).any():
        raise InvalidParameterError("proba must hold probabilities in [0, 1]")
    if int(n_bins) != n_bins or n_bins < 1:
        raise InvalidParameterError(f"n_bins must be a positive integer, got {n_bins!r}")
    if strategy == "quantile":
        edges = np.quantile(p, np.linspace(0, 1, int(n_bins) + 1))
    elif strategy == "uniform":
        edges = np.linspace(0, 1, int(n_bins) + 1)
    else:
        raise InvalidParameterError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    # bin k holds edges[k] <= p < edges[k+1]; the last bin also holds its right edge
    which = np.clip(np.searchsorted(edges[1:-1], p, side="right"), 0, len(edges) - 2)
    count = np.bincount(which, minlength=len(edges) - 1)
    keep = count > 0
    events = np.bincount(which, weights=y, minlength=len(edges) - 1)[keep]
    total = np.bincount(which, weights=p, minlength=len(edges) - 1)[keep]
    count = count[keep]
    observed = events / count
    low, high = wilson_interval(events, count)
    return {"predicted": total / count, "observed": observed, "low": low, "high": high,
            "count": count}


def calibration_diagram(curves, *, n_bins=10, strategy="quantile", intervals=True, ax=None,
                        title=None):
    """Reliability diagram: observed event rate against mean predicted risk, per risk bin.

    A calibrated model sits on the diagonal: among patients given a 20 % risk, about
    20 % have an event. Points above the diagonal mean the risk was underestimated,
    points below mean it was overestimated.

    Parameters
    ----------
    curves : dict of str to (y_true, proba), or one (y_true, proba) pair
        For each label (a model, a hospital), outcomes and predicted probabilities.
    n_bins, strategy : see :func:`calibration_table`
    intervals : bool, default=True
        Draw the Wilson 95 % interval of each bin's event rate as an error bar.
    ax : matplotlib Axes, optional
    title : str, optional
        Defaults to the mean predicted risk against the observed rate of the first curve.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> ax = calibration_diagram(([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9]), n_bins=2)
    >>> ax.get_xlabel()
    'mean predicted risk in the bin (%)'
    >>> plt.close(ax.figure)
    """
    curves = _labelled(curves, "curves", need_both_classes=False)
    ax = new_axes(ax, figsize=(5.5, 5))
    top, handles = 0.0, []
    for k, (label, (y, p)) in enumerate(curves.items()):
        t = calibration_table(y, p, n_bins=n_bins, strategy=strategy)
        x, obs = 100 * t["predicted"], 100 * t["observed"]
        if intervals:
            err = 100 * np.vstack([t["observed"] - t["low"], t["high"] - t["observed"]])
            handles.append(ax.errorbar(x, obs, yerr=err, color=color(k), lw=1.5, capsize=3,
                                       marker="o", ms=5, label=label))
            top = max(top, 100 * t["high"].max())
        else:
            handles += ax.plot(x, obs, color=color(k), lw=1.5, marker="o", ms=5, label=label)
        top = max(top, x.max(), obs.max())
    top = min(100.0, 1.08 * top + 1)
    handles += ax.plot([0, top], [0, top], color=color(7), ls=":", lw=1.2,
                       label="perfectly calibrated")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    ax.set_xlabel("mean predicted risk in the bin (%)")
    ax.set_ylabel("observed event rate in the bin (%)")
    ax.legend(handles=handles, loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    if title is None:
        label, (y, p) = next(iter(curves.items()))
        title = (f"{label}: mean predicted risk {100 * np.mean(p):.1f} %, "
                 f"observed {100 * np.mean(y):.1f} %")
    ax.set_title(title, fontsize=10)
    return ax


def site_auc_bars(scores, *, notes=None, ax=None, title=None):
    """Grouped horizontal bars: the AUC of several models on each hospital's test set.

    Parameters
    ----------
    scores : dict of str to (dict of str to float or dict)
        ``{model: {site: auc}}``, or ``{model: {site: metrics}}`` with the dicts of
        :func:`fedlab.metrics.site_metrics` (or an :class:`~fedlab.metrics.Evaluator`
        report), whose ``auc_ci`` is drawn as an error bar. Every model must name the
        same sites.
    notes : dict of str to str, optional
        Extra text under a site's name, e.g. ``{"Rosewood": "7 events in the test set"}``.
        Defaults to the number of test patients and events when the metrics hold them.
    ax : matplotlib Axes, optional
    title : str, optional
        Defaults to a sentence naming the model with the best AUC on most sites and, with
        intervals, at how many of those sites another model's interval reaches its own.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> ax = site_auc_bars({"pooled": {"A": 0.8, "B": 0.7}, "alone": {"A": 0.8, "B": 0.6}})
    >>> ax.get_title()
    'pooled has the highest AUC at 2 of 2 sites'
    >>> ax = site_auc_bars({"pooled": {"A": {"auc": 0.8, "auc_ci": (0.7, 0.9)}},
    ...                     "alone": {"A": {"auc": 0.75, "auc_ci": (0.6, 0.85)}}})
    >>> " ".join(ax.get_title().split())  # the title is wrapped to the figure's width
    "pooled has the highest AUC at 1 of 1 sites, but at 1 of them another model's 95 % ..."
    >>> plt.close("all")
    """
    if not isinstance(scores, dict) or not scores:
        raise InvalidParameterError("scores must be a non-empty dict {model: {site: auc}}")
    models = list(scores)
    sites = list(scores[models[0]])
    for m in models:
        if set(scores[m]) != set(sites):
            raise InvalidParameterError(f"model {m!r} names the sites {sorted(scores[m])}, but "
                             f"{models[0]!r} names {sorted(sites)}")
    cells = [[_auc_and_interval(scores[m][s]) for s in sites] for m in models]
    values = np.array([[c[0] for c in row] for row in cells], dtype=float)
    lows = np.array([[c[1] for c in row] for row in cells], dtype=float)
    highs = np.array([[c[2] for c in row] for row in cells], dtype=float)
    if notes is None:
        first = scores[models[0]]
        notes = {s: f"{first[s]['n']:,} test patients, {first[s]['events']} events"
                 for s in sites if isinstance(first[s], dict) and "n" in first[s]}
    ax = new_axes(ax, figsize=(8, 0.2 * len(models) * len(sites) + 0.3 * len(sites) + 1.6))
    height = 0.8 / len(models)
    centre = np.arange(len(sites))
    for k, m in enumerate(models):
        where = centre - 0.4 + height * (k + 0.5)
        ax.barh(where, values[k], height=height * 0.92, color=color(k), label=m)
        has = ~np.isnan(lows[k])
        if has.any():
            ax.errorbar(values[k][has], where[has], color=color(7), lw=1, capsize=2, ls="none",
                        xerr=np.vstack([values[k] - lows[k], highs[k] - values[k]])[:, has])
        for y, v, top in zip(where, values[k], np.fmax(values[k], highs[k])):
            ax.text(top, y, f" {v:.3f}", va="center", fontsize=8)
    ax.set_yticks(centre, [s + (f"\n({notes[s]})" if s in notes else "") for s in sites],
                  fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(min(0.5, np.nanmin(np.fmin(values, lows)) - 0.05), 1.0)
    ax.axvline(0.5, color=color(7), ls=":", lw=1)
    ax.set_xlabel("ROC AUC on the hospital's own test set (0.5 = coin flip, 1 = perfect)"
                  + ("\nwhiskers: 95 % interval (DeLong)" if not np.isnan(lows).all() else ""))
    # below the axes, where it covers no bar, whisker or value
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13),
              ncol=min(len(models), 3), fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    if title is None:
        title = _wrapped(ax, _auc_bars_finding(models, values, lows, highs))
    ax.set_title(title, fontsize=10)
    return ax


def _wrapped(ax, title):
    """A default title broken into lines that fit the figure's width."""
    return textwrap.fill(title, int(10 * ax.figure.get_figwidth()))


def _auc_and_interval(value):
    """``(auc, low, high)`` from a number or a metrics dict (NaN bounds when none)."""
    if isinstance(value, dict):
        low, high = value.get("auc_ci", (np.nan, np.nan))
        return value["auc"], low, high
    return value, np.nan, np.nan


def _auc_bars_finding(models, values, lows, highs):
    """Which model wins most sites, and at how many of them the intervals overlap."""
    best = np.nanargmax(values, axis=0)
    winner = int(np.bincount(best, minlength=len(models)).argmax())
    won = np.flatnonzero(best == winner)
    title = f"{models[winner]} has the highest AUC at {len(won)} of {values.shape[1]} sites"
    others = np.delete(np.arange(len(models)), winner)
    if np.isnan(lows).all() or not len(others):
        return title
    overlap = sum(bool(np.any(highs[others, s] >= lows[winner, s])) for s in won)
    if overlap:
        title += (f", but at {overlap} of them another model's 95 % interval overlaps its "
                  "own")
    return title


def _labelled(curves, name, *, need_both_classes=True):
    """Turn one (y, score) pair or a dict of them into a dict of checked 1-D arrays."""
    if isinstance(curves, (tuple, list)) and len(curves) == 2 and not isinstance(
            curves, dict):
        curves = {"model": curves}
    if not isinstance(curves, dict) or not curves:
        raise InvalidParameterError(f"{name} must be a (y_true, score) pair or a non-empty dict "
                                    f"of them")
    checked = {}
    for label, pair in curves.items():
        y, score = (np.asarray(a, dtype=float) for a in pair)
        if y.ndim != 1 or y.shape != score.shape or len(y) == 0:
            raise InvalidParameterError(f"{label!r}: y_true and score must be 1-D of the same "
                                        f"non-zero "
                             f"length, got shapes {y.shape} and {score.shape}")
        if need_both_classes and len(np.unique(y)) < 2:
            raise InvalidParameterError(f"{label!r}: y_true holds a single class, so there is "
                                        f"no ROC "
                             "curve; it needs events and non-events")
        checked[label] = (y, score)
    return checked

