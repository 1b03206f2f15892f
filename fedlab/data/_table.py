"""The records of one site file, checked cell by cell: what the CSV reader fills.

:class:`Table` holds arrays sized once for the whole file; plain blocks are added
as parsed numbers (:meth:`Table.add_plain`, after vectorised checks), any other block
record by record with the ``csv`` module (:meth:`Table.add_careful`), which words the
precise error: file, column, row and value.
"""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np

from fedlab._validation import InvalidParameterError

from .sites import Site


class Table:
    """The records read so far, in arrays sized once for the whole file.

    ``roles`` maps ``"target"``, ``"time"``, ``"event"``, ``"split"`` and ``"id"`` to the
    header's column of that role, or ``None``: a 0/1 ``target`` or ``event`` fills ``y``,
    a ``time`` (>= 0) fills ``time``, a ``split`` (text: exactly ``train`` or ``test``)
    fills ``is_test`` and an ``id`` (text, unique, never empty) fills ``ids``.
    """

    def __init__(self, where, header, features, roles, *, schema, inferred, capacity,
                 column_option="--features"):  # the option that names the columns
        self.where, self.features, self.roles = where, features, dict(roles)
        self.schema, self.inferred, self.n_columns = schema, inferred, len(header)
        self.column_option = column_option
        index = {name: i for i, name in enumerate(header)}
        self.positions = [index[name] for name in features]
        label = self.roles.get("target") or self.roles.get("event")
        self.label = None if label is None else (label, index[label])
        time = self.roles.get("time")
        self.time_column = None if time is None else (time, index[time])
        self.text = {role: (self.roles[role], index[self.roles[role]])
                     for role in ("split", "id") if self.roles.get(role)}
        self.usecols = [*self.positions] + [position for column in (self.label,
                                                                   self.time_column)
                                            if column for position in column[1:]]
        self.X = np.empty((capacity, len(features)))
        self.y = np.empty(capacity, dtype=np.int64)
        self.time = np.empty(capacity) if time else None
        self.is_test = np.empty(capacity, dtype=bool) if "split" in self.text else None
        self.ids = [] if "id" in self.text else None
        self._first_row_of_id = {}
        self.n = 0
        columns = [None if schema is None else schema.get(name) for name in features]
        self.low = np.array([-np.inf if c is None else c.low for c in columns])
        self.high = np.array([np.inf if c is None else c.high for c in columns])
        self.binary = np.array([c is not None and c.binary for c in columns], dtype=bool)

    @property
    def plain_ok(self):
        """Whether a block of plain numbers can hold every column read (no text columns)."""
        return not self.text

    def add_plain(self, values):
        """Take parsed rows if every value passes the checks; else return False."""
        k = len(self.positions)
        X = values[:, :k]
        bad = np.isinf(X) | (X < self.low) | (X > self.high)
        if self.binary.any():
            bad |= self.binary & (X != 0) & (X != 1) & ~np.isnan(X)
        rest = k
        y = time = None
        if self.label is not None:
            y, rest = values[:, rest], rest + 1
            if not np.isin(y, (0.0, 1.0)).all():
                return False
        if self.time_column is not None:
            time = values[:, rest]
            if not np.all(np.isfinite(time) & (time >= 0)):
                return False
        if bad.any():
            return False  # the careful reader finds the cell and words the message
        rows = slice(self.n, self.n + len(X))
        self.X[rows] = X
        if y is not None:
            self.y[rows] = y
        if time is not None:
            self.time[rows] = time
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
                raise InvalidParameterError(
                    f"{self.where}: row {row_number} has {len(cells)} values "
                    f"but the header has {self.n_columns} columns{hint}"
                )
            self._add_row(row_number, cells)
        return seen

    def _add_row(self, row_number, cells):
        for j, (name, position) in enumerate(zip(self.features, self.positions)):
            try:
                self.X[self.n, j] = _parse_cell(
                    cells[position], self.where, name, row_number, self.schema
                )
            except ValueError as error:
                if not self.inferred:
                    raise
                argument = self.column_option.lstrip("-")
                raise InvalidParameterError(
                    f"{error}; to skip a non-numeric column such as an ID, "
                    f"pass {argument}=[...] with the columns to read (on the "
                    f"command line: pass {self.column_option} a,b,c)"
                ) from None
        if self.label is not None:
            name, position = self.label
            what = "target" if self.roles.get("target") else "event indicator"
            self.y[self.n] = _parse_target(cells[position], self.where, name, row_number, what)
        if self.time_column is not None:
            name, position = self.time_column
            self.time[self.n] = _parse_time(cells[position], self.where, name, row_number)
        if "split" in self.text:
            name, position = self.text["split"]
            self.is_test[self.n] = _parse_split(cells[position], self.where, name, row_number)
        if "id" in self.text:
            self.ids.append(self._parse_id(cells[self.text["id"][1]], row_number))
        self.n += 1

    def _parse_id(self, text, row_number):
        name = self.text["id"][0]
        patient = text.strip()
        if not patient:
            raise InvalidParameterError(f"{self.where}: column '{name}' row {row_number}: the "
                                        "patient id is missing (every row needs one)")
        first = self._first_row_of_id.setdefault(patient, row_number)
        if first != row_number:
            raise InvalidParameterError(f"{self.where}: column '{name}' row {row_number}: "
                                        f"patient id {patient!r} is also in row {first} "
                                        "(ids must be unique)")
        return patient

    def values(self):
        """The records read, shape (n_records, n_features); an error if there are none."""
        if self.n == 0:
            raise InvalidParameterError(f"{self.where}: no data rows below the header")
        return self.X[: self.n]

    def site(self, name):
        """The records read as a ``Site`` (an error if there are none)."""
        if self.n == 0:
            raise InvalidParameterError(f"{self.where}: no data rows below the header")
        return Site._adopt(name, self.X[: self.n], self.y[: self.n], self.features,
                           time=None if self.time is None else self.time[: self.n],
                           ids=self.ids)

    def split_mask(self):
        """``is_test`` of every record (``None`` without a split column); an error if a
        side is empty."""
        if self.is_test is None:
            return None
        is_test, name = self.is_test[: self.n], self.text["split"][0]
        for side, count in (("train", np.count_nonzero(~is_test)),
                            ("test", np.count_nonzero(is_test))):
            if count == 0:
                raise InvalidParameterError(f"{self.where}: column '{name}' has no '{side}' "
                                            "rows (a split needs both train and test rows)")
        return is_test


