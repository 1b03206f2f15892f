"""What a command may print or write of a site's metrics: small cells suppressed, gaps named.

A site's evaluation summary (:func:`fedlab.metrics.site_metrics`) counts its test
patients, its events and its correct predictions; a metric that rests on a handful of
patients can single one out (a site with one event and an AUC of 1.0 says who it was). The
rule here is DataSHIELD's non-zero cell rule, applied to every released summary
(Gaye et al. 2014; Wilson et al. 2017): a site's metrics are released only when it has at
least ``min_cell`` test patients and its events and non-events are each 0 or at least
``min_cell``; a zero count is released (it singles no one out), a count of 1 to
``min_cell - 1`` is not. Suppressed values become ``None``.

The same pass makes a report JSON-ready: a value that is not a finite number (an AUC
with one class, an O/E with no expected event) becomes ``None`` too. Either way the key
``"<name>_reason"`` beside it says why (``"suppressed: ..."`` or ``"undefined: ..."``),
so a reader never mistakes a gap for a number.

What this does not defend: differencing. The totals over all sites include a suppressed
site, so total minus the released sites' counts gives its counts back; a report that
suppresses exactly one site leaks it to a reader who subtracts.

References
----------
Gaye, A., et al. (2014). DataSHIELD: taking the analysis to the data, not the data to the
analysis. Int. J. Epidemiol. 43(6). Wilson, R. C., et al. (2017). DataSHIELD - new
directions and dimensions. Data Science Journal 16.
"""

from __future__ import annotations

import math
import numbers

from fedlab._validation import check_int

__all__ = ["release_metrics", "release_results", "suppression_reason", "SUPPRESSED"]

SUPPRESSED = "suppressed"
_COUNTS_KEPT = ("n_sites",)  # how many sites were pooled: not a count of patients


def suppression_reason(n, events, *, min_cell=5):
    """Why a summary of ``n`` patients with ``events`` events may not be released, or ``None``.

    Parameters
    ----------
    n : int
        Test patients.
    events : int
        Events among them.
    min_cell : int, default=5
        The smallest count of patients a released value may rest on, >= 1.

    Returns
    -------
    str or None

    Examples
    --------
    >>> suppression_reason(120, 0) is None  # no event at all: a zero cell is released
    True
    >>> suppression_reason(120, 3)
    'suppressed: 1 to 4 events or non-events (min_cell=5)'
    >>> suppression_reason(4, 2)
    'suppressed: fewer than 5 test patients (min_cell=5)'
    """
    min_cell = check_int(min_cell, "min_cell", minimum=1)
    if n < min_cell:
        return f"{SUPPRESSED}: fewer than {min_cell} test patients (min_cell={min_cell})"
    if 0 < events < min_cell or 0 < n - events < min_cell:
        return (f"{SUPPRESSED}: 1 to {min_cell - 1} events or non-events "
                f"(min_cell={min_cell})")
    return None


def release_metrics(metrics, *, min_cell=5):
    """One summary as released: JSON-ready, suppressed when small, every gap with its reason.

    Parameters
    ----------
    metrics : dict
        A :func:`~fedlab.metrics.site_metrics` or :func:`~fedlab.metrics.pool_site_metrics`
        dict (``n`` and ``events`` are read for the rule).
    min_cell : int, default=5

    Returns
    -------
    dict
        The same keys, intervals as lists; a suppressed or non-finite value is ``None``
        with ``"<key>_reason"`` beside it. When the rule fails every value but ``n`` (when
        ``n >= min_cell``) is suppressed. A summary released already (e.g. by a site,
        before sending it) comes back unchanged: releasing twice is releasing once.

    Examples
    --------
    >>> from fedlab.metrics import site_metrics
    >>> m = release_metrics(site_metrics([1, 1, 1, 1, 1, 1], [.9, .8, .7, .6, .9, .8]))
    >>> m["accuracy"], m["auc"], m["auc_reason"]
    (1.0, None, 'undefined: every test patient is an event (the AUC needs both outcomes)')
    >>> m = release_metrics(site_metrics([0, 1, 0, 0, 0, 0], [.1, .8, .3, .2, .1, .4]))
    >>> m["n"], m["events"], m["events_reason"]
    (6, None, 'suppressed: 1 to 4 events or non-events (min_cell=5)')
    """
    if metrics.get("n") is None or metrics.get("events") is None:  # released already
        return {key: value if key.endswith("_reason") else _finite(value)
                for key, value in metrics.items()}
    reason = suppression_reason(int(metrics["n"]), int(metrics["events"]), min_cell=min_cell)
    out = {}
    for key, value in metrics.items():
        if key.endswith("_reason"):
            if key not in out:
                out[key] = value  # a summary released already keeps its reasons
            continue
        keep = key in _COUNTS_KEPT or (key == "n" and metrics["n"] >= min_cell)
        if reason is not None and not keep:
            out[key], out[f"{key}_reason"] = None, reason
            continue
        clean = _finite(value)
        out[key] = clean
        if clean is None and value is not None:
            out[f"{key}_reason"] = f"undefined: {_why_undefined(key, metrics)}"
    return out


