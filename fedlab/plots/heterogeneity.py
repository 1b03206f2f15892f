"""Figures of lessons 04a/04b: per-site results with 95 % intervals, what each shift does."""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError
from fedlab.plots.style import color, new_axes

__all__ = ["site_intervals", "shift_effects"]

_AXIS = {
    "auc": ("ROC AUC on the site's own test patients", 0.5),
    "oe": ("observed / expected events (1 = calibrated in the large)", 1.0),
    "calibration_slope": ("calibration slope (1 = ideal; < 1 too extreme)", 1.0),
}


def site_intervals(results, metric="auc", *, ax=None, title=None):
    """Dots with 95 % intervals: one row per site, one colour per method.

    Parameters
    ----------
    results : dict of str to (dict of str to dict)
        ``{method: {site: metrics}}``, each ``metrics`` a dict as returned by
        :func:`fedlab.metrics.site_metrics` (the estimate ``metric`` and its interval
        ``metric + "_ci"``). Every method names the same sites.
    metric : {"auc", "oe", "calibration_slope"}, default="auc"
    ax : matplotlib Axes, optional
    title : str, optional
        The finding. The default only names the metric: whether two methods differ at a
        site is a paired question (:func:`fedlab.metrics.auc_difference` on the site's
        patients), which overlapping intervals cannot answer.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> m = {"auc": 0.8, "auc_ci": (0.7, 0.9)}
    >>> ax = site_intervals({"global": {"A": m}, "local": {"A": dict(m, auc=0.85)}})
    >>> ax.get_title()
    "ROC AUC on the site's own test patients, each method with its 95 % interval"
    >>> plt.close(ax.figure)
    """
    if not isinstance(results, dict) or not results:
        raise InvalidParameterError("results must be a non-empty dict {method: {site: metrics}}")
    methods = list(results)
    sites = list(results[methods[0]])
    for m in methods:
        if list(results[m]) != sites:
            raise InvalidParameterError(f"method {m!r} names the sites {list(results[m])}, but "
                             f"{methods[0]!r} names {sites}")
    label, reference = _AXIS.get(metric, (metric, None))
    ax = new_axes(ax, figsize=(7.5, 0.35 * len(methods) * len(sites) + 1.5))
    step = 0.8 / len(methods)
    for k, m in enumerate(methods):
        rows = np.arange(len(sites)) - 0.4 + step * (k + 0.5)
        values = np.array([_with_interval(results[m][s], metric) for s in sites],
                          dtype=float)
        ax.errorbar(values[:, 0], rows, xerr=np.abs(values[:, [0]].T - values[:, 1:].T),
                    fmt="o", color=color(k), ms=5, capsize=3, label=m)
    if reference is not None:
        ax.axvline(reference, color=color(7), ls=":", lw=1)
    ax.set_yticks(np.arange(len(sites)), [s.replace(" Hospital", "") for s in sites],
                  fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel(f"{label}, with 95 % interval")
    # the legend sits below the axes, where it covers no interval
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.07),
              ncol=min(len(methods), 4), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    if title is None:
        title = f"{label}, each method with its 95 % interval"
    ax.set_title(title, fontsize=10)
    return ax


_SHIFT_AXIS = {"auc": "ROC AUC", "oe": "observed / expected events"}


def shift_effects(curves, *, patients="the same test patients", axes=None, title=None):
    """AUC and O/E of one model as the strength of each kind of shift grows.

    Parameters
    ----------
    curves : dict of str to (array-like, list of dict)
        ``{kind: (strengths, effects)}``, one :func:`fedlab.metrics.shift_effect` dict per
        strength (the same patients before and after the shift; the band is the shifted
        metric's bootstrap interval).
    patients : str, default="the same test patients"
        Who is scored, for the axis labels.
    axes : pair of matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    pair of matplotlib Axes
    """
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for k, (kind, (strengths, metrics)) in enumerate(curves.items()):
        strengths = np.asarray(strengths, dtype=float)
        for ax, metric in zip(axes, ("auc", "oe")):
            values = np.array([(m[f"{metric}_shifted"], *m[f"{metric}_shifted_ci"])
                               for m in metrics], dtype=float)
            ax.plot(strengths, values[:, 0], "o-", color=color(k), label=kind, ms=4)
            ax.fill_between(strengths, values[:, 1], values[:, 2], color=color(k), alpha=0.15)
    for ax, metric in zip(axes, ("auc", "oe")):
        ax.axhline(_AXIS[metric][1], color=color(7), ls=":", lw=1)
        ax.set_xlabel("strength of the shift (0 = none)")
        ax.set_ylabel(f"{_SHIFT_AXIS[metric]}, {patients}\n(95 % bootstrap band)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[0].figure.suptitle(title or "Which shift hurts ranking (AUC) and which hurts "
                            "calibration (O/E)", fontsize=11)
    return axes


def _with_interval(metrics, metric):
    """``(estimate, low, high)`` of ``metric`` in a :func:`fedlab.metrics.site_metrics` dict."""
    low, high = metrics[f"{metric}_ci"]
    return metrics[metric], low, high
