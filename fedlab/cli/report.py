"""The text table of a comparison: every method, pooled and per site, with 95 % intervals."""

from __future__ import annotations

import textwrap

__all__ = ["format_table"]


def format_table(results):
    """The results of :func:`fedlab.baselines.compare` as two text tables with 95 % intervals.

    First all test patients together: AUC, its paired difference from the centralized
    model (when ``results`` has ``"vs_centralized"``; a federated study, which has no
    centralized model, leaves the column out), accuracy, O/E and Brier score; then AUC,
    accuracy and O/E at each site, under the site's number of test patients and events.
    """
    methods = results["methods"]
    compared = "vs_centralized" in results
    versus = results.get("vs_centralized", {})
    pooled = next(iter(methods.values()))["pooled"]
    sites = next(iter(methods.values()))["sites"]
    width = max(len(m) for m in methods) + 2
    head = (f"{'method':<{width}}{'AUC [95 % CI]':<22}"
            + (f"{'AUC - centralized [CI]':<26}" if compared else "")
            + f"{'accuracy [95 % CI]':<22}{'O/E [95 % CI]':<20}{'Brier':>6}")
    lines = [f"All {pooled['n']:,} test patients together ({pooled['events']:,} events)",
             head, "-" * len(head)]
    for name, m in methods.items():
        p = m["pooled"]
        diff = versus.get(name)
        difference = (_ci(diff["difference"], diff["ci"]) if diff else "(reference)") \
            if compared else ""
        lines.append(f"{name:<{width}}{_ci(p['auc'], p['auc_ci']):<22}"
                     f"{difference:<{26 if compared else 0}}"
                     f"{_ci(p['accuracy'], p['accuracy_ci']):<22}"
                     f"{_ci(p['oe'], p['oe_ci'], digits=2):<20}{_fmt(p['brier']):>6}")
    if not sites:  # one table of patients (a vertical study): no site to show
        return "\n".join(line.rstrip() for line in lines + _footnote(compared))
    cell, width = 19, width + 2  # rows indented under their metric
    names = [textwrap.wrap(s, cell - 2)[:2] + [""] for s in sites]  # two lines a name
    head = f"{'method':<{width}}" + "".join(f"{n[0]:<{cell}}" for n in names)
    head2 = f"{'':<{width}}" + "".join(f"{n[1]:<{cell}}" for n in names)
    counts = f"{'patients / events':<{width}}" + "".join(
        f"{sites[s]['n']:,} / {sites[s]['events']}".ljust(cell) for s in sites)
    lines += ["", "On each site's own test patients", head, head2, counts, "-" * len(head)]
    for key, label in (("auc", "AUC"), ("accuracy", "accuracy"), ("oe", "O/E")):
        lines.append(f"{label} [95 % CI]")
        for name, m in methods.items():
            lines.append(f"  {name:<{width - 2}}" + "".join(
                f"{_ci(m['sites'][s][key], m['sites'][s][f'{key}_ci'], digits=2):<{cell}}"
                for s in sites))
    return "\n".join(line.rstrip() for line in lines + _footnote(compared))


def _footnote(compared):
    return ["", "95 % intervals: AUC DeLong, accuracy Wilson, O/E Poisson"
            + ("; the AUC difference is paired (the same patients)." if compared else "."),
            "A difference whose interval holds 0 is no evidence that two methods differ."]


def _fmt(x, digits=3):
    return "n/a" if x != x else f"{round(x, digits) + 0.0:.{digits}f}"  # no "-0.000"


def _ci(estimate, interval, *, digits=3):
    """``0.794 [0.751, 0.831]``; the estimate alone when the interval does not exist."""
    low, high = interval
    if estimate != estimate:
        return "n/a"
    if low != low or high != high:
        return f"{_fmt(estimate, digits)} [n/a]"
    return f"{_fmt(estimate, digits)} [{_fmt(low, digits)}, {_fmt(high, digits)}]"
