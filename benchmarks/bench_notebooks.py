"""Benchmark: wall time of each solution notebook, top to bottom in a fresh kernel.

Targets (issue 3): each notebook under 30 s, lessons 00-03 together under 1 minute.
Run: ``.venv/bin/python benchmarks/bench_notebooks.py``
"""

from __future__ import annotations

import time
from pathlib import Path

from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

from fedlab._nbrun import execute_notebook
from fedlab.lessons import NOTEBOOK_GLOB

ROOT = Path(__file__).resolve().parents[1]


def main():
    print(f"machine: {describe()}")
    total = 0.0
    for path in sorted((ROOT / "solutions").glob(NOTEBOOK_GLOB)):
        start = time.perf_counter()
        notebook = execute_notebook(path)
        seconds = time.perf_counter() - start
        total += seconds
        errors = sum(o.output_type == "error" for c in notebook.cells
                     for o in c.get("outputs", []))
        print(f"{path.name:<36} {seconds:6.1f} s{'  ERRORS: ' + str(errors) if errors else ''}")
    print(f"{'all solution notebooks':<36} {total:6.1f} s")


if __name__ == "__main__":
    main()
