"""Benchmark: latency of the federated k-means dashboard (lesson 09) when a control changes.

Builds the dashboard once, then moves every control through its range, including the
heaviest settings its controls allow (k = 8, 50 sites, noise on: every site clips, noises
and sends its sums for 10 rounds), and reports the median and worst wall time of a change
(re-running federated k-means and redrawing the PNG). Targets: median under 250 ms, worst
under 500 ms on 2 cores.

Run: ``.venv/bin/python benchmarks/bench_widget_analytics.py``
"""

from __future__ import annotations

import statistics
import time

from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

from fedlab.widgets.analytics import MAX_K, SITE_COUNTS, KMeansDashboard

MOVES = [
    ("k", [2, 3, 5, 6, 7, MAX_K]),
    ("n_sites", list(SITE_COUNTS)),
    ("noise_multiplier", [0.25, 1.0, 2.0, 3.0, 0.5, 0.0]),
    ("k", [2, 4, MAX_K]),
]
HEAVIEST = {"k": MAX_K, "n_sites": max(SITE_COUNTS), "noise_multiplier": 3.0}


def main():
    start = time.perf_counter()
    dashboard = KMeansDashboard()
    build = time.perf_counter() - start
    per_control, everything = {}, []
    for name, values in MOVES:
        control = getattr(dashboard, name)
        for value in values:
            control.value = value
            per_control.setdefault(name, []).append(1e3 * dashboard.last_seconds)
            everything.append(1e3 * dashboard.last_seconds)
    for name, value in HEAVIEST.items():
        getattr(dashboard, name).value = value
    heaviest = []
    for value in (0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0) * 3:  # new noise: a new noisy run each
        dashboard.noise_multiplier.value = value
        heaviest.append(1e3 * dashboard.last_seconds)
    everything += heaviest
    print(f"# federated k-means dashboard latency: {describe()}")
    print(f"build (load data, projection, pooled k-means, first run and draw): "
          f"{build * 1e3:.0f} ms")
    for name, times in per_control.items():
        print(f"  {name:<17} median {statistics.median(times):6.1f} ms, "
              f"worst {max(times):6.1f} ms  ({len(times)} changes)")
    print(f"  heaviest settings (k={MAX_K}, {max(SITE_COUNTS)} sites, noise on): median "
          f"{statistics.median(heaviest):.1f} ms, worst {max(heaviest):.1f} ms "
          f"({len(heaviest)} changes)")
    print(f"all {len(everything)} changes: median {statistics.median(everything):.1f} ms, "
          f"worst {max(everything):.1f} ms")


if __name__ == "__main__":
    main()
