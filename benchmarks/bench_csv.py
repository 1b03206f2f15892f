"""Reading big and wide site CSVs (issue 14): time and peak memory of ``read_site_csv``.

Run with ``python benchmarks/bench_csv.py`` (add ``--size-mb 50`` for a quicker run).
The files are generated in a temporary folder and deleted afterwards:

* a *big* file: the shipped Metro University records repeated up to ``--size-mb``
  megabytes (12 columns, about 36 bytes a row: the records then take 2.7 times the file
  size as float64, the floor for any reader that returns them as numbers);
* a *wide* file: 50,000 binary columns and 9 rows (0.9 MB), the issue's example.

Each measurement runs in a fresh Python process, so its peak resident memory (max RSS)
is its own; "memory" below is that peak minus the process's size after its imports.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, time
import numpy, pandas  # imported before the baseline: they are not the data's memory
from fedlab.models import logistic
from fedlab.data import SCHEMA, read_site_csv
from fedlab.federated.preprocessing import combine, feature_sums
path, target, fit = sys.argv[1], sys.argv[2], sys.argv[3] == "fit"
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
base = rss()
start, cpu = time.perf_counter(), time.process_time()
site = read_site_csv(path, target=target, schema=SCHEMA if target == "cvd_10y" else None)
read = time.perf_counter() - start
out = {"read_s": read, "read_cpu": time.process_time() - cpu, "read_rss": rss() - base,
       "rows": site.n_records,
       "columns": len(site.feature_names), "array_bytes": site.X.nbytes + site.y.nbytes}
if fit:
    start = time.perf_counter()
    scaler = combine([feature_sums(site.X)])
    theta = logistic.fit(scaler.transform(site.X), site.y, l2=1e-3)
    out.update(fit_s=time.perf_counter() - start, fit_rss=rss() - base)
print(json.dumps(out))
"""


def measure(path, target, *, fit=False):
    """Time and peak memory of reading (and optionally fitting) ``path`` in a new process."""
    result = subprocess.run([sys.executable, "-c", _CHILD, str(path), target,
                             "fit" if fit else "read"], capture_output=True, text=True,
                            check=True, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    return json.loads(result.stdout)


def write_big(path, size_mb):
    """The shipped Metro University training records, repeated to ``size_mb`` megabytes."""
    shipped = ROOT / "fedlab" / "data" / "shipped" / "metro_university_train.csv"
    lines = shipped.read_bytes().splitlines()
    header, body = lines[0], b"\n".join(line for line in lines[1:] if line) + b"\n"
    with open(path, "wb") as f:
        f.write(header + b"\n")
        for _ in range(int(size_mb * 1e6 // len(body)) + 1):
            f.write(body)


def write_wide(path, n_columns=50_000, n_rows=9):
    """Binary columns, alternating labels: the issue's 0.9 MB file with 50,000 columns."""
    import numpy as np

    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        f.write(",".join(f"c{j}" for j in range(n_columns)) + ",y\n")
        for i in range(n_rows):
            f.write(",".join(map(str, rng.integers(0, 2, n_columns))) + f",{i % 2}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=200.0, help="big file size (MB)")
    args = parser.parse_args()
    print(f"# fedlab CSV benchmark: {describe()}; load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as folder:
        big, wide = Path(folder) / "big.csv", Path(folder) / "wide.csv"
        start = time.perf_counter()
        write_big(big, args.size_mb)
        write_wide(wide)
        print(f"(files generated in {time.perf_counter() - start:.1f} s)")
        for label, path, target, fit in (("big", big, "cvd_10y", False),
                                          ("wide", wide, "y", True)):
            size = path.stat().st_size
            runs = [measure(path, target, fit=fit) for _ in range(3)]
            best = min(runs, key=lambda r: r["read_s"])
            peak = max(r["read_rss"] for r in runs)
            print(f"{label}: {size / 1e6:.1f} MB, {best['rows']:,} rows x "
                  f"{best['columns']:,} columns")
            times = ", ".join(f"{r['read_s']:.2f}" for r in runs)
            cpu = ", ".join(f"{r['read_cpu']:.2f}" for r in runs)
            print(f"  read: wall {times} s (CPU {cpu} s); peak memory "
                  f"{peak / 1e6:.0f} MB = {peak / size:.2f} x the file "
                  f"(X and y alone: {best['array_bytes'] / size:.2f} x)")
            if fit:
                print(f"  standardize + fit (L-BFGS): {best['fit_s']:.2f} s, peak memory "
                      f"{max(r['fit_rss'] for r in runs) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
