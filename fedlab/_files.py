"""Safe output files: check them before the work, write them whole or not at all.

Two rules keep a user's files safe (the command line and every writer of the package use
them): an output is written to a temporary file in the same folder and renamed onto its
name only when complete (a crash or a full disk leaves the old file whole), and the
command line refuses to replace an existing file unless told to (``--force``), and never
writes onto one of its own inputs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from fedlab._validation import InvalidParameterError

__all__ = ["PendingFile", "atomic_open", "check_log_file", "check_new_file",
           "check_output_folder", "json_report", "write_new", "open_new", "FileKept"]


def check_new_file(path, *, option, force=False, inputs=()):
    """Check that ``path`` may receive a new output file; return it as a ``Path``.

    Parameters
    ----------
    path : str or Path
        The file to be written.
    option : str
        What the user called it (e.g. ``"--json"``), named in every message.
    force : bool, default=False
        Allow replacing an existing regular file.
    inputs : sequence of str or Path, default=()
        Files the command reads: writing onto one is refused even with ``force``.

    Raises
    ------
    ValueError
        If the path is empty, a folder, in a folder that does not exist, one of the
        inputs, not a regular file, or an existing file without ``force``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> check_new_file(folder / "out.json", option="--json").name
    'out.json'
    >>> check_new_file(folder, option="--json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fedlab._validation.InvalidParameterError: --json ...: is a folder; give a file name ...
    """
    path = _nonempty_path(path, option)
    if path.is_dir():
        raise InvalidParameterError(f"{option} {path}: is a folder; give a file name inside it, "
                         f"e.g. {path / 'metrics.json'}")
    parent = path.parent
    if not parent.exists():
        raise InvalidParameterError(f"{option} {path}: the folder {parent} does not exist")
    if not parent.is_dir():
        raise InvalidParameterError(f"{option} {path}: {parent} is not a folder")
    for source in inputs:
        if _same_file(path, source):
            raise InvalidParameterError(f"{option} {path}: this file is an input of the command; "
                             "choose another output file")
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise InvalidParameterError(f"{option} {path}: exists and is not a regular file")
        if not force:
            raise InvalidParameterError(
                f"{option} {path}: the file already exists; fedlab replaces no "
                "existing file (pass --force to replace it)"
            )
    return path


def check_log_file(path, *, option, inputs=()):
    """Check that ``path`` may be a log that is appended to (and never rewritten).

    An existing regular file is fine (it is only appended to); a folder, a missing
    folder, a special file or one of the command's inputs is refused.

    Examples
    --------
    >>> import tempfile
    >>> check_log_file(Path(tempfile.mkdtemp()) / "audit.jsonl", option="--audit-log").name
    'audit.jsonl'
    """
    path = _nonempty_path(path, option)
    if path.is_dir():
        raise InvalidParameterError(f"{option} {path}: is a folder; give a file name inside it")
    if not path.parent.is_dir():
        raise InvalidParameterError(f"{option} {path}: the folder {path.parent} does not exist")
    for source in inputs:
        if _same_file(path, source):
            raise InvalidParameterError(f"{option} {path}: this file is an input of the "
                                        "command; choose another file")
    if path.exists() and not path.is_file():
        raise InvalidParameterError(f"{option} {path}: exists and is not a regular file")
    return path


def check_output_folder(folder, names, *, option, force=False):
    """Check that ``folder`` may receive the files ``names``; return the folder as a ``Path``.

    The folder may exist (it is created later if not); none of the files may exist
    unless ``force``.

    Raises
    ------
    ValueError
        If the path is empty or a file, or one of the files exists without ``force``.
    """
    folder = _nonempty_path(folder, option)
    if folder.exists() and not folder.is_dir():
        raise InvalidParameterError(f"{option} {folder}: is a file, not a folder")
    existing = [name for name in names if (folder / name).exists()]
    if existing and not force:
        which = (
            f"{existing[0]} already exists"
            if len(existing) == 1
            else f"{existing[0]} and {len(existing) - 1} more already exist"
        )
        raise InvalidParameterError(
            f"{option} {folder}: {which}; fedlab replaces no existing file "
            "(pass --force to replace them)"
        )
    for name in existing:
        if not (folder / name).is_file():
            raise InvalidParameterError(
                f"{option} {folder / name}: exists and is not a regular file"
            )
    return folder


@contextlib.contextmanager
def json_report(path, *, force=False, inputs=(), option="--json"):
    r"""Reserve a command's JSON output now; yield ``write(content)``; never leave a stub.

    The file is checked (:func:`check_new_file`) and reserved before the command's work,
    so a bad ``--json`` fails at once; ``write`` saves ``content`` as strict JSON (RFC 8259:
    a NaN or infinity is refused, never written as a ``NaN`` token that JSON parsers
    reject), whole, and says where. Without ``path`` (no ``--json``), ``write`` does
    nothing. If the work fails, nothing is written and the reservation is removed.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out.json"
    >>> with json_report(target) as write:
    ...     write({"auc": 0.8})
    written to ...out.json
    >>> target.read_text()
    '{\n  "auc": 0.8\n}\n'
    """
    if not path:
        yield lambda content: None
        return
    pending = PendingFile(check_new_file(path, option=option, force=force, inputs=inputs))

    def write(content):
        import json

        try:  # strict JSON: a NaN or infinity must have been made null (with its reason)
            text = json.dumps(content, indent=2, allow_nan=False, default=_plain)
        except ValueError as err:
            raise InvalidParameterError(f"{option} {pending.path}: the report holds a value "
                                        f"JSON cannot carry ({err}); nothing was written") from None
        pending.commit(text + "\n")
        print(f"written to {pending.path}")

    try:
        yield write
    finally:
        pending.discard()


def _plain(value):
    """numpy arrays and scalars as Python lists and numbers (for ``json.dumps``)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


class PendingFile:
    """An output file reserved now and written whole later (or not at all).

    Creating it makes an empty temporary file next to ``path``, so an unwritable folder
    fails at once, before any long work. :meth:`commit` writes the text and renames the
    temporary file onto ``path``; :meth:`discard` removes it.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "metrics.json"
    >>> pending = PendingFile(target)
    >>> target.exists()
    False
    >>> pending.commit("{}\\n")
    >>> target.read_text()
    '{}\\n'
    """

    def __init__(self, path):
        self.path = Path(path)
        self._file, self._tmp = _open_temporary(self.path)

    def commit(self, text, *, replace=True):
        """Write ``text`` (UTF-8) and move the file into place.

        With ``replace=False`` a file that appeared at ``path`` meanwhile is kept: the
        text is then kept too, under a visible name next to it, and :class:`FileKept`
        (a ``FileExistsError``) says where.
        """
        try:
            with self._file as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            if replace:
                os.replace(self._tmp, self.path)
                return
            _place_new(self._tmp, self.path)
        except FileExistsError:
            kept = _visible_copy(self._tmp, self.path)
            raise FileKept(self.path, kept) from None
        except OSError as err:
            self.discard()
            raise _about(err, self.path) from None

    def discard(self):
        """Remove the temporary file (nothing is written); safe to call twice."""
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)


