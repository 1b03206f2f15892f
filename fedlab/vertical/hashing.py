"""What hospitals do today: a salted hash of name and birth date, and the dictionary attack.

Parties that may not exchange identities often exchange ``SHA-256(salt + name + date of
birth)`` instead, with a salt they share, and link on equal hashes. A hash is not a
secret: anyone who holds the hashes and the salt (every party, and whoever obtains one
party's file) hashes every plausible name and birth date and looks the results up.
A name list of some thousands and a century of birth dates are a few hundred million
hashes, minutes on a laptop; the search space is small because identities are.
Private set intersection (:mod:`fedlab.vertical.psi`) removes the shared secret.

References
----------
.. [1] Vatsalan, D., Christen, P., & Verykios, V. S. (2013). A taxonomy of privacy-preserving
   record linkage techniques. Information Systems, 38(6), 946-969.
.. [2] Culnane, C., Rubinstein, B. I. P., & Teague, V. (2017). Health data in an open world.
   arXiv:1712.05627 (re-identification of hashed identifiers in released health data).
"""

from __future__ import annotations

import datetime as _dt
import hashlib

from fedlab._validation import InvalidParameterError

from .identifiers import normalize_date, normalize_name

__all__ = ["salted_hash", "plausible_birth_dates", "dictionary_attack"]


def salted_hash(key, *, salt=b""):
    """``SHA-256(salt + key)`` as 64 hexadecimal characters.

    Parameters
    ----------
    key : str
        A normalized identifier (:func:`fedlab.vertical.linkage_key`), UTF-8 encoded.
    salt : bytes or str, default=b""
        The value every party prepends. Shared by all the parties, it is no secret from
        any of them.

    Returns
    -------
    str

    Examples
    --------
    >>> salted_hash("ana nunez|1948-11-05", salt="hospital-network-2024")[:16]
    '40b8d08e7ae5fd14'
    """
    if not isinstance(key, str):
        raise InvalidParameterError(f"key must be a string, got {type(key).__name__}")
    return hashlib.sha256(_bytes(salt, "salt") + key.encode("utf-8")).hexdigest()


def plausible_birth_dates(first_year, last_year):
    """Every day from 1 January ``first_year`` to 31 December ``last_year``, as ISO strings.

    Examples
    --------
    >>> dates = plausible_birth_dates(1950, 1951)
    >>> len(dates), dates[0], dates[-1]
    (730, '1950-01-01', '1951-12-31')
    """
    if int(first_year) != first_year or int(last_year) != last_year or last_year < first_year:
        raise InvalidParameterError(f"need integer years with first_year <= last_year, got "
                                    f"{first_year!r} and {last_year!r}")
    day, last = _dt.date(int(first_year), 1, 1), _dt.date(int(last_year), 12, 31)
    return [(day + _dt.timedelta(days=k)).isoformat() for k in range((last - day).days + 1)]


def dictionary_attack(hashes, *, names, birth_dates, salt=b""):
    """Reverse salted hashes by hashing every candidate name and birth date.

    Parameters
    ----------
    hashes : iterable of str
        The hashes a party received (:func:`salted_hash` output).
    names : iterable of str
        The attacker's list of full names (e.g. the common first names times the common
        surnames of a country); normalized here as the parties normalize them.
    birth_dates : iterable of str or datetime.date
        The candidate dates of birth (:func:`plausible_birth_dates`).
    salt : bytes or str, default=b""
        The shared salt (which every party knows).

    Returns
    -------
    found : dict of str to str
        ``{hash: linkage key}`` for every hash whose identity was among the candidates.
    tried : int
        The number of candidates hashed (``len(names) * len(birth_dates)``).

    Notes
    -----
    The cost is linear in the number of candidates and independent of the number of
    hashes attacked: each candidate is hashed once and looked up in a set.

    Examples
    --------
    >>> target = salted_hash("ana nunez|1948-11-05", salt="s")
    >>> found, tried = dictionary_attack([target], names=["Ana Núñez", "Bo Li"],
    ...                                  birth_dates=plausible_birth_dates(1948, 1948),
    ...                                  salt="s")
    >>> found[target], tried
    ('ana nunez|1948-11-05', 732)
    """
    wanted = set(hashes)
    keys = sorted({normalize_name(name) for name in names})
    dates = [normalize_date(d) for d in birth_dates]
    prefix = hashlib.sha256(_bytes(salt, "salt"))
    found = {}
    for name in keys:
        start = prefix.copy()
        start.update(f"{name}|".encode())
        for date in dates:
            h = start.copy()
            h.update(date.encode())
            digest = h.hexdigest()
            if digest in wanted:
                found[digest] = f"{name}|{date}"
    return found, len(keys) * len(dates)


def _bytes(value, name):
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    raise InvalidParameterError(f"{name} must be bytes or str, got {type(value).__name__}")
