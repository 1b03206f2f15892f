"""Benchmark: latency of the DP-FedAvg dashboard (lesson 06) when a control changes.

Builds the dashboard once, then moves every control through several values and reports
the median and worst wall time of a change (re-running DP-FedAvg and redrawing the PNG).
Target: median under 250 ms on 2 cores. Then the heaviest corner a learner can reach
(1,000 clients, sampling rate 1, 100 rounds), moving each control from there: target
median <= 250 ms and worst <= 500 ms.

Run: ``.venv/bin/python benchmarks/bench_widget_privacy.py``
"""

from __future__ import annotations

import statistics
import time

from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

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
    print(f"# DP-FedAvg dashboard latency: {describe()}")
    print(f"build (load data, fit the ceiling, first run and draw): {build * 1e3:.0f} ms")
    for name, times in per_control.items():
        print(f"  {name:<17} median {statistics.median(times):6.1f} ms, "
              f"worst {max(times):6.1f} ms  ({len(times)} changes)")
    print(f"all {len(everything)} changes: median {statistics.median(everything):.1f} ms, "
          f"worst {max(everything):.1f} ms")
    heavy = {"n_clients": 1000, "sample_rate": 1.0, "rounds": 100}
    print("heaviest corner: 1,000 clients, q = 1, 100 rounds")
    everything = []
    for name, values in MOVES.items():
        for control, value in heavy.items():
            getattr(dashboard, control).value = value
        control = getattr(dashboard, name)
        times = []
        for value in values:
            control.value = value
            times.append(1e3 * dashboard.last_seconds)
        everything += times
        print(f"  {name:<17} median {statistics.median(times):6.1f} ms, "
              f"worst {max(times):6.1f} ms  ({len(times)} changes)")
    print(f"all {len(everything)} heavy changes: median {statistics.median(everything):.1f} "
          f"ms, worst {max(everything):.1f} ms")



if __name__ == "__main__":
    main()
