"""Benchmark: update latency of lesson 03's FedAvg dashboard, control by control.

Builds ``FedAvgDashboard`` at its default settings (the five hospitals, 20 rounds, E = 1,
C = 1, weighted mean, lr 0.03, batch 32), then moves one control at a time through many
values (in a seeded random order) while the others stay at their defaults, and times each
change from setting the value to the new PNG and status being ready (the observer runs
synchronously, so this is the Python side of what a learner waits for; the browser adds a
round trip and the image decode). The number of clients is moved with the split set to
IID, since the slider is disabled for the five hospitals. Target: median < 250 ms.

Then the heaviest corner a learner can reach: every split at 50 clients (the hospitals at
5), E = 10, 50 rounds, C = 1, lr 1; from there each control is moved through its range
while the others stay at their heaviest. Target: median <= 250 ms, worst <= 500 ms; where
a run takes longer, the dashboard draws the curve as it grows (``first frame`` is when a
learner first sees it move).

Run: ``.venv/bin/python benchmarks/bench_widget_fedavg.py``
"""

from __future__ import annotations

import time

import numpy as np
from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

from fedlab import data
from fedlab.widgets.fedavg import LEARNING_RATES, PARTITIONS, FedAvgDashboard

TARGET_MS = 250
SEED = 0


def plan(rng):
    """(row label, control name, values to visit, setup) for each control."""
    def shuffled(values, repeats=1):
        return [v for _ in range(repeats) for v in rng.permutation(np.array(values, dtype=object))]

    fractions = [round(0.1 * k, 1) for k in range(1, 11)]
    return [
        ("partition (4 splits)", "partition", shuffled(list(PARTITIONS), 4), None),
        ("number of clients (IID)", "n_clients", shuffled(range(1, 51)),
         ("partition", "IID (records shuffled evenly)")),
        ("local epochs E", "local_epochs", shuffled(range(1, 11), 3), None),
        ("rounds", "rounds", shuffled(range(1, 51)), None),
        ("client fraction C", "client_fraction", shuffled(fractions, 3), None),
        ("average (weighted / plain)", "aggregate", ["mean", "weighted"] * 10, None),
        ("learning rate", "learning_rate", shuffled(LEARNING_RATES, 4), None),
    ]


def measure(dashboard, name, values):
    control = getattr(dashboard, name)
    rows = []
    for value in values:
        if control.value == value:
            continue  # not a change: no observer call
        start = time.perf_counter()
        control.value = value
        rows.append((time.perf_counter() - start, dashboard.last_timings["train"],
                     dashboard.last_timings["draw"]))
    return np.array(rows)


def main():
    hospitals = data.load_hospitals()
    start = time.perf_counter()
    dashboard = FedAvgDashboard(hospitals, random_state=SEED)
    built = time.perf_counter() - start
    defaults = {c: getattr(dashboard, c).value for c in (
        "partition", "n_clients", "local_epochs", "rounds", "client_fraction", "aggregate",
        "learning_rate")}
    rng = np.random.default_rng(SEED)

    print(f"machine: {describe()}")
    print(f"FedAvg dashboard of lesson 03, default settings; built (baselines, first run, "
          f"first full draw) in {built * 1e3:.0f} ms\n")
    header = (f"{'control':28s} {'changes':>7s} {'median':>8s} {'p90':>8s} {'max':>8s}"
              f" {'train':>8s} {'draw':>7s}")
    print(header + "\n" + "-" * len(header))
    everything = []
    for label, name, values, setup in plan(rng):
        if setup:
            getattr(dashboard, setup[0]).value = setup[1]
        rows = measure(dashboard, name, values)
        everything.append(rows[:, 0])
        total, train, draw = (rows[:, k] * 1e3 for k in range(3))
        print(f"{label:28s} {len(rows):7d} {np.median(total):6.0f} ms "
              f"{np.percentile(total, 90):5.0f} ms {total.max():5.0f} ms "
              f"{np.median(train):5.0f} ms {np.median(draw):4.0f} ms")
        for control, value in defaults.items():  # back to the defaults, untimed
            getattr(dashboard, control).value = value
    all_ms = np.concatenate(everything) * 1e3
    print("-" * len(header))
    print(f"{'all changes':28s} {len(all_ms):7d} {np.median(all_ms):6.0f} ms "
          f"{np.percentile(all_ms, 90):5.0f} ms {all_ms.max():5.0f} ms")
    verdict = "meets" if np.median(all_ms) < TARGET_MS else "MISSES"
    print(f"\nmedian {np.median(all_ms):.0f} ms {verdict} the target of < {TARGET_MS} ms "
          "(train = federated.run with per-round evaluation; draw = curves + PNG encode)")


HEAVY = {"n_clients": 50, "local_epochs": 10, "rounds": 50, "client_fraction": 1.0,
         "learning_rate": 1.0}


def heaviest(dashboard, rng):
    """Every control moved through its range from the heaviest corner, per split."""
    print("\nheaviest corner: 50 clients (5 hospitals), E = 10, 50 rounds, C = 1, lr 1")
    header = (f"{'split / control moved':44s} {'changes':>7s} {'median':>8s} {'max':>8s}"
              f" {'first frame':>12s}")
    print(header + "\n" + "-" * len(header))
    everything = []
    for split in PARTITIONS:
        dashboard.partition.value = split
        for control, value in HEAVY.items():
            getattr(dashboard, control).value = value
        rows = []
        for _label, name, values, _ in plan(rng):
            if name == "partition" or (name == "n_clients" and PARTITIONS[split] is None):
                continue
            control = getattr(dashboard, name)
            for value in values[:8]:
                if control.value == value:
                    continue
                start = time.perf_counter()
                control.value = value
                rows.append((time.perf_counter() - start,
                             dashboard.last_timings.get("first_frame") or np.nan))
            control.value = HEAVY.get(name, control.value)
        rows = np.array(rows)
        everything.append(rows[:, 0])
        first = rows[:, 1][np.isfinite(rows[:, 1])]
        first_text = f"{np.median(first) * 1e3:7.0f} ms" if len(first) else "   never slow"
        print(f"{split:44s} {len(rows):7d} {np.median(rows[:, 0]) * 1e3:6.0f} ms "
              f"{rows[:, 0].max() * 1e3:6.0f} ms {first_text}")
    all_ms = np.concatenate(everything) * 1e3
    print(f"{'all heavy changes':44s} {len(all_ms):7d} {np.median(all_ms):6.0f} ms "
          f"{all_ms.max():6.0f} ms")


if __name__ == "__main__":
    main()
    heaviest(FedAvgDashboard(data.load_hospitals(), random_state=SEED),
             np.random.default_rng(SEED))
