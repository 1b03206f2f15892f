"""Read and write one site's records as CSV, checking every cell on the way in.

Reading is linear in the size of the file: big files are read in blocks, plain blocks
parsed by pandas' C parser (:mod:`fedlab.data._blocks`), and any block that is not plain
re-read cell by cell with the ``csv`` module, which words the error messages.
"""

from __future__ import annotations

import collections
import csv
import math
from pathlib import Path

from fedlab._files import atomic_open
from fedlab._validation import InvalidParameterError

from ._blocks import PROGRESS_BYTES, blocks, count_line_ends, parse_plain
from ._table import Table, records
from .schema import OUTCOMES

_SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'"}


def read_site_csv(path, *, target=None, features=None, schema=None, progress=False,
                  time=None, event=None, id_column=None):
    """Read one site's records from a CSV file and check them.

    Parameters
    ----------
    path : str or Path
        A CSV file with a header row of column names. Every feature cell is a number
        or empty (= missing, read as ``nan``); extra columns are ignored.
    target : str, default=None
        Name of the 0/1 label column (a binary outcome): every row must hold 0 or 1.
    features : sequence of str, default=None
        Feature columns, in the order wanted in ``X``. Default: the ``schema``'s
        features if a schema is given, else every column except the outcome and id
        columns named here and the outcome columns of the shipped data dictionary
        (``OUTCOMES``: ``cvd_10y``, ``cvd_time``, ``cvd_event``, ``noncvd_death``),
        which are never features.
    schema : mapping of str to Column, default=None
        Plausible ranges per column (e.g. ``fedlab.data.SCHEMA``). Without one, only
        "is a finite number" is checked.
    progress : bool, default=False
        Show progress on standard error while reading a file of a few megabytes or more.
    time, event : str, default=None
        A time-to-event outcome instead of ``target``: the observed time (a number
        >= 0 in every row) and the 0/1 event indicator (1 = event, 0 = censored).
    id_column : str, default=None
        A patient id column (text, unique, never empty): kept as ``Site.ids``.

    Returns
    -------
    Site
        Named after the file (its stem), e.g. ``"clinic_a"`` for ``clinic_a.csv``;
        with ``time`` and ``event``, ``y`` holds the events and ``Site.time`` the times.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    OSError
        If the file cannot be read (e.g. ``PermissionError``).
    ValueError
        Naming the file, the column, the data row (1 = the first row below the header)
        and the value: a missing column, a cell that is not a finite number, a value
        outside its plausible range, a target that is missing or not 0/1, a time that
        is missing or negative, a missing or repeated id, an empty file; also a folder
        or pipe instead of a file, text that is not UTF-8, binary data.

    Notes
    -----
    Time and memory are linear in the size of the file (whatever its number of
    columns): the records go straight into one preallocated array, so the peak is about
    the size of ``X`` and ``y`` (8 bytes a cell) plus a few megabytes. A file with text
    columns to read (an id) is read by the ``csv`` module throughout, a few times slower.

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
    if (target is None) == (time is None or event is None) or (target and (time or event)):
        raise InvalidParameterError("give target (a 0/1 outcome) or time and event (a "
                                    f"time-to-event outcome), got target={target!r}, "
                                    f"time={time!r}, event={event!r}")
    roles = {"target": target, "time": time, "event": event, "id": id_column}
    return read_records(path, roles=roles, features=features, schema=schema,
                        progress=progress)[0]


def read_records(path, *, roles, features=None, schema=None, progress=False):
    """The records of one site file and, with a split column, which are test records.

    ``roles`` maps ``"target"``, ``"time"``, ``"event"``, ``"split"`` and ``"id"`` to
    a column name or ``None`` (as :class:`fedlab.data.Dataset` names them). Returns
    ``(site, is_test)``: ``is_test`` is a boolean array, ``None`` without a split column.
    Errors as :func:`read_site_csv`'s, and for the split column a value other than
    exactly ``train`` or ``test`` (naming the row) or a side with no rows.
    """
    path = Path(path)
    where = path.name
    with _open_site_file(path) as f:
        header = _read_header(f, where)
        features, inferred = _choose_columns(header, roles, features, schema, where)
        table = Table(where, header, features, roles, schema=schema, inferred=inferred,
                      capacity=count_line_ends(f) + 1)
        _fill(table, f, path, progress)
        site = table.site(path.stem)
    return site, table.split_mask()


def read_table(path, *, columns=None, progress=False, column_option="--columns"):
    r"""Read a CSV file of numeric columns that has no outcome column.

    The same reader as :func:`read_site_csv` (linear in the file, every cell checked,
    empty cells read as ``nan``), for federated statistics and clustering.

    Parameters
    ----------
    path : str or Path
    columns : sequence of str, default=None
        The columns to read, in this order; default every column of the header.
    progress : bool, default=False
    column_option : str, default="--columns"
        The command-line option named in the hint when a column is not numeric.

    Returns
    -------
    columns : tuple of str
    X : ndarray of shape (n_records, n_columns)

    Examples
    --------
    >>> import pathlib, shutil, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.csv").write_text("age,sbp\n61,140\n45,\n")
    >>> read_table(folder / "a.csv")
    (('age', 'sbp'), array([[ 61., 140.],
           [ 45.,  nan]]))
    >>> shutil.rmtree(folder)
    """
    path = Path(path)
    where = path.name
    with _open_site_file(path) as f:
        header = _read_header(f, where)
        inferred = columns is None
        if inferred and _separator_hint(header):
            raise InvalidParameterError(f"{where}: {_separator_hint(header)[2:]}")
        columns = tuple(header) if inferred else tuple(columns)
        for name in columns:
            if name not in header:
                raise InvalidParameterError(f"{where}: missing column '{name}' (expected columns: "
                                 f"{', '.join(columns)}){_separator_hint(header)}")
        table = Table(where, header, columns, {}, schema=None, inferred=inferred,
                      capacity=count_line_ends(f) + 1, column_option=column_option)
        _fill(table, f, path, progress)
    return columns, table.values()


def _fill(table, f, path, progress):
    """Read every record of ``f`` after the header into ``table``, block by block."""
    size = path.stat().st_size
    label = path.name if progress and size >= PROGRESS_BYTES else None
    row = 0  # data records before the current block
    for block in blocks(f, label=label, size=size):
        plain = (parse_plain(block, n_columns=table.n_columns, usecols=table.usecols)
                 if table.plain_ok else None)
        if plain is not None and table.add_plain(plain[0]):
            row += plain[1]
        else:
            row += table.add_careful(records(block, path.name, row + 1))


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

    Notes
    -----
    The file is written under a temporary name and renamed when complete, so an error
    half-way leaves any previous file at ``path`` as it was.
    """
    if target in site.feature_names:
        raise InvalidParameterError(f"target {target!r} is also a feature of the site")
    columns = {name: site.X[:, j] for j, name in enumerate(site.feature_names)}
    columns[target] = site.y
    return write_columns(columns, path, schema=schema)


