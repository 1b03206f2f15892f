"""Forest plots: one metric at each site with its 95 % interval, and the sites pooled.

The figure of a multicentre validation (Debray et al., "A guide to systematic review and
meta-analysis of prediction model performance", BMJ 2017): each hospital's estimate on
its own row, the random-effects summary as a diamond below.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FixedLocator, NullLocator

from fedlab._validation import InvalidParameterError, check_choice
from fedlab.plots.evaluation import _wrapped
from fedlab.plots.style import color, new_axes

__all__ = ["site_forest"]


def site_forest(metrics, *, metric="auc", pooled=None, ax=None, title=None):
    """Forest plot: one metric with its 95 % interval at each site, and their pooled value.

    Parameters
    ----------
    metrics : dict of str to dict
        ``{site: metrics}`` from :func:`fedlab.metrics.site_metrics` (or an
        :class:`~fedlab.metrics.Evaluator` report).
    metric : {"auc", "c_index", "uno_c", "accuracy", "oe", "calibration_slope", ...}
        Or ``"calibration_intercept"``; ``c_index`` and ``uno_c`` come from
        :func:`fedlab.survival.site_survival_metrics`.
    pooled : dict, optional
        :func:`fedlab.metrics.pool_site_metrics` of the same sites, drawn as a diamond.
    ax : matplotlib Axes, optional
    title : str, optional
        Defaults to whether the sites' intervals share a common value.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> sites = {"A": {"n": 90, "events": 13, "oe": 1.3, "oe_ci": (0.8, 2.1)},
    ...          "B": {"n": 400, "events": 60, "oe": 0.6, "oe_ci": (0.47, 0.77)}}
    >>> " ".join(site_forest(sites, metric="oe").get_title().split())
    'O/E differs between sites: A 1.30 [0.80, 2.10] vs B 0.60 [0.47, 0.77]'
    >>> plt.close("all")
    """
    check_choice(metric, "metric", tuple(_FOREST))
    label, reference = _FOREST[metric]
    if not isinstance(metrics, dict) or not metrics:
        raise InvalidParameterError("metrics must be a non-empty dict {site: metrics}")
    names = list(metrics)
    rows = [metrics[s] for s in names] + ([pooled] if pooled is not None else [])
    est = np.array([r[metric] for r in rows], dtype=float)
    low, high = (np.array([r[f"{metric}_ci"][j] for r in rows], dtype=float) for j in (0, 1))
    ax = new_axes(ax, figsize=(7, 0.55 * len(rows) + 1.3))
    where = np.arange(len(rows))
    site = slice(0, len(names))
    ax.errorbar(est[site], where[site], xerr=np.vstack([est - low, high - est])[:, site],
                color=color(0), ls="none", marker="s", ms=6, capsize=3, label="site (95 % CI)")
    if pooled is not None:
        y = where[-1]
        ax.fill([low[-1], est[-1], high[-1], est[-1]], [y, y - 0.25, y, y + 0.25],
                color=color(3), label="pooled (95 % CI)")
    ax.set_yticks(where, [f"{s}\n{metrics[s]['n']:,} patients, {metrics[s]['events']} events"
                          if "n" in metrics[s] else s for s in names]
                  + (["pooled"] if pooled is not None else []), fontsize=8)
    ax.invert_yaxis()
    if metric == "oe":  # ratios: 0.5 is as far from 1 as 2 is
        ax.set_xscale("log")
        span = np.nanmin(np.r_[low, est]), np.nanmax(np.r_[high, est])
        ticks = [t for t in (0.1, 0.2, 0.33, 0.5, 0.67, 1, 1.5, 2, 3, 5, 10)
                 if span[0] / 1.5 <= t <= span[1] * 1.5]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{t:g}" for t in ticks])
    if reference is not None:
        ax.axvline(reference, color=color(7), ls=":", lw=1)
    ax.set_xlabel(label)
    ax.legend(loc="best", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    if title is None:
        short = label.split(" (")[0] if metric != "oe" else "O/E"
        title = _wrapped(ax, _forest_finding(short, names, est[site], low[site], high[site]))
    ax.set_title(title, fontsize=10)
    return ax


_FOREST = {  # metric: (axis label, the value of a perfect or uninformative model)
    "auc": ("ROC AUC (0.5 = coin flip)", 0.5),
    "c_index": ("Harrell's C (0.5 = coin flip)", 0.5),
    "uno_c": ("Uno's C up to tau (0.5 = coin flip)", 0.5),
    "accuracy": ("accuracy (share of patients classified right)", None),
    "oe": ("observed / expected events (O/E; 1 = calibrated, log scale)", 1.0),
    "calibration_slope": ("calibration slope (1 = ideal, < 1 = too extreme)", 1.0),
    "calibration_intercept": ("calibration intercept (0 = ideal, > 0 = risk underestimated)",
                              0.0),
}


def _forest_finding(label, names, est, low, high):
    """A title that claims a difference only when two sites' intervals do not overlap."""
    ok = ~(np.isnan(low) | np.isnan(high))
    if ok.sum() < 2:
        return f"{label} at each site, with its 95 % interval"
    top = int(np.flatnonzero(ok)[np.argmax(low[ok])])
    bottom = int(np.flatnonzero(ok)[np.argmin(high[ok])])
    if low[top] <= high[bottom]:
        return (f"{label}: the sites' 95 % intervals all overlap, so these data show no "
                "clear difference between sites")
    return (f"{label} differs between sites: {names[top]} {est[top]:.2f} [{low[top]:.2f}, "
            f"{high[top]:.2f}] vs {names[bottom]} {est[bottom]:.2f} [{low[bottom]:.2f}, "
            f"{high[bottom]:.2f}]")
