"""Read and write one site's records as CSV, checking every cell on the way in.

Reading is linear in the size of the file: big files are read in blocks, plain blocks
parsed by pandas' C parser (:mod:`fedlab.data._blocks`), and any block that is not plain
re-read cell by cell with the ``csv`` module, which words the error messages.
"""

from __future__ import annotations

import collections
import csv
import io
import math
from pathlib import Path

import numpy as np

from fedlab._files import atomic_open

from ._blocks import PROGRESS_BYTES, blocks, count_line_ends, parse_plain
from .sites import Site

_SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'"}


def read_site_csv(path, *, target, features=None, schema=None, progress=False):
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
    progress : bool, default=False
        Show progress on standard error while reading a file of a few megabytes or more.

    Returns
    -------
    Site
        Named after the file (its stem), e.g. ``"clinic_a"`` for ``clinic_a.csv``.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    OSError
        If the file cannot be read (e.g. ``PermissionError``).
    ValueError
        Naming the file, the column, the data row (1 = the first row below the header)
        and the value: a missing column, a cell that is not a finite number, a value
        outside its plausible range, a target that is missing or not 0/1, an empty file;
        also a folder or pipe instead of a file, text that is not UTF-8, binary data.

    Notes
    -----
    Time and memory are linear in the size of the file (whatever its number of
    columns): the records go straight into one preallocated array, so the peak is about
    the size of ``X`` and ``y`` (8 bytes a cell) plus a few megabytes.

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
    with _open_site_file(path) as f:
        header = _read_header(f, where)
        features, inferred = _choose_columns(header, target, features, schema, where)
        table = _Table(where, header, features, target, schema=schema, inferred=inferred,
                       capacity=count_line_ends(f) + 1)
        size = path.stat().st_size
        label = where if progress and size >= PROGRESS_BYTES else None
        row = 0  # data records before the current block
        for block in blocks(f, label=label, size=size):
            plain = parse_plain(block, n_columns=len(header), usecols=table.usecols)
            if plain is not None and table.add_plain(plain[0]):
                row += plain[1]
            else:
                row += table.add_careful(_records(block, where, row + 1))
    return table.site(path.stem)


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
    path = Path(path)
    decimals = [getattr((schema or {}).get(name), "decimals", None)
                for name in site.feature_names]
    with atomic_open(path) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([*site.feature_names, target])
        for x_row, label in zip(site.X, site.y):
            cells = [_format(value, d) for value, d in zip(x_row, decimals)]
            writer.writerow([*cells, str(int(label))])
    return path


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


class _Table:
    """The records read so far, in arrays sized once for the whole file."""

    def __init__(self, where, header, features, target, *, schema, inferred, capacity):
        self.where, self.features, self.target = where, features, target
        self.schema, self.inferred, self.n_columns = schema, inferred, len(header)
        index = {name: i for i, name in enumerate(header)}
        self.positions = [index[name] for name in features]
        self.target_position = index[target]
        self.usecols = [*self.positions, self.target_position]
        self.X = np.empty((capacity, len(features)))
        self.y = np.empty(capacity, dtype=np.int64)
        self.n = 0
        columns = [None if schema is None else schema.get(name) for name in features]
        self.low = np.array([-np.inf if c is None else c.low for c in columns])
        self.high = np.array([np.inf if c is None else c.high for c in columns])
        self.binary = np.array([c is not None and c.binary for c in columns], dtype=bool)

    def add_plain(self, values):
        """Take parsed rows if every value passes the checks; else return False."""
        X, y = values[:, :-1], values[:, -1]
        bad = np.isinf(X) | (X < self.low) | (X > self.high)
        if self.binary.any():
            bad |= self.binary & (X != 0) & (X != 1) & ~np.isnan(X)
        if bad.any() or not np.isin(y, (0.0, 1.0)).all():
            return False  # the careful reader finds the cell and words the message
        self.X[self.n:self.n + len(X)] = X
        self.y[self.n:self.n + len(X)] = y
        self.n += len(X)
        return True

    def add_careful(self, records):
        """Check and take ``(row_number, cells)`` records one cell at a time.

        Returns the number of records seen, blank ones included.
        """
        seen = 0
        for row_number, cells in records:
            seen += 1
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if len(cells) != self.n_columns:
                hint = (" (decimal commas? write 61.5, not 61,5)"
                        if len(cells) > self.n_columns else "")
                raise ValueError(f"{self.where}: row {row_number} has {len(cells)} values "
                                 f"but the header has {self.n_columns} columns{hint}")
            self._add_row(row_number, cells)
        return seen

    def _add_row(self, row_number, cells):
        for j, (name, position) in enumerate(zip(self.features, self.positions)):
            try:
                self.X[self.n, j] = _parse_cell(cells[position], self.where, name, row_number,
                                                self.schema)
            except ValueError as error:
                if not self.inferred:
                    raise
                raise ValueError(f"{error}; to skip a non-numeric column such as an ID, "
                                 "pass features=[...] with the columns to read (on the "
                                 "command line: --features a,b,c)") from None
        self.y[self.n] = _parse_target(cells[self.target_position], self.where, self.target,
                                       row_number)
        self.n += 1

    def site(self, name):
        if self.n == 0:
            raise ValueError(f"{self.where}: no data rows below the header")
        return Site._adopt(name, self.X[:self.n], self.y[:self.n], self.features)


