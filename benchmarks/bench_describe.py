"""``describe`` on a big and a wide site CSV (issue 21), against ``train`` on the same files.

Run with ``python benchmarks/bench_describe.py`` (add ``--size-mb 50`` for a quicker run).
The files are those of ``bench_csv.py`` (the shipped Metro University records repeated
to 200 MB: 5.5 million rows x 12 columns; and 9 rows x 50,000 binary columns), made in a
temporary folder. Each command runs as ``python -m fedlab`` in a fresh process; the wall
time and the CPU time of the child are printed (a loaded machine shows in the first).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import describe as machine  # benchmarks/_machine.py
from bench_csv import write_big, write_wide

ROOT = Path(__file__).resolve().parents[1]


def run(argv):
    """Wall and CPU seconds of ``python -m fedlab ARGV`` in a new process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fedlab", *argv], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=200)
    parser.add_argument("--columns", type=int, default=50_000)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as folder:
        big, wide = Path(folder) / "big.csv", Path(folder) / "wide.csv"
        write_big(big, args.size_mb)
        write_wide(wide, n_columns=args.columns)
        cases = [
            ("big", ["describe", "--site", str(big)]),
            ("big", ["train", "--site", str(big), "--target", "cvd_10y"]),
            ("wide", ["describe", "--site", str(wide)]),
            ("wide", ["train", "--site", str(wide), "--target", "y"]),
        ]
        for name, argv in cases:
            wall, cpu = run(argv)
            print(f"{name:>5} {argv[0]:>9}: wall {wall:7.1f} s, cpu {cpu:7.1f} s", flush=True)


if __name__ == "__main__":
    main()