def write_columns(columns, path, *, schema=None):
    """Write named columns as CSV, in the mapping's order; ``nan`` as an empty cell.

    Parameters
    ----------
    columns : mapping of str to array-like of shape (n_records,)
        The columns, each with one value a record: numbers, or text (ids, names, dates:
        written as they are, quoted by the ``csv`` module where needed).
    path : str or Path
        Output file (its folder must exist), replaced atomically.
    schema : mapping of str to Column, default=None
        Decimals per column; others in Python's shortest round-trip form.

    Returns
    -------
    Path
    """
    path = Path(path)
    names = list(columns)
    decimals = [getattr((schema or {}).get(name), "decimals", None) for name in names]
    values = [columns[name] for name in names]
    with atomic_open(path) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(names)
        for row in zip(*values):
            writer.writerow([_format(value, d) for value, d in zip(row, decimals)])
    return path


def _format(value, decimals):
    if isinstance(value, str):
        return value  # an id, a name, a date
    value = float(value) + 0.0  # turns -0.0 into 0.0
    if math.isnan(value):
        return ""
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return str(int(value)) if value.is_integer() else repr(value)


def _open_site_file(path):
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise InvalidParameterError(f"{path}: is a folder, not a CSV file")
    if not path.is_file():
        raise InvalidParameterError(f"{path}: is not a regular file (a pipe or a device?); "
                         "give a CSV file")
    return path.open("rb")


def _read_header(f, where):
    """The header's column names (stripped), from the first record of binary file ``f``."""
    first = f.readline()
    while first.count(b'"') % 2 and (more := f.readline()):
        first += more  # a quoted name spanning lines
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidParameterError(f"{where}: the file is UTF-16 text; save it as UTF-8 "
                         "(in Excel: 'CSV UTF-8')")
    first = first.removeprefix(b"\xef\xbb\xbf")  # the byte-order mark Excel writes
    found = records(first, where, 0)
    if len(found) > 1:
        raise InvalidParameterError(
            f"{where}: lines end with a lone carriage return (old Mac format); "
            "save the file with Windows or Unix line ends"
        )
    header = found[0][1] if found else []
    if not any(cell.strip() for cell in header):
        raise InvalidParameterError(
            f"{where}: the file is empty (expected a header row of column names)"
        )
    header = [name.strip() for name in header]
    counts = collections.Counter(header)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise InvalidParameterError(f"{where}: duplicate column names in the header: {duplicates}")
    return header


_ROLE_NAMES = {"target": "target", "time": "time column", "event": "event column",
               "split": "split column", "id": "id column"}


def _choose_columns(header, roles, features, schema, where):
    """The feature names to read, and whether they were inferred from the header."""
    named = {column: role for role, column in roles.items() if column is not None}
    if schema is not None and features is None:
        features = tuple(name for name, column in schema.items()
                         if column.role == "feature" and name not in named)
    inferred = features is None
    if inferred:
        features = tuple(name for name in header if name not in named and name not in OUTCOMES)
    features = tuple(features)
    present = set(header)
    for name in (*features, *named):
        if name not in present:
            expected = ", ".join((*features, *named))
            raise InvalidParameterError(
                f"{where}: missing column '{name}' (expected columns: "
                f"{expected}){_separator_hint(header)}"
            )
    for name in features:
        if name in named:
            raise InvalidParameterError(
                f"{where}: the {_ROLE_NAMES[named[name]]} '{name}' cannot also be a feature")
    return features, inferred


def _separator_hint(header):
    if len(header) != 1:
        return ""
    for separator, said in _SEPARATORS.items():
        if separator in header[0]:
            return (
                f"; the header is one column '{header[0][:60]}': the file seems to use "
                f"{said} between values, but fedlab reads comma-separated files (use ',' "
                "between values and '.' as the decimal point)"
            )
    return ""
