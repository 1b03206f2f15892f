"""Small-cell suppression: a site refuses any answer with a cell of 1 to ``min_cell - 1`` patients.

The threshold rule of statistical disclosure control (Hundepool et al. 2012), as federated
analysis platforms enforce it at each site: DataSHIELD's ``nfilter.tab`` and
``nfilter.subset`` (Gaye et al. 2014) are set by each data custodian.
"""

from __future__ import annotations

import numbers

import numpy as np

from fedlab._validation import InvalidParameterError, check_int

__all__ = ["DEFAULT_MIN_CELL", "OPERATORS", "DisclosureRefused", "check_cells",
           "check_where", "describe_where"]

DEFAULT_MIN_CELL = 5
"""The most common threshold of data releasers: no published cell of 1 to 4 people."""

OPERATORS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
             "==": np.equal, "!=": np.not_equal}
"""The comparisons a query may use to select records (a site runs no code it is sent)."""


class DisclosureRefused(ValueError):
    """A site refused a query: one cell of the answer would describe too few patients.

    Attributes
    ----------
    site : str
        The site that refused.
    query : str
        The query, in words.
    rule : str
        The rule the answer would have broken.
    """

    def __init__(self, site, query, rule):
        self.site, self.query, self.rule = site, query, rule
        super().__init__(f"site {site!r} refuses {query}: {rule}")


def check_cells(counts, *, min_cell, site, query, labels=None):
    """Raise :class:`DisclosureRefused` unless every cell is empty or holds ``min_cell`` or more.

    Parameters
    ----------
    counts : array-like of int
        The number of patients behind each cell of an answer (a count, a table, the
        records a mean is built on, and the records a condition leaves out).
    min_cell : int
        The threshold, >= 1 (1 switches the rule off).
    site, query : str
        Named in the refusal.
    labels : sequence of str, optional
        A name for each cell; the refusal names the small cells, never their counts.

    Raises
    ------
    DisclosureRefused
        If a cell holds between 1 and ``min_cell - 1`` patients. The message does not say
        how many: that would publish the very number the rule protects.

    Notes
    -----
    Empty cells are allowed, as in DataSHIELD's ``nfilter.tab`` ("the minimum non-zero
    cell count"). An empty cell can still disclose ("nobody at this site is untreated"):
    that is attribute disclosure, which a threshold rule does not address.

    Examples
    --------
    >>> check_cells([12, 0, 7], min_cell=5, site="clinic", query="a histogram")
    >>> check_cells([12, 3], min_cell=5, site="clinic", query="a count",
    ...             labels=["age < 80", "age >= 80"])
    Traceback (most recent call last):
    ...
    fedlab.analytics.disclosure.DisclosureRefused: site 'clinic' refuses a count: the cell \
'age >= 80' holds fewer than 5 patients (the minimum for any non-empty cell)
    """
    if isinstance(counts, list) and all(type(c) is int for c in counts):  # the usual case
        if all(c == 0 or c >= min_cell for c in counts):
            return
    counts = np.asarray(counts).ravel()
    small = np.flatnonzero((counts > 0) & (counts < min_cell))
    if small.size:
        if labels is None:
            which = f"{small.size} cell{'s' * (small.size > 1)}"
        else:
            named = ", ".join(repr(labels[i]) for i in small)
            which = f"the cell{'s' * (small.size > 1)} {named}"
        verb = "holds" if small.size == 1 else "hold"
        raise DisclosureRefused(site, query, f"{which} {verb} fewer than {min_cell} patients "
                                             "(the minimum for any non-empty cell)")


def check_min_cell(min_cell):
    """Return ``min_cell`` as an int >= 1."""
    return check_int(min_cell, "min_cell", minimum=1)


def check_where(where, columns):
    """Return ``where`` as a tuple of ``(column, operator, value)`` conditions, all checked.

    Parameters
    ----------
    where : None, a condition, or a sequence of conditions
        A condition is ``(column, operator, value)`` with an operator of
        :data:`OPERATORS`, e.g. ``("age", ">=", 60)``; several are combined with "and".
    columns : sequence of str
        The site's columns.

    Examples
    --------
    >>> check_where(("age", ">=", 60), ["age", "sbp"])
    (('age', '>=', 60.0),)
    """
    if where is None:
        return ()
    if len(where) == 3 and isinstance(where[0], str):
        where = (where,)
    conditions = []
    for condition in where:
        if not (isinstance(condition, (tuple, list)) and len(condition) == 3):
            raise InvalidParameterError(
                f"where must hold conditions (column, operator, value), got {condition!r}")
        column, operator, value = condition
        if column not in columns:
            raise InvalidParameterError(f"where: no column {column!r}; the columns are "
                                        f"{', '.join(columns)}")
        if operator not in OPERATORS:
            raise InvalidParameterError(f"where: operator must be one of "
                                        f"{', '.join(OPERATORS)}, got {operator!r}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InvalidParameterError(f"where: the value compared with {column!r} must be "
                                        f"a number, got {value!r}")
        conditions.append((column, operator, float(value)))
    return tuple(conditions)


def describe_where(where):
    """The conditions in words, e.g. ``"age >= 60 and sbp < 140"``.

    Examples
    --------
    >>> describe_where((("age", ">=", 60.0), ("sbp", "<", 140.0)))
    'age >= 60 and sbp < 140'
    """
    return " and ".join(f"{c} {op} {v:g}" for c, op, v in where)
