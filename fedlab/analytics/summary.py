"""A federated "Table 1": every column's count, mean, spread and quartiles, with suppression.

Each entry is computed from the sites' answers (:mod:`fedlab.analytics.stats`); an entry
that some site refused to contribute to is left out and the refusal is reported, as a
federated analysis platform would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .disclosure import DisclosureRefused
from .stats import _check_sites, combine_moments, federated_quantile

__all__ = ["Summary", "describe"]


@dataclass
class Summary:
    """The result of :func:`describe`: one row per column, ``None`` where suppressed.

    Attributes
    ----------
    rows : dict of str to dict
        Per column: ``n`` (observed values), ``missing``, ``mean``, ``std`` (sample,
        ``ddof=1``), and one entry per quantile (``"q25"``, ``"q50"``, ...): the value,
        or ``[low, high]`` when the sites refused to narrow it further than the interval
        ``(low, high]`` (the refusal is listed).
    refusals : list of str
        Why entries are missing: the site, the query and the rule, once per refusal.
    n_records : int or None
        Records at all sites together (``None`` if a site refused to count them).
    """

    rows: dict
    n_records: int
    refusals: list = field(default_factory=list)

    def to_dict(self):
        """A plain dict (for JSON): ``{"n_records", "columns", "refusals"}``."""
        return {"n_records": self.n_records, "columns": self.rows, "refusals": self.refusals}

    def format(self):
        """The table as text, suppressed entries shown as ``suppr.``, refusals below it.

        A quantile the sites would not narrow down to one value is shown as the interval
        ``(low, high]`` that holds it.
        """
        keys = [k for k in next(iter(self.rows.values()))]
        cells = {c: [_cell(row[k]) for k in keys] for c, row in self.rows.items()}
        widths = [max(10, len(_header(k)) + 2, *(len(v[j]) + 2 for v in cells.values()))
                  for j, k in enumerate(keys)]
        width = max(8, *(len(c) for c in self.rows)) + 2
        head = f"{'column':<{width}}" + "".join(f"{_header(k):>{w}}"
                                                for k, w in zip(keys, widths))
        total = "?" if self.n_records is None else self.n_records
        lines = [f"Federated summary of {total} records", head, "-" * len(head)]
        for column, values in cells.items():
            lines.append(f"{column:<{width}}" + "".join(f"{v:>{w}}"
                                                        for v, w in zip(values, widths)))
        if self.refusals:
            lines.append("")
            lines.append("suppr. = suppressed: a site refused to contribute; (a, b] = a "
                         "quantile the sites would not narrow further")
            lines.extend(f"  {r}" for r in self.refusals)
        return "\n".join(lines)

    def __str__(self):
        return self.format()


def describe(sites, columns=None, *, quantiles=(0.25, 0.5, 0.75)):
    """Summarise every column over all sites without pooling a record.

    Parameters
    ----------
    sites : sequence of DataSite
    columns : sequence of str, optional
        Defaults to every column of the first site.
    quantiles : sequence of float, default=(0.25, 0.5, 0.75)
        Found by bisection (:func:`federated_quantile`). Extreme ones (the minimum and the
        maximum) are refused by the disclosure rule, so none is asked for by default.

    Returns
    -------
    Summary

    Examples
    --------
    >>> from fedlab import data
    >>> from fedlab.analytics import DataSite
    >>> sites = [DataSite.from_hospital(h) for h in data.load_hospitals()]
    >>> table = describe(sites, ["age", "hdl"], quantiles=(0.5,))
    >>> table.rows["hdl"]["n"], table.rows["hdl"]["missing"]
    (3689, 135)
    """
    sites = _check_sites(sites)
    columns = list(sites[0].columns if columns is None else columns)
    summary = Summary(rows={}, n_records=None)
    try:
        summary.n_records = n_records = sum(site.count() for site in sites)
    except DisclosureRefused as refusal:  # a site of fewer than min_cell records
        summary.refusals.append(str(refusal))
        n_records = None
    for column in columns:
        row = {"n": None, "missing": None, "mean": None, "std": None}
        row.update({f"q{100 * q:g}": None for q in quantiles})
        summary.rows[column] = row
        try:
            count, mean, var = combine_moments(site.moments([column]) for site in sites)
        except DisclosureRefused as refusal:
            summary.refusals.append(str(refusal))
            continue
        n = int(count[0])
        row.update(n=n, missing=None if n_records is None else n_records - n)
        if n == 0:
            continue
        mean, var = float(mean[0]), float(var[0]) * n / max(n - 1, 1)
        if not (math.isfinite(mean) and math.isfinite(var)):
            what = "std" if math.isfinite(mean) else "mean and std"
            summary.refusals.append(f"{column}: the sums of its values or of their squares "
                                    f"overflow 64-bit floats (values of 1e154 or more): "
                                    f"{what} not shown")
        row.update(mean=mean if math.isfinite(mean) else None,
                   std=math.sqrt(var) if n > 1 and math.isfinite(var) else None)
        for q in quantiles:
            key = f"q{100 * q:g}"
            try:
                row[key] = federated_quantile(sites, column, q)
            except DisclosureRefused as refusal:
                interval = getattr(refusal, "interval", None)
                if interval is not None and all(map(math.isfinite, interval)):
                    row[key] = list(interval)
                summary.refusals.append(f"{key}: {refusal}")
    return summary


def _header(key):
    return {"q50": "median"}.get(key, key)


def _cell(value):
    if value is None:
        return "suppr."
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return f"({_number(value[0])}, {_number(value[1])}]"
    return _number(value)


def _number(value):
    value = value + 0.0
    return f"{value:.4g}" if value == 0 or 1e-4 <= abs(value) < 1e5 else f"{value:.3e}"