def release_results(results, *, min_cell=5):
    """A comparison's results (:func:`fedlab.baselines.compare`) as a command releases them.

    Every method's pooled and per-site metrics go through :func:`release_metrics`; the
    rest (e.g. ``vs_centralized``) is made JSON-ready the same way (non-finite numbers to
    ``None`` with a reason). The input is not changed.
    """
    out = {}
    for key, value in results.items():
        if key == "methods":
            out[key] = {name: {**m, "pooled": release_metrics(m["pooled"], min_cell=min_cell),
                               "sites": {s: release_metrics(v, min_cell=min_cell)
                                         for s, v in m["sites"].items()}}
                        for name, m in value.items()}
        else:
            out[key] = json_ready(value)
    return out


def json_ready(value):
    """``value`` with tuples as lists, numpy scalars as Python, non-finite numbers as ``None``.

    In a dict, a key whose value became ``None`` gets ``"<key>_reason"`` beside it.

    Examples
    --------
    >>> json_ready({"difference": float("nan"), "ci": (0.1, float("inf"))})
    {'difference': None, 'difference_reason': 'undefined: not a finite number', 'ci': None, \
'ci_reason': 'undefined: not a finite number'}
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            clean = json_ready(item)
            out[key] = clean
            if clean is None and item is not None and f"{key}_reason" not in value:
                out[f"{key}_reason"] = "undefined: not a finite number"
        return out
    return _finite(value)


def _finite(value):
    """A JSON-ready copy: a non-finite number (or an interval holding one) is ``None``."""
    if isinstance(value, (list, tuple)):
        items = [_finite(v) for v in value]
        return None if any(v is None for v in items) and any(
            _is_number(v) for v in value) else items
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _finite(value.tolist())
    if isinstance(value, bool) or not _is_number(value):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value) if math.isfinite(value) else None


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _why_undefined(key, metrics):
    """A short reason for a non-finite ``key`` in one summary (from its counts)."""
    n, events = int(metrics["n"]), int(metrics["events"])
    base = key.removesuffix("_se").removesuffix("_ci")
    one_class = events in (0, n)
    side = "an event" if events == n else "a non-event"
    if "n_sites" in metrics and base in ("auc", "calibration_slope", "calibration_intercept"):
        return "no site could estimate it (each needs both outcomes among its test patients)"
    if base in ("c_index", "uno_c", "oe") and events == 0:
        return "no event among the test patients (a C-index compares patients with an event " \
            "to those still event-free)"
    if base == "auc" and one_class:
        return f"every test patient is {side} (the AUC needs both outcomes)"
    if base.startswith("calibration") and one_class:
        return f"every test patient is {side} (recalibration needs both outcomes)"
    if base.startswith("calibration"):
        return "the outcomes are perfectly separated by the predicted risks"
    if base == "oe" and not metrics.get("expected", 0) > 0:
        return "no expected events (every predicted risk is 0)"
    if base == "auc":
        return "the AUC is 0 or 1, where its interval (logit scale) does not exist"
    return "not a finite number"
