"""Each site's audit log of answered queries: no two answers may differ by a few patients.

A threshold rule looks at one answer at a time; the differencing attack lives between two
answers (the patients aged 60 or more, then the same minus the 84-year-old). So a site
also keeps a log of what it has released and refuses a query whose answer rests on a
group of patients that differs from an earlier one (or from another part of the same
answer) by 1 to ``min_cell - 1`` patients, as statistical offices check new tables
against published ones (Hundepool et al. 2012, ch. 5, "disclosure by differencing").

What a release is compared on: the group of records it rests on (the records a count
counts, whose values a sum adds up, that fall in a histogram bin or below a threshold),
whatever the column. A record is known by a 64-bit identity: by default a hash of its
values in all the site's columns (:func:`row_keys`), so that a file that lost one
patient between two runs is caught; the command line uses a hash of the record's line
in the file. Two answers on equal groups disclose nothing new; two on groups that
differ by ``d`` records disclose something about those ``d``, and ``0 < d < min_cell`` is
refused. Answers about different columns are compared too (their counts difference
each other), so two columns whose missing values differ by 1 to ``min_cell - 1``
patients cannot both be described.

The log stores, per release, either the identities with their counts (groups of at most
:data:`EXACT_RECORDS` records) or an invertible sketch of the multiset (Eppstein &
Goodrich 2011): :data:`BUCKETS` buckets, each holding the count and two hash sums modulo
a prime of the identities hashed into it. The difference of two sketches is the sketch
of the difference of the groups; a bucket that is not zero holds at least one record of
it, a "pure" bucket (one identity) says how many copies, so the site gets a lower bound
on ``d`` that is exact in most cases and refuses when that bound is below ``min_cell``.
(Hash collisions can only make it refuse more, except with probability about ``2**-62``
per bucket.) No value is stored in the log.

Not defended (said in :class:`fedlab.analytics.DataSite` and in lesson 09):

* combinations of three or more answers (``A - B - C`` with every pair far apart);
* what the analyst already knows: a difference of ``min_cell`` patients of whom the
  attacker knows all but one;
* answers the site gave without this log (another tool, a log deleted or started anew:
  a renamed site file starts an empty log on the command line), or about records whose
  identity changed (a record edited in any column is a new record: the old one is gone);
* the answers themselves: a group of ``min_cell`` identical values is released.

References
----------
.. [1] A. Hundepool et al., *Statistical Disclosure Control*, Wiley, 2012.
.. [2] D. Eppstein and M. T. Goodrich, "Straggler identification in round-trip data
   streams via Newton's identities and invertible Bloom filters", IEEE TKDE 23(2), 2011.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fedlab._validation import InvalidParameterError

from .disclosure import DisclosureRefused

__all__ = ["AuditLog", "Fingerprint", "value_keys", "row_keys", "fingerprint"]

EXACT_RECORDS = 16
"""Releases on at most this many records are logged as identities with counts."""

BUCKETS = 128
"""Buckets of a release's sketch (16 bytes each)."""

_PRIME = (1 << 31) - 1
_MASK = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
_FORMAT = "fedlab-audit-1"


