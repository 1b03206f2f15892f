"""The ``describe`` and ``kmeans`` commands on users' per-site CSV files.

``python -m fedlab describe --site a.csv --site b.csv`` prints a federated summary table;
``python -m fedlab kmeans --site a.csv --site b.csv --k 3`` clusters the records. Each
file plays one site: the command reads it as that site would and shares only what the
site would send.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from fedlab._files import check_log_file, json_report
from fedlab._validation import InvalidParameterError
from fedlab.data import csvio, parse_columns

from .disclosure import DEFAULT_MIN_CELL
from .site import DataSite
from .stats import combine_moments
from .summary import describe

__all__ = ["read_site_tables", "describe_command", "kmeans_command"]


def read_site_tables(paths, *, columns=None):
    """Read numeric per-site CSV files: the sites' names, the column names and the arrays.

    Parameters
    ----------
    paths : sequence of str or Path
        One CSV file per site, named after the file's stem; a header row, then numbers
        (an empty cell is a missing value).
    columns : sequence of str, optional
        The columns to read, in this order; default every column of the first file.

    Returns
    -------
    names : list of str
    columns : tuple of str
    arrays : list of ndarray of shape (n_records_k, n_columns)

    Raises
    ------
    ValueError
        Naming the file, the column and the row: a missing file or column, a cell that is
        not a number, an empty file or one without data rows, two files with one name.
    """
    names, arrays = [], []
    for path in paths:
        path = Path(path)
        columns, X = csvio.read_table(path, columns=columns)
        names.append(path.stem)
        arrays.append(X)
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"--site files must have distinct names, got {names}")
    return names, columns, arrays


def describe_command(paths, *, columns=None, min_cell=DEFAULT_MIN_CELL, audit_log=None,
                     json_path=None, force=False, time=None, event=None, km_step=1.0):
    """Print the federated summary of every column (``python -m fedlab describe``).

    With ``audit_log``, every site checks each query against the answers it gave in
    earlier runs (:class:`fedlab.analytics.audit.AuditLog`); a record is recognised by a
    hash of its line in the file, so a record edited in any column is a new record.
    With ``time`` and ``event`` (a time-to-event outcome) also the sites' federated
    Kaplan-Meier curve on a grid of ``km_step`` (:mod:`fedlab.analytics.survival`).
    """
    if (time is None) != (event is None):
        raise InvalidParameterError(f"{'--time' if time else '--event'} needs "
                                    f"{'--event' if time else '--time'} too: a Kaplan-Meier "
                                    "curve needs a time and an event column")
    if audit_log is not None:
        audit_log = check_log_file(audit_log, option="--audit-log",
                                   inputs=[*paths, *([json_path] if json_path else [])])
    with json_report(json_path, force=force, inputs=paths) as write:
        return _describe(write, paths, columns, min_cell, audit_log, time, event, km_step)


def _describe(write, paths, columns, min_cell, audit_log, time=None, event=None, km_step=1.0):
    from .survival import kaplan_meier_table, read_survival_columns

    pairs = None if time is None else read_survival_columns(paths, time=time, event=event)
    names, columns, arrays = read_site_tables(
        paths, columns=parse_columns(columns, option="--columns"))
    sites = [DataSite(X, columns, name=name, min_cell=min_cell, audit=audit_log,
                      record_ids=line_ids(path, len(X)))
             for name, X, path in zip(names, arrays, paths)]
    audited = (f"; answers checked against the {sum(map(len, (s.audit for s in sites)))} "
               f"groups answered before in {audit_log}" if audit_log else
               "; no --audit-log: answers are compared within this run only")
    summary = describe(sites)
    print(f"{len(sites)} sites: {', '.join(names)}; cells of fewer than {min_cell} "
          f"patients are refused{audited}")
    print(summary.format())
    released = {}
    if pairs is not None:
        lines, released["kaplan_meier"] = kaplan_meier_table(pairs, step=km_step,
                                                             min_cell=min_cell)
        print("\n" + "\n".join(lines))
    write({"sites": names, "min_cell": min_cell, **summary.to_dict(), **released})
    return 0


def line_ids(path, n_records):
    """A 64-bit identity of each data record of a CSV file: CRC-32 and Adler-32 of its line.

    ``None`` (the records' values then identify them) if the lines are not one record
    each (a quoted line break) or the header spans lines.
    """
    lines = [line.rstrip(b"\r\n") for line in Path(path).read_bytes().split(b"\n")[1:]]
    lines = [line for line in lines if line.strip(b" \t,")]
    if len(lines) != n_records or any(b'"' in line for line in lines):
        return None
    return np.array([zlib.crc32(line) << 32 | zlib.adler32(line) for line in lines],
                    dtype=np.uint64)


def kmeans_command(paths, *, k, columns=None, max_iter=300, secure_aggregation=False,
                   min_cell=DEFAULT_MIN_CELL, seed=None, json_path=None, force=False):
    """Federated k-means on standardized columns (``python -m fedlab kmeans``).

    Each site standardizes with the federated mean and standard deviation and fills a
    missing value with the mean (0 after standardization), as lesson 03b's federated
    preprocessing does; the centres are printed back in the columns' own units. A
    site's cluster of 1 to ``min_cell - 1`` records is suppressed every round. With
    secure aggregation the ring is sized from the sites' sizes: a standardized value is
    at most ``sqrt(N - 1)`` in size (Samuelson's inequality), so every number a site
    sends is at most ``n_max * 4 d N`` (``n_max`` its largest site, ``d`` columns).
    """
    with json_report(json_path, force=force, inputs=paths) as write:
        return _kmeans(write, paths, k, columns, max_iter, secure_aggregation, min_cell,
                       seed)


def _kmeans(write, paths, k, columns, max_iter, secure_aggregation, min_cell, seed):
    from fedlab.kmeans import FederatedKMeans

    names, columns, arrays = read_site_tables(paths,
                                              columns=parse_columns(columns, option="--columns"))
    total = sum(len(X) for X in arrays)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= total:
        raise InvalidParameterError(f"--k must be between 1 and the {total} records of all sites "
                         f"together, got {k}")
    sites = [DataSite(X, columns, name=name, min_cell=min_cell)
             for name, X in zip(names, arrays)]
    _, mean, var = combine_moments(site.moments() for site in sites)
    if np.isnan(mean).any():
        empty = [c for c, m in zip(columns, mean) if np.isnan(m)]
        raise InvalidParameterError(f"columns {empty} have no value at any site")
    scale = np.where(var > 1e-24, np.sqrt(var), 1.0)
    standardized = [np.nan_to_num((X - mean) / scale, nan=0.0) for X in arrays]
    bound = max(len(X) for X in arrays) * 4 * len(columns) * total  # Samuelson: |z|^2 < N
    model = FederatedKMeans(k, max_iter=max_iter, secure_aggregation=secure_aggregation,
                            min_cell=min_cell, secagg_range=float(bound),
                            random_state=seed).fit(standardized, site_names=names)

    centres = mean + model.cluster_centers_ * scale
    width = max(10, *(len(c) for c in columns)) + 2
    print(f"Federated k-means, k = {k}, on {total} records at {len(names)} sites "
          f"({'secure aggregation' if secure_aggregation else 'sums sent in the clear'})")
    for name, X in zip(names, arrays):
        missing = int(np.isnan(X).any(axis=1).sum())
        if missing:
            print(f"  {name}: {missing} record(s) with missing values filled with the mean")
    print(f"{'cluster':<{width}}" + "".join(f"{j:>10}" for j in range(k)))
    print(f"{'records':<{width}}" + "".join(f"{n:>10.0f}" for n in model.cluster_sizes_))
    for c, column in enumerate(columns):
        print(f"{column:<{width}}" + "".join(f"{round(v, 6) + 0.0:>10.4g}"
                                             for v in centres[:, c]))
    if model.n_suppressed_:  # how many is itself a small count: not printed
        print(f"some records were in a site's cluster of fewer than {min_cell}: left out of "
              "that site's sums (suppressed)")
    print(f"inertia {model.inertia_:.4g} (standardized units), {model.n_iter_} rounds; bytes "
          "sent: " + ", ".join(f"{n} {b:,}" for n, b in zip(names, model.bytes_sent_)))
    write({
        "sites": names, "columns": list(columns), "n_clusters": k,
        "secure_aggregation": secure_aggregation, "min_cell": min_cell,
        "suppressed": bool(model.n_suppressed_), "centres": centres.tolist(),
        "centres_standardized": model.cluster_centers_.tolist(),
        "cluster_sizes": model.cluster_sizes_.tolist(), "inertia": model.inertia_,
        "n_iter": model.n_iter_,
        "bytes_sent": dict(zip(names, (int(b) for b in model.bytes_sent_)))})
    return 0

