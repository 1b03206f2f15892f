"""``describe --time COL --event COL``: the sites' federated Kaplan-Meier curve, as a table.

Each site counts its patients at risk and its events on a shared grid of times (every
``step`` time units); the sites agree on rows that each can release with every count 0
or at least ``min_cell`` (:func:`fedlab.survival.agree_rows`, small cells merged), the
server sums them and prints the pooled curve with Greenwood (log-log) intervals
(:func:`fedlab.survival.federated_kaplan_meier`). Counts only, never an event time: the
grid's rows are the finest times any site reveals.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from fedlab._validation import InvalidParameterError
from fedlab.data import csvio

__all__ = ["kaplan_meier_table", "read_survival_columns"]


def read_survival_columns(paths, *, time, event):
    """Each site's ``(time, event)`` arrays, checked, from its CSV file.

    Raises
    ------
    ValueError
        Naming the file (and, for a bad cell, the column and row): a missing column, a
        cell that is not a number, a negative or missing time, an event other than 0/1.
    """
    from fedlab.survival._checks import check_survival

    pairs = []
    for path in paths:
        path = Path(path)
        _, values = csvio.read_table(path, columns=[time, event], column_option="--time")
        for k, (value, row) in enumerate(zip(values[:, 0], values[:, 1]), start=1):
            if not (math.isfinite(value) and value >= 0):
                said = "missing" if math.isnan(value) else f"{value:g}, which is negative"
                raise InvalidParameterError(f"{path.name}: column '{time}' row {k}: the time "
                                            f"is {said} (every row needs a time >= 0)")
            if row not in (0.0, 1.0):
                raise InvalidParameterError(f"{path.name}: column '{event}' row {k}: value "
                                            f"{row:g} is not a valid event indicator (it must "
                                            "be 0 or 1)")
        pairs.append(check_survival(values[:, 0], values[:, 1]))
    return pairs


def kaplan_meier_table(pairs, *, step=1.0, min_cell=5):
    """The pooled Kaplan-Meier curve of the sites on a grid of ``step``: text and JSON.

    Parameters
    ----------
    pairs : sequence of (time, event)
        Each site's records (counted at the site).
    step : float, default=1.0
        The grid's spacing, in the time column's unit: rows at ``step, 2 step, ...`` up
        to the first multiple of ``step`` past every site's longest time.
    min_cell : int, default=5

    Returns
    -------
    lines : list of str
    released : dict
        ``step``, ``min_cell``, ``times``, ``at_risk``, ``events``, ``survival``,
        ``ci_low``, ``ci_high``: every count 0 or at least ``min_cell``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> pairs = [(rng.exponential(4, 200), rng.random(200) < 0.7) for _ in range(2)]
    >>> lines, km = kaplan_meier_table(pairs, step=2.0)
    >>> km["times"][:3], km["at_risk"][0]
    ([2.0, 4.0, 6.0], 400)
    """
    from fedlab.survival import federated_kaplan_meier

    if not step > 0 or not math.isfinite(step):
        raise InvalidParameterError(f"--km-step must be a finite number > 0, got {step}")
    longest = max(float(t.max()) for t, _ in pairs)
    grid = step * np.arange(1, math.floor(longest / step) + 2)
    km = federated_kaplan_meier(pairs, grid, min_cell=min_cell)
    released = {"step": step, "min_cell": min_cell, "times": km.times.tolist(),
                "at_risk": km.at_risk.astype(int).tolist(),
                "events": km.events.astype(int).tolist(),
                "survival": km.survival.tolist(), "ci_low": km.ci[0].tolist(),
                "ci_high": km.ci[1].tolist()}
    lines = [f"Federated Kaplan-Meier curve: {len(pairs)} sites' counts on a grid of "
             f"{step:g}, rows merged until every count is 0 or >= {min_cell}",
             f"{'up to time':>12}{'at risk':>10}{'events':>9}   survival [95 % CI]"]
    lines.append("-" * len(lines[-1]))
    for t, n, d, s, low, high in zip(km.times, km.at_risk, km.events, km.survival, *km.ci):
        lines.append(f"{t:>12g}{int(n):>10,}{int(d):>9,}   {s:.3f} [{low:.3f}, {high:.3f}]")
    lines += ["Greenwood intervals (log-log scale). An event counts at the end of its row; "
              "patients still", "followed after the last row are censored there."]
    return lines, released
