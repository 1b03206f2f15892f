"""Reading a big CSV file block by block: the fast path of :func:`fedlab.data.read_site_csv`.

The file is read in blocks of a few megabytes cut at record boundaries. A block of plain
comma-separated numbers (no quotes, ``\\n`` or ``\\r\\n`` line ends) has its shape checked
with numpy (one count of commas per line) and its numbers parsed by pandas' C parser.
Anything unusual in a block (quotes, a cell that is not a plain number, a value out of
range) returns ``None`` so that the caller re-reads that block with the ``csv`` module,
cell by cell, which accepts the same files and words the precise error message. Work and
memory are linear in the size of the file, whatever its number of columns.
"""

from __future__ import annotations

import io

import numpy as np

BLOCK_BYTES = 1 << 19
"""Bytes read at a time (a block is then extended to the end of its last record)."""

PROGRESS_BYTES = 4 << 20
"""Files at least this big show progress while being read (when asked to)."""

_NARROW = 64  # columns up to which pandas parses a block column by column
_CR, _LF, _COMMA = ord("\r"), ord("\n"), ord(",")
_SIGNIFICANT = np.ones(256, dtype=bool)
_SIGNIFICANT[[9, _LF, _CR, 32, _COMMA]] = False  # tab, line ends, space, comma


def count_line_ends(f):
    """Number of ``\\n`` bytes from the current position of binary file ``f`` to its end."""
    start, count = f.tell(), 0
    while chunk := f.read(BLOCK_BYTES):
        count += chunk.count(b"\n")
    f.seek(start)
    return count


def blocks(f, *, label=None, size=0):
    """Yield the rest of binary file ``f`` as ``bytes`` blocks, each ending a record.

    A block ends at a line end that is outside quotes (an even number of ``"`` before
    it), so no record is split. With ``label``, a tqdm progress bar of the bytes read is
    drawn on standard error.
    """
    progress = None
    if label:
        from tqdm.auto import tqdm

        progress = tqdm(total=size, desc=f"reading {label}", unit="B", unit_scale=True,
                        leave=True)
    carry = b""
    try:
        while chunk := f.read(BLOCK_BYTES):
            buffer = carry + chunk
            cut = _record_end(buffer)
            if cut < 0:  # no complete record yet (a very long line): read on
                carry = buffer
                continue
            carry = buffer[cut + 1:]
            if progress:
                progress.update(f.tell() - len(carry) - progress.n)
            yield buffer[:cut + 1]
        if carry:
            yield carry if carry.endswith(b"\n") else carry + b"\n"
        if progress:
            progress.update(size - progress.n)
    finally:
        if progress:
            progress.close()


def parse_plain(block, *, n_columns, usecols):
    """Numbers of columns ``usecols`` in a block of plain CSV records, or ``None``.

    Parameters
    ----------
    block : bytes
        Whole records, each ending in ``\\n``.
    n_columns : int
        Number of columns of the header: every non-blank record must have as many.
    usecols : sequence of int
        Column positions to parse, in the order wanted.

    Returns
    -------
    values : ndarray of shape (n_records, len(usecols))
        The non-blank records; empty cells are ``nan``.
    n_lines : int
        Number of lines (records) in the block, blank ones included.

    ``None`` instead when the block needs the careful reader: quotes, NUL bytes, lone
    ``\\r`` line ends, a record with the wrong number of cells, a cell that pandas does
    not read as a number.
    """
    raw = np.frombuffer(block, dtype=np.uint8)
    if b'"' in block or b"\0" in block or block.count(b"\r") > block.count(b"\r\n"):
        return None
    ends = np.flatnonzero(raw == _LF)
    starts = np.concatenate(([0], ends[:-1] + 1))
    commas = np.add.reduceat(raw == _COMMA, starts, dtype=np.int64)
    blank = np.add.reduceat(_SIGNIFICANT[raw], starts, dtype=np.int64) == 0
    if np.any(commas[~blank] != n_columns - 1):
        return None
    n_kept = len(ends) - np.count_nonzero(blank)
    if n_kept == 0:
        return np.empty((0, len(usecols))), len(ends)
    if n_kept < len(ends):  # pandas would read a blank line of commas as a record of empty cells
        block = raw[np.repeat(~blank, ends - starts + 1)].tobytes()
    values = _pandas_numbers(block, n_columns, usecols)
    if values is None or len(values) != n_kept:
        return None
    return values, len(ends)


def _pandas_numbers(block, n_columns, usecols):
    """pandas' C parser on a checked block; ``None`` if a cell is not a plain number.

    pandas costs tens of microseconds per column and block, so a wide block (say 50,000
    columns) is parsed as a single column, one cell a line, and reshaped; a narrow one,
    column by column (about twice as fast per cell).
    """
    import pandas as pd  # a second to import: only for files that need it

    options = dict(header=None, dtype=np.float64, na_values=[""], keep_default_na=False,
                   engine="c")
    try:
        if n_columns <= _NARROW:
            order = sorted(set(usecols))
            values = pd.read_csv(io.BytesIO(block), usecols=order, **options).to_numpy()
            column = {position: j for j, position in enumerate(order)}
            return values[:, [column[position] for position in usecols]]
        cells = pd.read_csv(io.BytesIO(block.replace(b",", b"\n")), names=["cell"],
                            skip_blank_lines=False, **options)["cell"].to_numpy()
    except (ValueError, pd.errors.ParserError):  # a cell that is not a plain number
        return None
    if cells.size % n_columns:
        return None
    return cells.reshape(-1, n_columns)[:, usecols]


def _record_end(buffer):
    """Index of the last ``\\n`` of ``buffer`` outside quotes, or -1 (linear time)."""
    cut = buffer.rfind(b"\n")
    if cut < 0 or b'"' not in buffer:
        return cut
    quotes = buffer.count(b'"', 0, cut)
    while cut >= 0 and quotes % 2:
        previous = buffer.rfind(b"\n", 0, cut)
        quotes -= buffer.count(b'"', previous + 1, cut)
        cut = previous
    return cut