def _open_site_file(path):
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a CSV file")
    if not path.is_file():
        raise ValueError(f"{path}: is not a regular file (a pipe or a device?); "
                         "give a CSV file")
    return path.open("rb")


def _read_header(f, where):
    """The header's column names (stripped), from the first record of binary file ``f``."""
    first = f.readline()
    while first.count(b'"') % 2 and (more := f.readline()):
        first += more  # a quoted name spanning lines
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError(f"{where}: the file is UTF-16 text; save it as UTF-8 "
                         "(in Excel: 'CSV UTF-8')")
    first = first.removeprefix(b"\xef\xbb\xbf")  # the byte-order mark Excel writes
    records = _records(first, where, 0)
    if len(records) > 1:
        raise ValueError(f"{where}: lines end with a lone carriage return (old Mac format); "
                         "save the file with Windows or Unix line ends")
    header = records[0][1] if records else []
    if not any(cell.strip() for cell in header):
        raise ValueError(f"{where}: the file is empty (expected a header row of column names)")
    header = [name.strip() for name in header]
    counts = collections.Counter(header)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise ValueError(f"{where}: duplicate column names in the header: {duplicates}")
    return header


def _records(block, where, first_row):
    """The CSV records of a ``bytes`` block as ``(row_number, cells)``, errors named."""
    if b"\0" in block:
        raise ValueError(f"{where}: not a text CSV file (it holds NUL bytes: binary data, "
                         "or UTF-16 text?)")
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as err:
        row = first_row + block.count(b"\n", 0, err.start)
        line = "the header" if row == 0 else f"row {row}"
        raise ValueError(f"{where}: {line}: byte 0x{block[err.start]:02x} is not UTF-8 text; "
                         "save the file as UTF-8 (in Excel: 'CSV UTF-8')") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    records = []
    try:
        for offset, cells in enumerate(reader):
            records.append((first_row + offset, cells))
    except csv.Error as err:
        row = first_row + len(records)
        line = "the header" if row == 0 else f"row {row}"
        raise ValueError(f"{where}: {line}: {err} (is this a CSV file?)") from None
    return records


def _choose_columns(header, target, features, schema, where):
    """The feature names to read, and whether they were inferred from the header."""
    if schema is not None and features is None:
        features = tuple(name for name in schema if name != target)
    inferred = features is None
    if inferred:
        features = tuple(name for name in header if name != target)
    features = tuple(features)
    present = set(header)
    for name in (*features, target):
        if name not in present:
            expected = ", ".join((*features, target))
            raise ValueError(f"{where}: missing column '{name}' (expected columns: "
                             f"{expected}){_separator_hint(header)}")
    if target in features:
        raise ValueError(f"{where}: the target '{target}' cannot also be a feature")
    return features, inferred


def _separator_hint(header):
    if len(header) != 1:
        return ""
    for separator, said in _SEPARATORS.items():
        if separator in header[0]:
            return (f"; the header is one column '{header[0][:60]}': the file seems to use "
                    f"{said} between values, but fedlab reads comma-separated files (use ',' "
                    "between values and '.' as the decimal point)")
    return ""
