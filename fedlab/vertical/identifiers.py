"""Identifiers normalized the same way at every party, before any hash or linkage (Christen 2012).

Two registries write the same patient as ``"José  O'Neil", 14/03/1957`` and
``"JOSE ONEIL", 1957-03-14``. A hash or a private set intersection compares bytes, so
the parties must first agree on one spelling: letters without accents, one case, single
spaces, and dates in ISO form (``YYYY-MM-DD``). Every party runs the same functions.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata

from fedlab._validation import InvalidParameterError

__all__ = ["normalize_name", "normalize_date", "normalize_identifier", "linkage_key"]

_SEPARATORS = re.compile(r"[\s\-_.,/]+")  # spaces, hyphens, dots... between name parts
_DROPPED = re.compile(r"[^0-9a-z ]")  # apostrophes and any other mark


def normalize_name(name):
    """A name as every party writes it: no accents, lower case, single spaces.

    Parameters
    ----------
    name : str

    Returns
    -------
    str
        Accents removed (Unicode NFKD, combining marks dropped), case folded, hyphens,
        dots and runs of white space turned into one space, apostrophes and other marks
        dropped, no leading or trailing space.

    Raises
    ------
    InvalidParameterError
        If ``name`` is not a string or holds no letter or digit.

    Examples
    --------
    >>> normalize_name("  José   O'Neil-Smith ")
    'jose oneil smith'
    >>> normalize_name("JOSE ONEIL SMITH")
    'jose oneil smith'
    """
    if not isinstance(name, str):
        raise InvalidParameterError(f"name must be a string, got {type(name).__name__}")
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = _DROPPED.sub("", _SEPARATORS.sub(" ", text))
    text = " ".join(text.split())
    if not text:
        raise InvalidParameterError(f"name must hold a letter or a digit, got {name!r}")
    return text


def normalize_date(value, *, date_format=None):
    """A date of birth in ISO form, ``YYYY-MM-DD``.

    Parameters
    ----------
    value : str or datetime.date
        The date as a party recorded it.
    date_format : str, optional
        The party's own format for ``strptime`` (e.g. ``"%d/%m/%Y"``). Without it only
        unambiguous forms are read: ``YYYY-MM-DD``, ``YYYY/MM/DD`` and ``YYYYMMDD``;
        ``03/04/1957`` could be the 3rd of April or the 4th of March, so it is refused.

    Returns
    -------
    str

    Raises
    ------
    InvalidParameterError
        If the value is not a date in the given (or an unambiguous) format, or lies in
        the future (``%y`` reads ``57`` as 2057).

    Examples
    --------
    >>> normalize_date("14/03/1957", date_format="%d/%m/%Y")
    '1957-03-14'
    >>> normalize_date(" 1957/3/14 ")
    '1957-03-14'
    """
    if isinstance(value, _dt.datetime):
        return _birth_date(value.date(), value)
    if isinstance(value, _dt.date):
        return _birth_date(value, value)
    if not isinstance(value, str):
        raise InvalidParameterError(
            f"a date must be a string or a datetime.date, got {type(value).__name__}")
    text = value.strip()
    if date_format is not None:
        try:
            born = _dt.datetime.strptime(text, date_format).date()
        except ValueError:
            raise InvalidParameterError(
                f"date {value!r} does not match date_format {date_format!r}") from None
        return _birth_date(born, value)
    match = re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})|(\d{4})(\d{2})(\d{2})", text)
    if match is None:
        raise InvalidParameterError(
            f"date {value!r} is not YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD; give the party's "
            "date_format (e.g. '%d/%m/%Y') for any other form")
    year, month, day = (int(g) for g in match.groups() if g is not None)
    try:
        born = _dt.date(year, month, day)
    except ValueError as err:
        raise InvalidParameterError(f"date {value!r}: {err}") from None
    return _birth_date(born, value)


def normalize_identifier(value):
    """Any identifier cell (a name, a date, a pseudonymous id) as every party writes it.

    A date written ``YYYY-MM-DD`` or ``YYYY/MM/DD`` becomes an ISO date; any other value
    (``12345678`` is an id, not a date) is normalized as a name (:func:`normalize_name`).

    Raises
    ------
    InvalidParameterError
        If the value is empty or holds no letter or digit.

    Examples
    --------
    >>> normalize_identifier(" HX-00123 "), normalize_identifier("1957/3/14")
    ('hx 00123', '1957-03-14')
    """
    if isinstance(value, str) and re.fullmatch(r"\s*\d{4}[-/]\d{1,2}[-/]\d{1,2}\s*", value):
        return normalize_date(value)
    return normalize_name(value)


def _birth_date(born, value):
    if born > _dt.date.today():
        raise InvalidParameterError(
            f"date of birth {value!r} is read as {born.isoformat()}, in the future (a "
            "two-digit year? write it with four digits, %Y)")
    return born.isoformat()


def linkage_key(name, birth_date, *, date_format=None):
    """The string a party hashes or puts into a private set intersection.

    Parameters
    ----------
    name : str
    birth_date : str or datetime.date
    date_format : str, optional
        As in :func:`normalize_date`.

    Returns
    -------
    str
        ``"<normalized name>|<YYYY-MM-DD>"``.

    Examples
    --------
    >>> linkage_key("Ana  Núñez", "05/11/1948", date_format="%d/%m/%Y")
    'ana nunez|1948-11-05'
    """
    return f"{normalize_name(name)}|{normalize_date(birth_date, date_format=date_format)}"
