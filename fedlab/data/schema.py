"""The columns of a hospital's patient records: names, units, plausible ranges; column lists."""

from __future__ import annotations

from dataclasses import dataclass

from fedlab._validation import InvalidParameterError


@dataclass(frozen=True)
class Column:
    """One column of the shipped patient records.

    Parameters
    ----------
    unit : str
        Unit of measurement, e.g. ``"mmHg"``; ``"0/1"`` for yes/no columns.
    low, high : float
        Plausible range (inclusive). A value outside it is a data-entry error.
    decimals : int
        Decimals written to the CSV files.
    description : str
        What the column means, in one line.
    binary : bool, default=False
        True when the only allowed values are 0 and 1.
    role : str, default="feature"
        What the column is to a model: ``"feature"``, ``"label"`` (the 0/1 outcome),
        ``"time"`` and ``"event"`` (a time-to-event outcome), ``"competing"`` (a competing
        event). Only features are ever read as features.
    """

    unit: str
    low: float
    high: float
    decimals: int
    description: str
    binary: bool = False
    role: str = "feature"


def _yes_no(description, role="feature"):
    return Column("0/1", 0, 1, 0, description, binary=True, role=role)


#: Every column of the shipped CSV files, in file order: the features, then the outcomes.
SCHEMA = {
    "age": Column("years", 18, 110, 0, "age at the baseline visit"),
    "sex": _yes_no("1 = male, 0 = female"),
    "bmi": Column("kg/m2", 12, 80, 1, "body-mass index, weight / height squared"),
    "sbp": Column("mmHg", 60, 260, 0, "systolic blood pressure as recorded by the site"),
    "bp_treated": _yes_no("1 = takes blood-pressure-lowering medication"),
    "total_chol": Column("mg/dL", 50, 500, 0, "total serum cholesterol"),
    "hdl": Column("mg/dL", 10, 150, 0, "HDL ('good') cholesterol"),
    "smoker": _yes_no("1 = current smoker"),
    "diabetes": _yes_no("1 = diagnosed diabetes"),
    "glucose": Column("mg/dL", 30, 600, 0, "fasting plasma glucose"),
    "hba1c": Column("%", 3, 20, 1, "glycated haemoglobin (HbA1c)"),
    "cvd_10y": _yes_no("1 = cardiovascular event within 10 years (the label, blind to "
                       "censoring)", role="label"),
    "cvd_time": Column("years", 0, 100, 3, "years from the baseline visit to the event or "
                       "the end of follow-up", role="time"),
    "cvd_event": _yes_no("1 = follow-up ended with a cardiovascular event", role="event"),
    "noncvd_death": _yes_no("1 = follow-up ended with a death from another cause (a "
                            "competing event)", role="competing"),
}

#: The name of the label column.
TARGET = "cvd_10y"

#: The time-to-event outcome: the observed time (years) and whether it is an event.
TIME, EVENT = "cvd_time", "cvd_event"

#: The feature columns, in the order of the columns of ``X``.
FEATURES = tuple(name for name, column in SCHEMA.items() if column.role == "feature")

#: The outcome columns of the shipped files: never read as features.
OUTCOMES = tuple(name for name, column in SCHEMA.items() if column.role != "feature")

#: Unit of every column, e.g. ``UNITS["sbp"] == "mmHg"``.
UNITS = {name: column.unit for name, column in SCHEMA.items()}


def parse_columns(text, *, option="features"):
    """Column names from a comma-separated list, the one parser of every ``COL,COL,...``.

    Parameters
    ----------
    text : str, sequence of str or None
        ``"age,sbp"``: each name is stripped of the spaces around it (inner spaces and
        parentheses are part of the name). A list or tuple is taken as the names;
        ``None`` (nothing given) stays ``None``.
    option : str, default="features"
        What the error names (``"--features"``, ``"--columns"``).

    Returns
    -------
    list of str or None

    Raises
    ------
    ValueError
        In one line naming ``option``: no name at all (``","``), an empty name
        (``"age,,sbp"``, a trailing comma) or a name given twice.

    Examples
    --------
    >>> parse_columns("age, sbp ,total chol")
    ['age', 'sbp', 'total chol']
    >>> parse_columns("age,,sbp", option="--columns")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fedlab._validation.InvalidParameterError: --columns: an empty column name in 'age,,sbp'...
    """
    if text is None:
        return None
    names = ([name.strip() for name in text.split(",")] if isinstance(text, str)
             else [str(name) for name in text])
    if not any(names):
        raise InvalidParameterError(f"{option} must name at least one column (COL,COL,...), "
                                    f"got {text!r}")
    if not all(names):
        raise InvalidParameterError(f"{option}: an empty column name in {text!r}; give names "
                                    "separated by commas, e.g. age,sbp")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InvalidParameterError(f"{option}: column {twice[0]!r} is named twice in "
                                    f"{text!r}")
    return names
