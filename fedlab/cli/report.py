"""The text table of a comparison: every method, pooled and per site, with 95 % intervals."""

from __future__ import annotations

import inspect
import math
import textwrap

import numpy as np

__all__ = ["format_table", "fitted_coefficients", "report_document", "strategy_params"]

_LABELS = {"auc": "AUC", "accuracy": "accuracy", "oe": "O/E", "brier": "Brier",
           "events": "events", "n": "patients"}


def format_table(results):
    """A comparison's results as two text tables with 95 % intervals.

    ``results`` is :func:`fedlab.baselines.compare`'s dict, or a study's (``"engine":
    "flower"``), as released (:func:`fedlab.metrics.release_results`: a value may be
    ``None`` with ``"<key>_reason"`` beside it, printed as ``suppressed`` or ``n/a`` and
    explained under the table). First all test patients together: AUC, its paired
    difference from the centralized model (when ``results`` has ``"vs_centralized"``),
    accuracy, O/E and Brier score. A study on Flower cannot pool its patients: its first
    table is a summary over the sites instead (the AUC of a typical site, from a
    random-effects meta-analysis; totals for the rest), under its own heading. Then AUC,
    accuracy and O/E at each site, under the site's number of test patients and events.
    """
    methods = results["methods"]
    compared = "vs_centralized" in results
    versus = results.get("vs_centralized", {})
    pooled = next(iter(methods.values()))["pooled"]
    sites = next(iter(methods.values()))["sites"]
    meta = results.get("engine") == "flower"
    width = max(len(m) for m in methods) + 2
    auc_head = "AUC, typical site [CI]" if meta else "AUC [95 % CI]"
    head = (f"{'method':<{width}}{auc_head:<24}"
            + (f"{'AUC - centralized [CI]':<26}" if compared else "")
            + f"{'accuracy [95 % CI]':<22}{'O/E [95 % CI]':<22}{'Brier':>6}")
    if meta:
        title = (f"Summary over {pooled.get('n_sites', len(sites))} sites' "
                 f"{_count(pooled, 'n')} test patients ({_count(pooled, 'events')} events): "
                 "no one holds them together")
    else:
        title = (f"All {_count(pooled, 'n')} test patients together "
                 f"({_count(pooled, 'events')} events)")
    lines = [title, head, "-" * len(head)]
    for name, m in methods.items():
        p = m["pooled"]
        diff = versus.get(name)
        difference = (_ci(diff, "difference", "ci") if diff else "(reference)") \
            if compared else ""
        lines.append(f"{name:<{width}}{_ci(p, 'auc'):<24}"
                     f"{difference:<{26 if compared else 0}}"
                     f"{_ci(p, 'accuracy'):<22}{_ci(p, 'oe', digits=2):<22}"
                     f"{_fmt(p, 'brier'):>6}")
    width += 2  # rows indented under their metric
    blocks = [(label, [(name, [_ci(m["sites"][s], key, digits=2) for s in sites])
                       for name, m in methods.items()])
              for key, label in (("auc", "AUC"), ("accuracy", "accuracy"), ("oe", "O/E"))]
    counts = [f"{_count(sites[s], 'n')} / {_count(sites[s], 'events')}" for s in sites]
    cells = [max([21, len(counts[k]) + 2] + [len(row[k]) + 2 for _, rows in blocks
                                            for _, row in rows]) for k in range(len(sites))]
    names = [textwrap.wrap(s, c - 2)[:2] + [""] for s, c in zip(sites, cells)]  # two lines
    head = f"{'method':<{width}}" + "".join(f"{n[0]:<{c}}" for n, c in zip(names, cells))
    head2 = f"{'':<{width}}" + "".join(f"{n[1]:<{c}}" for n, c in zip(names, cells))
    if sites:  # a vertical study has none: every party holds every test patient
        lines += ["", "On each site's own test patients", head, head2,
                  f"{'patients / events':<{width}}" + "".join(
                      f"{t:<{c}}" for t, c in zip(counts, cells)), "-" * len(head)]
        for label, rows in blocks:
            lines.append(f"{label} [95 % CI]")
            lines += [f"  {name:<{width - 2}}" + "".join(f"{t:<{c}}"
                                                         for t, c in zip(row, cells))
                      for name, row in rows]
    if meta:
        lines += ["", "AUC, typical site: a random-effects meta-analysis of the sites' AUCs "
                      "(Hartung-Knapp interval,", "wide with few sites); accuracy, O/E and "
                      "Brier: totals over every site's test patients."]
    lines += ["", "95 % intervals: AUC DeLong, accuracy Wilson, O/E Poisson"
              + ("; the AUC difference is paired (the same patients)." if compared else "."),
              "A difference whose interval holds 0 is no evidence that two methods differ."]
    lines += _gaps(methods, versus)
    return "\n".join(line.rstrip() for line in lines)


