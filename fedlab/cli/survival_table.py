"""The text tables of a survival comparison: C-indices, O/E at the horizon, hazard ratios."""

from __future__ import annotations

import textwrap

from fedlab.cli.report import _ci, _count, _number

__all__ = ["format_survival_table"]

_METRICS = (("c_index", "Harrell's C"), ("uno_c", "Uno's C(tau)"), ("oe", "O/E at tau"))


def format_survival_table(results):
    """A released survival comparison (``train`` or ``flower`` with ``--time``) as text.

    ``results`` is :func:`fedlab.survival.compare_survival`'s dict after
    :func:`fedlab.metrics.release_results`, each method with its ``hazard_ratios`` (see
    :func:`fedlab.cli.survival.method_entry`). Three tables: each method at a typical
    site (the random-effects pool of the sites' estimates: a C-index over patients of
    different hospitals would mix their baseline hazards, so it is never computed), each
    site's own scores under its number of test patients and events, and the hazard ratios
    per unit of each feature. Gaps are ``suppressed`` or ``n/a``, explained underneath.
    """
    methods = results["methods"]
    first = next(iter(methods.values()))
    pooled, sites = first["pooled"], first["sites"]
    horizon = results.get("horizon")
    width = max(len(m) for m in methods) + 2
    tau = "n/a" if horizon is None else _number(horizon, 2)
    lines = [f"A typical site: random effects over {pooled.get('n_sites', len(sites))} sites' "
             f"{_count(pooled, 'n')} test patients ({_count(pooled, 'events')} events); "
             f"horizon tau = {tau}",
             f"{'method':<{width}}" + "".join(f"{label + ' [95 % CI]':<26}"
                                              for _, label in _METRICS)]
    lines.append("-" * len(lines[-1]))
    for name, m in methods.items():
        lines.append(f"{name:<{width}}" + "".join(
            f"{_ci(m['pooled'], key, digits=2 if key == 'oe' else 3):<26}"
            for key, _ in _METRICS))
    lines += [""] + _site_table(methods, sites, width) + [""] + _hazard_table(methods)
    lines += ["", "95 % intervals: C-indices jackknife (logit scale), typical site "
                  "random effects (Hartung-Knapp);", "O/E Poisson at each site, random "
                  "effects (log scale) across sites. Hazard ratios per unit of each",
              "feature, Wald intervals from the summed information (Newton fits only). "
              "Each site keeps", "its own baseline hazard (one stratum per site).",
              "A difference whose interval holds 0 is no evidence that two methods differ."]
    lines += _gaps(methods)
    return "\n".join(line.rstrip() for line in lines)


def _site_table(methods, sites, width):
    width = max(width + 2, len("patients / events") + 2)
    blocks = [(label, [(name, [_ci(m["sites"][s], key, digits=2) for s in sites])
                       for name, m in methods.items()]) for key, label in _METRICS]
    counts = [f"{_count(sites[s], 'n')} / {_count(sites[s], 'events')}" for s in sites]
    cells = [max([21, len(counts[k]) + 2] + [len(row[k]) + 2 for _, rows in blocks
                                            for _, row in rows]) for k in range(len(sites))]
    names = [textwrap.wrap(s, c - 2)[:2] + [""] for s, c in zip(sites, cells)]
    head = f"{'method':<{width}}" + "".join(f"{n[0]:<{c}}" for n, c in zip(names, cells))
    lines = ["On each site's own test patients", head,
             f"{'':<{width}}" + "".join(f"{n[1]:<{c}}" for n, c in zip(names, cells)),
             f"{'patients / events':<{width}}" + "".join(f"{t:<{c}}" for t, c in
                                                         zip(counts, cells)),
             "-" * len(head)]
    for label, rows in blocks:
        lines.append(f"{label} [95 % CI]")
        lines += [f"  {name:<{width - 2}}" + "".join(f"{t:<{c}}" for t, c in zip(row, cells))
                  for name, row in rows]
    return lines


def _hazard_table(methods):
    """Features as rows, methods as columns (the exact fit first, with its intervals)."""
    named = [(name, m) for name, m in methods.items() if m.get("hazard_ratios") is not None]
    if not named:
        return ["Hazard ratios: no method has a model"]
    features = list(named[0][1]["hazard_ratios"])
    columns = []
    for name, m in named:
        ci = m.get("hazard_ratio_ci") or {}
        cells = [_hr(m["hazard_ratios"][f], ci.get(f)) for f in features]
        columns.append((name, cells))
    width = max(len(f) for f in features) + 2
    cells = [max(12, *(len(c) + 2 for c in col)) for _, col in columns]
    names = [textwrap.wrap(n, c - 2)[:2] + [""] for (n, _), c in zip(columns, cells)]
    head = f"{'feature':<{width}}" + "".join(f"{n[0]:<{c}}" for n, c in zip(names, cells))
    lines = ["Hazard ratio per unit of each feature [95 % CI]", head,
             f"{'':<{width}}" + "".join(f"{n[1]:<{c}}" for n, c in zip(names, cells)),
             "-" * len(head)]
    for k, feature in enumerate(features):
        lines.append(f"{feature:<{width}}" + "".join(f"{col[k]:<{c}}"
                                                     for (_, col), c in zip(columns, cells)))
    return lines


def _hr(value, ci):
    if value is None:
        return "n/a"
    text = _number(value, 3)
    return text if ci is None else f"{text} [{_number(ci[0], 3)}, {_number(ci[1], 3)}]"


def _gaps(methods):
    """Why a value is missing: a method without a model, a suppressed or undefined value."""
    lines, seen = [], set()
    for name, m in methods.items():
        if m.get("note"):
            lines.append(f"{name}: {m['note']}")
    for m in methods.values():
        if m.get("note"):
            continue
        for where, metrics in [("a typical site", m["pooled"]), *m["sites"].items()]:
            for key in ("n", "events", "c_index", "uno_c", "oe"):
                reason = metrics.get(f"{key}_reason")
                if reason and (where, reason) not in seen:
                    seen.add((where, reason))
                    lines.append(f"{where}: {reason}")
    return ([""] + lines) if lines else []