def records(block, where, first_row):
    """The CSV records of a ``bytes`` block as ``(row_number, cells)``, errors named."""
    if b"\0" in block:
        raise InvalidParameterError(
            f"{where}: not a text CSV file (it holds NUL bytes: binary data, or UTF-16 text?)"
        )
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as err:
        row = first_row + block.count(b"\n", 0, err.start)
        line = "the header" if row == 0 else f"row {row}"
        raise InvalidParameterError(
            f"{where}: {line}: byte 0x{block[err.start]:02x} is not UTF-8 text; "
            "save the file as UTF-8 (in Excel: 'CSV UTF-8')"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    records = []
    try:
        for offset, cells in enumerate(reader):
            records.append((first_row + offset, cells))
    except csv.Error as err:
        row = first_row + len(records)
        line = "the header" if row == 0 else f"row {row}"
        raise InvalidParameterError(f"{where}: {line}: {err} (is this a CSV file?)") from None
    return records


def _parse_cell(text, where, name, row_number, schema):
    text = text.strip()
    if text == "":
        return math.nan
    value = _to_float(text, where, name, row_number)
    column = None if schema is None else schema.get(name)
    if column is None:
        return value
    if column.binary and value not in (0.0, 1.0):
        raise InvalidParameterError(
            f"{where}: column '{name}' row {row_number}: value {text} is not 0 or 1"
        )
    if not column.low <= value <= column.high:
        raise InvalidParameterError(
            f"{where}: column '{name}' row {row_number}: value {text} is outside the "
            f"plausible range {column.low:g}-{column.high:g} {column.unit}"
        )
    return value


def _parse_target(text, where, name, row_number, what="target"):
    text = text.strip()
    if text == "":
        raise InvalidParameterError(
            f"{where}: column '{name}' row {row_number}: the {what} is missing "
            "(every row needs 0 or 1)"
        )
    value = _to_float(text, where, name, row_number)
    if value not in (0.0, 1.0):
        raise InvalidParameterError(
            f"{where}: column '{name}' row {row_number}: value {text} is not a valid "
            f"{what} (it must be 0 or 1)"
        )
    return int(value)


def _parse_time(text, where, name, row_number):
    text = text.strip()
    if text == "":
        raise InvalidParameterError(f"{where}: column '{name}' row {row_number}: the time is "
                                    "missing (every row needs a time >= 0)")
    value = _to_float(text, where, name, row_number)
    if not value >= 0:
        raise InvalidParameterError(f"{where}: column '{name}' row {row_number}: value {text} "
                                    "is not a valid time (it must be a number >= 0)")
    return value


def _parse_split(text, where, name, row_number):
    if text == "test":
        return True
    if text == "train":
        return False
    raise InvalidParameterError(f"{where}: column '{name}' row {row_number}: {text!r} is "
                                "not a split (the split column holds exactly 'train' or "
                                "'test')")


_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A plain decimal number in ASCII, as pandas' C parser reads it: ``61``, ``-0.5``, ``1e5``.

Python's ``float`` also takes ``1_000``, other scripts' digits and ``inf``: refused here."""


def _to_float(text, where, name, row_number):
    if not _PLAIN_NUMBER.fullmatch(text):
        if text.lower().lstrip("+-") in ("inf", "infinity", "nan"):
            raise InvalidParameterError(
                f"{where}: column '{name}' row {row_number}: {text!r} is not a finite number "
                "(leave the cell empty for a missing value)"
            )
        raise InvalidParameterError(
            f"{where}: column '{name}' row {row_number}: {text!r} is not a number "
            "(write a plain decimal such as 61 or 61.5; leave the cell empty for a missing "
            "value)"
        )
    value = float(text)
    if not math.isfinite(value):
        raise InvalidParameterError(
            f"{where}: column '{name}' row {row_number}: {text!r} is not a finite number "
            "(leave the cell empty for a missing value)"
        )
    return value