def _gaps(methods, versus):
    """Why a value is missing: one line per site suppressed, one per undefined metric."""
    suppressed, undefined = {}, {}
    for name, m in methods.items():
        for where, metrics in [("all sites together", m["pooled"]), *m["sites"].items()]:
            for key in ("n", "events", "auc", "accuracy", "oe", "brier"):
                reason = metrics.get(f"{key}_reason")
                if reason is None:
                    continue
                kind, _, why = reason.partition(": ")
                if kind == "suppressed":
                    suppressed.setdefault((where, why), set()).add(name)
                else:
                    undefined.setdefault((where, why), {}).setdefault(_LABELS[key],
                                                                      set()).add(name)
        diff = versus.get(name, {})
        if diff.get("difference_reason"):
            why = diff["difference_reason"].partition(": ")[2]
            undefined.setdefault(("all sites together", why), {}).setdefault(
                "AUC - centralized", set()).add(name)

    def scope(names):
        return "every method" if len(names) == len(methods) else ", ".join(sorted(names))

    lines = [f"suppressed at {where} ({scope(names)}): {why}"
             for (where, why), names in suppressed.items()]
    for (where, why), metrics in undefined.items():
        for label, names in metrics.items():
            lines.append(f"n/a: {label} at {where} ({scope(names)}): {why}")
    return ([""] + lines) if lines else []


def _count(metrics, key):
    value = metrics.get(key)
    return _gap(metrics, key) if value is None else f"{value:,}"


def _gap(metrics, key):
    reason = metrics.get(f"{key}_reason") or ""
    return "suppressed" if reason.startswith("suppressed") else "n/a"


def _number(x, digits):
    """``0.794``; a very large value in powers of ten (``7.6e+12``), so columns stay aligned."""
    if not math.isfinite(x):
        return "n/a"
    if abs(x) >= 1e4:
        return f"{x:.2g}"
    return f"{round(x, digits) + 0.0:.{digits}f}"  # no "-0.000"


def _fmt(metrics, key, digits=3):
    value = metrics.get(key)
    return _gap(metrics, key) if value is None else _number(value, digits)


def _ci(metrics, key, interval=None, *, digits=3):
    """``0.794 [0.751, 0.831]``; the estimate alone when the interval does not exist."""
    value = metrics.get(key)
    if value is None:
        return _gap(metrics, key)
    bounds = metrics.get(interval or f"{key}_ci")
    if bounds is None or any(b is None or not math.isfinite(b) for b in bounds):
        return f"{_number(value, digits)} [n/a]"
    low, high = bounds
    return f"{_number(value, digits)} [{_number(low, digits)}, {_number(high, digits)}]"


# -- the JSON report: configuration, fitted coefficients ----------------------------------