def _mix(x):
    """splitmix64's finalizer on an array of uint64 (a bijection with good avalanche)."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def value_keys(values):
    """A 64-bit hash of each float (``-0.0`` and ``0.0`` alike; ``nan`` one value)."""
    values = np.asarray(values, dtype=np.float64) + 0.0
    bits = np.where(np.isnan(values), np.float64(np.nan), values).view(np.uint64)
    return _mix(bits ^ np.uint64(0x9E3779B97F4A7C15))


def row_keys(X):
    """A 64-bit hash of each row of ``X`` (the whole record, column order included)."""
    X = np.asarray(X, dtype=np.float64)
    key = np.zeros(len(X), dtype=np.uint64)
    for j in range(X.shape[1]):
        key = _mix(key ^ value_keys(X[:, j]) ^ np.uint64(j))
    return key


@dataclass(frozen=True)
class Fingerprint:
    """What the log remembers of one release: its size and its distinct values' hashes.

    Attributes
    ----------
    n : int
        Records the release rests on.
    keys, counts : ndarray or None
        Sorted distinct identities and their counts (at most :data:`EXACT_RECORDS`
        records).
    sketch : ndarray of shape (BUCKETS, 3) or None
        Per bucket: the count, and two hash sums modulo ``2**31 - 1``.
    """

    n: int
    keys: np.ndarray | None = None
    counts: np.ndarray | None = None
    sketch: np.ndarray | None = None

    def __post_init__(self):
        table = None if self.keys is None else dict(zip(self.keys.tolist(),
                                                        self.counts.tolist()))
        object.__setattr__(self, "_table", table)

    def as_sketch(self):
        return self.sketch if self.sketch is not None else _sketch(self.keys, self.counts)

    def to_json(self, what):
        out = {"group": what, "n": self.n}
        if self.sketch is None:
            out.update(keys=[f"{int(k):016x}" for k in self.keys],
                       counts=[int(c) for c in self.counts])
        else:
            out["sketch"] = base64.b64encode(self.sketch.astype("<i8").tobytes()).decode()
        return out

    @classmethod
    def from_json(cls, entry):
        if "sketch" in entry:
            raw = np.frombuffer(base64.b64decode(entry["sketch"]), dtype="<i8")
            return cls(int(entry["n"]), sketch=raw.reshape(BUCKETS, 3).astype(np.int64))
        return cls(int(entry["n"]), np.array([int(k, 16) for k in entry["keys"]],
                                             dtype=np.uint64),
                   np.array(entry["counts"], dtype=np.int64))


def fingerprint(keys):
    """The :class:`Fingerprint` of a group of records, given their identities (uint64)."""
    keys, counts = np.unique(np.asarray(keys, dtype=np.uint64), return_counts=True)
    n = int(counts.sum())
    if n <= EXACT_RECORDS:
        order = np.argsort(keys)
        return Fingerprint(n, keys[order], counts[order])
    return Fingerprint(n, sketch=_sketch(keys, counts))


def _hashes(keys):
    """Bucket and the two hashes (mod the prime) of each distinct value hash."""
    bucket = (keys % np.uint64(BUCKETS)).astype(np.intp)
    h1 = ((keys >> np.uint64(8)) % np.uint64(_PRIME)).astype(np.int64)
    return bucket, h1, _h2(h1)


def _h2(h1):
    return (_mix(np.asarray(h1, dtype=np.uint64)) % np.uint64(_PRIME)).astype(np.int64)


def _sketch(keys, counts):
    bucket, h1, h2 = _hashes(np.asarray(keys, dtype=np.uint64))
    counts = np.asarray(counts, dtype=np.int64)
    c = counts % _PRIME
    out = np.zeros((BUCKETS, 3), dtype=np.int64)
    np.add.at(out[:, 0], bucket, counts)
    np.add.at(out[:, 1], bucket, (c * h1) % _PRIME)
    np.add.at(out[:, 2], bucket, (c * h2) % _PRIME)
    out[:, 1:] %= _PRIME
    return out


def _exact_difference(a, b):
    """Records in the difference of two exact fingerprints' groups."""
    ta, tb = a._table, b._table
    return sum(abs(c - tb.get(k, 0)) for k, c in ta.items()) + \
        sum(c for k, c in tb.items() if k not in ta)


def _lower_bound(diff):
    """A lower bound on the size of the multiset difference that sketch ``diff`` holds."""
    bound = 0
    for count, s1, s2 in diff[np.any(diff != 0, axis=1)].tolist():
        if count % _PRIME:
            inverse = pow(int(count) % _PRIME, -1, _PRIME)
            value = (s1 * inverse) % _PRIME
            if (int(count) % _PRIME) * int(_h2(value)) % _PRIME == s2:
                bound += abs(count)  # one distinct value, |count| copies of it
                continue
        bound += max(2, abs(count))  # two or more distinct values
    return bound


def difference_at_least(a, b, limit):
    """Whether the multisets behind fingerprints ``a`` and ``b`` are equal (returns 0), or
    differ by at least ``limit`` values (returns ``limit``), else a smaller lower bound."""
    if abs(a.n - b.n) >= limit:
        return limit
    if a.sketch is None and b.sketch is None:
        return min(_exact_difference(a, b), limit)
    diff = a.as_sketch() - b.as_sketch()
    diff[:, 1:] %= _PRIME
    nonzero = int(np.any(diff != 0, axis=1).sum())
    if nonzero == 0:
        return 0
    if nonzero >= limit:
        return limit
    return min(max(_lower_bound(diff), abs(a.n - b.n)), limit)


