"""The columns of a hospital's patient records: names, units and plausible ranges."""

from __future__ import annotations

from dataclasses import dataclass


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
    """

    unit: str
    low: float
    high: float
    decimals: int
    description: str
    binary: bool = False


def _yes_no(description):
    return Column("0/1", 0, 1, 0, description, binary=True)


#: Every column of the shipped CSV files, in file order (the target comes last).
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
    "cvd_10y": _yes_no("1 = cardiovascular event within 10 years (the label)"),
}

#: The name of the label column.
TARGET = "cvd_10y"

#: The feature columns, in the order of the columns of ``X``.
FEATURES = tuple(name for name in SCHEMA if name != TARGET)

#: Unit of every column, e.g. ``UNITS["sbp"] == "mmHg"``.
UNITS = {name: column.unit for name, column in SCHEMA.items()}