def fitted_coefficients(params, standardizer, feature_names, *, model=None):
    """A fitted model's coefficients by feature (original units and standardized), or a
    network's parameters with their shapes.

    Training sees standardized features ``z = (x - mean) / scale`` (a missing value
    becomes the mean, ``z = 0``). The same linear predictor in the original units has
    ``w_orig = w / scale`` and intercept ``b_orig = b - sum(w * mean / scale)``.

    Parameters
    ----------
    params : ndarray of shape (n_params,), or dict of str to ndarray
        The model's parameter vector, or one per site (personalized).
    standardizer : Standardizer or None
    feature_names : sequence of str
    model : fedlab.models.Model, optional
        The model ``params`` belong to. A linear one (``model.linear``: logistic
        regression, weights then intercept; a Cox model, weights only, its baseline
        hazard absorbing any shift) is reported by feature; any other by the arrays of
        its :meth:`~fedlab.models.Model.param_shapes`, on the standardized features (a
        network: ``W1`` (d, h), ``b1`` (h,), ``w2`` (h,), ``b2`` ()). ``None``: a vector
        of ``n_features`` or ``n_features + 1`` entries is linear.

    Returns
    -------
    dict
        Linear: ``{"coefficients": {feature: w, ..., "(intercept)": b},
        "coefficients_standardized": {...}}``. Otherwise ``{"parameters": {name:
        {"shape": [...], "values": nested lists}}, "standardizer": {"mean": {feature:
        m}, "scale": {feature: s}}}`` (what turns a record into the network's input).
        Per site (``{key: {site: ...}}``) for a dict of ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> from fedlab.federated import Standardizer
    >>> s = Standardizer(mean=np.array([50.0]), scale=np.array([10.0]))
    >>> fitted_coefficients(np.array([2.0, -1.0]), s, ["age"])["coefficients"]
    {'age': 0.2, '(intercept)': -11.0}
    >>> from fedlab.models import MLP
    >>> net = fitted_coefficients(np.arange(4.0), s, ["age"], model=MLP(hidden=1))
    >>> {k: v["shape"] for k, v in net["parameters"].items()}
    {'W1': [1, 1], 'b1': [1], 'w2': [1], 'b2': []}
    """
    if isinstance(params, dict):
        per_site = {site: fitted_coefficients(p, standardizer, feature_names, model=model)
                    for site, p in params.items()}
        return {key: {site: entry[key] for site, entry in per_site.items()}
                for key in next(iter(per_site.values()))}
    params = np.asarray(params, dtype=float)
    d = len(feature_names)
    linear = len(params) in (d, d + 1) if model is None else model.linear
    if not linear:
        return _parameters(params, standardizer, feature_names, model)
    w, intercept = params[:d], (params[d] if len(params) == d + 1 else None)
    mean = np.zeros(d) if standardizer is None else np.asarray(standardizer.mean, float)
    scale = np.ones(d) if standardizer is None else np.asarray(standardizer.scale, float)
    original = w / scale

    def named(weights, b):
        out = dict(zip(feature_names, _floats(weights)))
        if b is not None:
            out["(intercept)"] = _floats([b])[0]
        return out

    return {"coefficients": named(original, None if intercept is None else
                                  intercept - float(np.sum(w * mean / scale))),
            "coefficients_standardized": named(w, intercept)}


def _parameters(params, standardizer, feature_names, model):
    """A non-linear model's arrays by name, with their shapes, and its input scaling."""
    shapes = ({"params": params.shape} if model is None
              else model.param_shapes(len(feature_names)))
    sizes = [int(np.prod(shape)) for shape in shapes.values()]
    if sum(sizes) != len(params):
        raise ValueError(f"params has {len(params)} entries, but {model!r} on "
                         f"{len(feature_names)} features has {sum(sizes)}")
    arrays = np.split(params, np.cumsum(sizes)[:-1])
    out = {"parameters": {name: {"shape": list(shape),
                                 "values": a.reshape(shape).tolist()}
                          for (name, shape), a in zip(shapes.items(), arrays)}}
    if standardizer is not None:
        out["standardizer"] = {key: dict(zip(feature_names, _floats(getattr(standardizer,
                                                                            key))))
                               for key in ("mean", "scale")}
    return out


def report_document(results, *, command, args, strategies, model=None):
    """The whole JSON report: ``fedlab_version``, ``config`` (every setting), the results.

    ``config["model"]`` is ``{"name": ..., "params": {...}}`` of ``model`` (when given).
    """
    from fedlab import __version__

    config = {"command": command}
    for key in ("rounds", "local_epochs", "batch_size", "lr", "l2", "seed", "min_cell",
                "epsilon", "personalize", "site", "target", "time", "event", "horizon",
                "ties", "features", "test_size", "split_column", "id_column", "min_sites",
                "secure_aggregation"):
        if hasattr(args, key):
            config["sites" if key == "site" else key] = getattr(args, key)
    if model is not None:
        config["model"] = {"name": model.name, "class": type(model).__name__,
                           "params": model.get_params()}
    config["strategies"] = {name: {"class": type(s).__name__, "params": strategy_params(s)}
                            for name, s in strategies.items()}
    return {"fedlab_version": __version__, "config": config, **results}


def strategy_params(strategy):
    """A strategy's constructor parameters and their values (scikit-learn's ``get_params``)."""
    if hasattr(strategy, "get_params"):
        params = strategy.get_params()
    else:
        names = inspect.signature(type(strategy)).parameters
        params = {name: getattr(strategy, name, None) for name in names}
    return {k: v if v is None or isinstance(v, (bool, int, float, str)) else repr(v)
            for k, v in params.items()}


def _floats(values):
    return [float(v) for v in np.asarray(values, dtype=float).ravel()]