class AuditLog:
    """One site's log of released multisets, optionally kept in an append-only file.

    Parameters
    ----------
    path : str or Path, optional
        A JSON-lines file shared by any number of sites (each line names its site); read
        at the start, then appended to, never rewritten. ``None``: kept in memory only
        (for this session's queries).
    site : str
        The site whose lines this log reads and writes.

    Raises
    ------
    ValueError
        If ``path`` is a folder or holds a line that is not a fedlab audit entry.

    Examples
    --------
    >>> log = AuditLog(site="clinic")
    >>> older = fingerprint([11, 12, 13, 14, 15, 16])       # six patients' identities
    >>> log.check([("records", older)], min_cell=5, query="q1")
    >>> log.record("q1", [("records", older)])
    >>> but_one = fingerprint([11, 12, 13, 14, 16])
    >>> log.check([("records", but_one)], min_cell=5, query="q2")
    Traceback (most recent call last):
    ...
    fedlab.analytics.disclosure.DisclosureRefused: site 'clinic' refuses q2: the records \
differ from a group it has answered about before by fewer than 5 patients (differencing)
    """

    def __init__(self, path=None, *, site):
        self.site, self.path = str(site), None if path is None else Path(path)
        self._released = {}  # size -> Fingerprints of the distinct groups answered about
        if self.path is not None:
            if self.path.is_dir():
                raise InvalidParameterError(f"audit log {self.path}: is a folder, not a file")
            if self.path.exists():
                self._load()

    def __len__(self):
        return sum(map(len, self._released.values()))

    def check(self, releases, *, min_cell, query):
        """Raise :class:`DisclosureRefused` if a release is within ``min_cell`` of another.

        ``releases`` is a sequence of ``(what, Fingerprint)`` (``what`` names the group in
        the refusal); each is compared with the log and with the releases before it.
        """
        if min_cell <= 1:
            return
        pending = {}
        for what, print_ in releases:
            for other in self._near(print_.n, min_cell, pending):
                if 0 < difference_at_least(print_, other, min_cell) < min_cell:
                    raise DisclosureRefused(
                        self.site, query,
                        f"the {what} differ from a group it has answered about before by "
                        f"fewer than {min_cell} patients (differencing)")
            pending.setdefault(print_.n, []).append(print_)

    def _near(self, n, min_cell, pending=None):
        """Logged (and pending) groups of ``n - min_cell + 1`` to ``n + min_cell - 1``
        records: groups whose sizes differ by ``min_cell`` or more are that far apart."""
        for size in range(max(0, n - min_cell + 1), n + min_cell):
            yield from self._released.get(size, ())
            yield from (pending or {}).get(size, ())

    def record(self, query, releases):
        """Remember the releases of an answered query (appending them to the file)."""
        new = []
        for what, print_ in releases:
            if not any(difference_at_least(print_, other, 1) == 0
                       for other in self._released.get(print_.n, ())):
                self._released.setdefault(print_.n, []).append(print_)
                new.append((what, print_))
        if self.path is not None:
            self._append({"format": _FORMAT, "site": self.site, "query": query,
                          "releases": [p.to_json(w) for w, p in new]})

    def note_refusal(self, query, rule):
        """Write a refused query to the file too (what an auditor reads)."""
        if self.path is not None:
            self._append({"format": _FORMAT, "site": self.site, "query": query,
                          "refused": rule})

    def _append(self, entry):
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, allow_nan=False) + "\n")

    def _load(self):
        with self.path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    if entry.get("format") != _FORMAT:
                        raise ValueError
                    if entry["site"] != self.site or "releases" not in entry:
                        continue
                    for release in entry["releases"]:
                        print_ = Fingerprint.from_json(release)
                        self._released.setdefault(print_.n, []).append(print_)
                except (ValueError, KeyError, TypeError, AttributeError):
                    raise InvalidParameterError(
                        f"audit log {self.path}: line {number} is not a fedlab audit entry "
                        "(give a new file or one fedlab wrote)") from None
