"""Read and write one site's records as CSV, checking every cell on the way in."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from .sites import Site


def read_site_csv(path, *, target, features=None, schema=None):
    """Read one site's records from a CSV file and check them.

    Parameters
    ----------
    path : str or Path
        A CSV file with a header row of column names. Every feature cell is a number
        or empty (= missing, read as ``nan``); extra columns are ignored.
    target : str
        Name of the label column: every row must hold 0 or 1.
    features : sequence of str, default=None
        Feature columns, in the order wanted in ``X``. Default: the ``schema``'s
        features if a schema is given, else every column except ``target``.
    schema : mapping of str to Column, default=None
        Plausible ranges per column (e.g. ``fedlab.data.SCHEMA``). Without one, only
        "is a finite number" is checked.

    Returns
    -------
    Site
        Named after the file (its stem), e.g. ``"clinic_a"`` for ``clinic_a.csv``.

    Raises
    ------
    ValueError
        Naming the file, the column, the data row (1 = the first row below the header)
        and the value: a missing column, a cell that is not a finite number, a value
        outside its plausible range, a target that is missing or not 0/1, an empty file.

    Examples
    --------
    >>> import pathlib, shutil, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "clinic_a.csv").write_text("age,sbp,event\\n61,140,1\\n45,,0\\n")
    >>> site = read_site_csv(folder / "clinic_a.csv", target="event")
    >>> site.name, site.feature_names
    ('clinic_a', ('age', 'sbp'))
    >>> site.X
    array([[ 61., 140.],
           [ 45.,  nan]])
    >>> shutil.rmtree(folder)
    """
    path = Path(path)
    where = path.name
    header, rows = _read_rows(path)
    if schema is not None and features is None:
        features = tuple(name for name in schema if name != target)
    inferred = features is None
    if inferred:
        features = tuple(name for name in header if name != target)
    features = tuple(features)
    expected = ", ".join((*features, target))
    for name in (*features, target):
        if name not in header:
            raise ValueError(f"{where}: missing column '{name}' (expected columns: {expected})")
    if target in features:
        raise ValueError(f"{where}: the target '{target}' cannot also be a feature")

    X = np.empty((len(rows), len(features)))
    y = np.empty(len(rows), dtype=np.int64)
    positions = [header.index(name) for name in features]
    target_position = header.index(target)
    for i, (row_number, row) in enumerate(rows):
        for j, (name, position) in enumerate(zip(features, positions)):
            try:
                X[i, j] = _parse_cell(row[position], where, name, row_number, schema)
            except ValueError as error:
                if not inferred:
                    raise
                raise ValueError(f"{error}; to skip a non-numeric column such as an ID, "
                                 "pass features=[...] with the columns to read (on the "
                                 "command line: --features a,b,c)") from None
        y[i] = _parse_target(row[target_position], where, target, row_number)
    return Site(path.stem, X, y, features)


def write_site_csv(site, path, *, target="cvd_10y", schema=None):
    """Write a ``Site`` as CSV: features then ``target``, empty cells for ``nan``.

    Parameters
    ----------
    site : Site
        The records to write.
    path : str or Path
        Output file (its folder must exist).
    target : str, default="cvd_10y"
        Header of the label column.
    schema : mapping of str to Column, default=None
        Gives the number of decimals per column; columns it does not list are written
        in Python's shortest round-trip form.

    Returns
    -------
    Path
        The file written. Same site, same bytes (``'\\n'`` line endings, UTF-8).
    """
    path = Path(path)
    decimals = [getattr((schema or {}).get(name), "decimals", None)
                for name in site.feature_names]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([*site.feature_names, target])
        for x_row, label in zip(site.X, site.y):
            cells = [_format(value, d) for value, d in zip(x_row, decimals)]
            writer.writerow([*cells, str(int(label))])
    return path


def _read_rows(path):
    """Header (stripped names) and the non-blank data rows as (row_number, cells)."""
    where = path.name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as f:
        lines = list(csv.reader(f))
    if not lines or not any(cell.strip() for cell in lines[0]):
        raise ValueError(f"{where}: the file is empty (expected a header row of column names)")
    header = [name.strip() for name in lines[0]]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise ValueError(f"{where}: duplicate column names in the header: {duplicates}")
    rows = []
    for row_number, cells in enumerate(lines[1:], start=1):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(cells) != len(header):
            raise ValueError(
                f"{where}: row {row_number} has {len(cells)} values "
                f"but the header has {len(header)} columns"
            )
        rows.append((row_number, cells))
    if not rows:
        raise ValueError(f"{where}: no data rows below the header")
    return header, rows


def _parse_cell(text, where, name, row_number, schema):
    text = text.strip()
    if text == "":
        return math.nan
    value = _to_float(text, where, name, row_number)
    column = None if schema is None else schema.get(name)
    if column is None:
        return value
    if column.binary and value not in (0.0, 1.0):
        raise ValueError(f"{where}: column '{name}' row {row_number}: value {text} is not 0 or 1")
    if not column.low <= value <= column.high:
        raise ValueError(
            f"{where}: column '{name}' row {row_number}: value {text} is outside the "
            f"plausible range {column.low:g}-{column.high:g} {column.unit}"
        )
    return value


def _parse_target(text, where, name, row_number):
    text = text.strip()
    if text == "":
        raise ValueError(
            f"{where}: column '{name}' row {row_number}: the target is missing "
            "(every row needs 0 or 1)"
        )
    value = _to_float(text, where, name, row_number)
    if value not in (0.0, 1.0):
        raise ValueError(
            f"{where}: column '{name}' row {row_number}: value {text} is not a valid "
            "target (it must be 0 or 1)"
        )
    return int(value)


def _to_float(text, where, name, row_number):
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"{where}: column '{name}' row {row_number}: {text!r} is not a number "
            "(leave the cell empty for a missing value)"
        ) from None
    if not math.isfinite(value):
        raise ValueError(
            f"{where}: column '{name}' row {row_number}: {text!r} is not a finite number "
            "(leave the cell empty for a missing value)"
        )
    return value


def _format(value, decimals):
    value = float(value) + 0.0  # turns -0.0 into 0.0
    if math.isnan(value):
        return ""
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return str(int(value)) if value.is_integer() else repr(value)
