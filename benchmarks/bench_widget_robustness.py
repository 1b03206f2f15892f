"""Benchmark: latency of the robust-aggregation dashboard (lesson 08) when a control changes.

Builds the dashboard once, then walks every control (population, number of attackers,
attack, defence) through its values, each change a fresh run (the dashboard's cache is
cleared), and reports the median and worst wall time of a change (training the run and
redrawing the PNG), overall and at the heaviest settings (50 clients, 24 attackers).
Targets: median <= 250 ms a change, <= 500 ms at the heaviest settings, on 2 cores.

Run: ``.venv/bin/python benchmarks/bench_widget_robustness.py``
"""

from __future__ import annotations

import statistics
import time

from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

from fedlab.widgets import robustness
from fedlab.widgets.robustness import ATTACK_SETTINGS, DEFENCES, RobustnessDashboard


def _change(dashboard, control, value):
    robustness._run.cache_clear()
    robustness._run(dashboard, dashboard.population.value, 0,
                    next(iter(ATTACK_SETTINGS)), "FedAvg (no defence)")  # clean reference
    getattr(dashboard, control).value = value
    return 1e3 * dashboard.last_seconds


def main():
    start = time.perf_counter()
    dashboard = RobustnessDashboard()
    build = time.perf_counter() - start
    typical, heaviest = [], []
    for population, counts in (("5 hospitals", (1, 2, 4)), ("50 clients", (1, 10, 24))):
        dashboard.population.value = population
        for attack in ATTACK_SETTINGS:
            _change(dashboard, "attack", attack)
            for m in counts:
                _change(dashboard, "n_malicious", m)
                for defence in DEFENCES:
                    ms = _change(dashboard, "defence", defence)
                    (heaviest if (population, m) == ("50 clients", 24) else typical).append(ms)
    print(f"# robust-aggregation dashboard latency: {describe()}")
    print(f"build (load data, first run and draw): {build * 1e3:.0f} ms")
    for label, times in (("typical settings", typical), ("heaviest (50 clients, 24 "
                                                         "malicious)", heaviest)):
        print(f"{label}: {len(times)} changes, median {statistics.median(times):.0f} ms, "
              f"p90 {statistics.quantiles(times, n=10)[-1]:.0f} ms, worst {max(times):.0f} ms")
    everything = typical + heaviest
    print(f"all {len(everything)} changes: median {statistics.median(everything):.0f} ms")


if __name__ == "__main__":
    main()
