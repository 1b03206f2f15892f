"""Benchmark: latency of the DP-FedAvg dashboard (lesson 06) when a control changes.

Builds the dashboard once, then moves every control through several values and reports
the median and worst wall time of a change (re-running DP-FedAvg and redrawing the PNG).
Target: median under 250 ms on 2 cores.

Run: ``.venv/bin/python benchmarks/bench_widget_privacy.py``
"""

from __future__ import annotations

import os
import platform
import statistics
import time

import numpy as np

from fedlab.widgets.privacy import DPFedAvgDashboard

MOVES = {
    "noise_multiplier": [0.5, 1.5, 3.0, 0.0, 1.0, 0.8, 2.0],
    "clip_norm": [0.1, 1.0, 3.0, 0.5],
    "n_clients": [5, 50, 200, 1000, 500],
    "sample_rate": [0.01, 0.1, 0.3, 1.0, 0.05],
    "rounds": [10, 50, 100, 30],
}


def main():
    start = time.perf_counter()
    dashboard = DPFedAvgDashboard()
    build = time.perf_counter() - start
    per_control, everything = {}, []
    for name, values in MOVES.items():
        control = getattr(dashboard, name)
        times = []
        for value in values:
            control.value = value
            times.append(1e3 * dashboard.last_seconds)
        per_control[name] = times
        everything += times
    print(f"# DP-FedAvg dashboard latency: {os.cpu_count()} CPUs, {_cpu_model()}, "
          f"Python {platform.python_version()}, numpy {np.__version__}")
    print(f"build (load data, fit the ceiling, first run and draw): {build * 1e3:.0f} ms")
    for name, times in per_control.items():
        print(f"  {name:<17} median {statistics.median(times):6.1f} ms, "
              f"worst {max(times):6.1f} ms  ({len(times)} changes)")
    print(f"all {len(everything)} changes: median {statistics.median(everything):.1f} ms, "
          f"worst {max(everything):.1f} ms")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
