"""Shared fixtures: a notebook runner for the notebook tests (nbclient, fresh kernel)."""

from __future__ import annotations

import matplotlib
import pytest

from fedlab._nbrun import execute_notebook

matplotlib.use("Agg")  # tests draw figures without a screen


@pytest.fixture(scope="session")
def run_notebook():
    return execute_notebook