@contextlib.contextmanager
def atomic_open(path):
    """Open ``path`` for writing text through a temporary file renamed on success.

    Yields a text file (UTF-8, no newline translation). If the block raises, the
    temporary file is removed and ``path`` is left as it was.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.csv"
    >>> with atomic_open(target) as f:
    ...     _ = f.write("x\\n1\\n")
    >>> target.read_text()
    'x\\n1\\n'
    """
    pending = PendingFile(path)
    try:
        yield pending._file
        pending._file.flush()
        os.fsync(pending._file.fileno())
        pending._file.close()
        os.replace(pending._tmp, pending.path)
    except OSError as err:
        pending.discard()
        raise _about(err, pending.path) from None
    except BaseException:
        pending.discard()
        raise


class FileKept(FileExistsError):
    """An output's name was taken while the work ran: the existing file and the output are kept.

    Attributes
    ----------
    path : Path
        The name asked for (the file there was left alone).
    kept : Path
        Where the output was written instead.
    """

    def __init__(self, path, kept):
        super().__init__(errno.EEXIST, f"a file of that name appeared while fedlab worked; it "
                                       f"was left alone and the output is in {kept}", str(path))
        self.path, self.kept = Path(path), Path(kept)


def write_new(path, content):
    """Write ``content`` (str: UTF-8, or bytes) to a new file ``path`` whole; replace none.

    Raises
    ------
    FileExistsError
        If ``path`` exists (a file, a folder or a link); it is left as it was.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "config.toml"
    >>> write_new(target, "x = 1\\n")
    >>> write_new(target, "x = 2\\n")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileExistsError: [Errno 17] exists already; fedlab replaces no file it did not create: ...
    >>> target.read_text()
    'x = 1\\n'
    """
    path = Path(path)
    if os.path.lexists(path):
        raise _exists(path)
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    pending = PendingFile(path)
    try:
        pending._file.close()
        with open(pending._tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _place_new(pending._tmp, path)
    except FileExistsError:
        raise _exists(path) from None
    except OSError as err:
        raise _about(err, path) from None
    finally:
        pending.discard()


def open_new(path, mode="w"):
    """Open a new file ``path`` for writing (``"w"`` text, ``"wb"`` bytes); never an existing one.

    For a file written as it goes (a log): it is created exclusively (``O_EXCL``, no link
    followed), so an existing file or link of that name is never written through.

    Raises
    ------
    FileExistsError
        If ``path`` exists.
    """
    if mode not in ("w", "wb"):
        raise InvalidParameterError(f"mode must be 'w' or 'wb', got {mode!r}")
    try:
        return open(path, mode.replace("w", "x"), **({} if "b" in mode else
                                                      {"encoding": "utf-8"}))
    except FileExistsError:
        raise _exists(Path(path)) from None


def _place_new(tmp, path):
    """Give the complete file ``tmp`` the name ``path`` unless that name is taken."""
    try:
        os.link(tmp, path)  # atomic, and fails if the name is taken
    except FileExistsError:
        raise
    except OSError as err:  # a file system without hard links: check, then rename
        if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
            raise
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "exists", str(path)) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _exists(path):
    return FileExistsError(errno.EEXIST, "exists already; fedlab replaces no file it did not "
                                         "create: choose an empty folder", str(path))


def _visible_copy(tmp, path):
    """Rename the temporary ``tmp`` to a free visible name next to ``path``; return it."""
    for number in range(1, 1000):
        kept = path.with_name(f"{path.stem}.{number}{path.suffix}")
        try:
            os.link(tmp, kept)
        except FileExistsError:
            continue
        os.unlink(tmp)
        return kept
    return Path(tmp)


def _open_temporary(path):
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as err:
        raise _about(err, path) from None
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a plain new file would not
    return os.fdopen(fd, "w", encoding="utf-8", newline=""), tmp


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _about(err, path):
    """The same kind of OSError, naming the file the user asked for (not the temporary)."""
    return type(err)(err.errno, f"cannot write: {err.strerror or err}", str(path))


def _nonempty_path(path, option):
    text = os.fspath(path)
    if not text.strip():
        raise InvalidParameterError(f"{option}: the path is empty; give a file or folder name")
    return Path(text)


def _same_file(path, other):
    try:
        return Path(path).resolve() == Path(other).resolve() or (
            Path(path).exists() and os.path.samefile(path, other)
        )
    except OSError:
        return False
