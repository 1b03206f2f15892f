"""Benchmark of lesson 04: client drift per strategy, and the heterogeneity dashboard's latency.

Part 1: the five hospitals' pooled training records (3,824, standardized) dealt to 20
clients holding one label each (events on 5 smaller clients), mini-batch SGD (batch 32,
lr 0.05), E = 1 and E = 5, 100 rounds, every strategy with lesson 04's settings
(``fedlab.drift.STRATEGY_SETTINGS``). Reported: the first round from which the pooled
training loss stays within 0.01 of the pooled optimum, the final loss, and the time per
round (training plus one evaluation of the pooled loss), median of 3 runs.

Part 2: ``HeterogeneityDashboard``: every value of each control in a seeded random order,
timed from setting the value to the new PNG and status being ready; then every algorithm
at the heaviest settings (E = 10, strength 2). Targets: median <= 250 ms, heaviest <= 500 ms.

Run: ``.venv/bin/python benchmarks/bench_heterogeneity.py``
"""

from __future__ import annotations

import os
import time

import numpy as np
from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

from fedlab import data, drift, federated
from fedlab.federated.preprocessing import combine
from fedlab.models import logistic
from fedlab.widgets.heterogeneity import STRENGTHS, HeterogeneityDashboard

SEED = 2026
ROUNDS = 100


def drift_table():
    hospitals = data.load_hospitals()
    pooled = data.pool_sites([h.train for h in hospitals])
    X = combine([federated.feature_sums(pooled.X)]).transform(pooled.X)
    y = pooled.y
    parts = drift.partition_one_label(y, 20, n_positive=5, random_state=SEED)
    target = logistic.loss(logistic.fit(X, y, l2=1e-3), X, y) + 0.01
    print(f"one-label split: 20 clients, sizes {min(map(len, parts))}-{max(map(len, parts))}; "
          f"target = pooled optimum + 0.01 = {target:.4f}\n")
    print(f"{'strategy':11s} {'E':>2s} {'rounds to target':>17s} {'final loss':>10s} "
          f"{'ms / round':>10s}")
    for epochs in (1, 5):
        for name, settings in drift.STRATEGY_SETTINGS.items():
            times = []
            for _ in range(3):
                clients = [federated.Client(X[p], y[p], name=str(k)) for k, p in
                           enumerate(parts)]
                start = time.perf_counter()
                h = federated.run(clients, strategy=name, rounds=ROUNDS, local_epochs=epochs,
                                  lr=0.05, l2=1e-3, standardize=False,
                                  test_sets={"pooled": (X, y)}, random_state=SEED,
                                  **settings)
                times.append((time.perf_counter() - start) / ROUNDS)
            caught = drift.rounds_to_target(h, target)
            print(f"{name:11s} {epochs:2d} {str(caught) if caught is not None else 'never':>17s} "
                  f"{h.metric('loss')[-1]:10.4f} {np.median(times) * 1e3:10.2f}")


def widget_latency():
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    d = HeterogeneityDashboard(random_state=0)
    print(f"\ndashboard built in {(time.perf_counter() - start) * 1e3:.0f} ms")
    plan = [("heterogeneity", d.strength, list(rng.permutation(np.array(STRENGTHS))) * 2),
            ("algorithm", d.algorithm, list(rng.permutation(list(drift.STRATEGY_SETTINGS)))
             * 2),
            ("local epochs", d.local_epochs, [int(v) for v in rng.permutation(10) + 1] * 2)]
    everything, cpu_all = [], []
    print(f"{'control':14s} {'changes':>7s} {'median':>8s} {'p90':>8s} {'max':>8s} "
          f"{'CPU median':>10s} {'CPU max':>8s}")
    for label, control, values in plan:
        times, cpu = [], []
        for value in values:
            if control.value == value:
                continue
            before = time.process_time()
            control.value = value
            cpu.append((time.process_time() - before) * 1e3)
            times.append(d.last_seconds * 1e3)
        everything += times
        cpu_all += cpu
        print(f"{label:14s} {len(times):7d} {np.median(times):6.0f} ms "
              f"{np.percentile(times, 90):5.0f} ms {max(times):5.0f} ms "
              f"{np.median(cpu):7.0f} ms {max(cpu):5.0f} ms")
        d.strength.value, d.algorithm.value, d.local_epochs.value = 1.0, "fedavg", 1
    d.strength.value, d.local_epochs.value = STRENGTHS[-1], 10
    heavy, heavy_cpu = [], []
    for name in drift.STRATEGY_SETTINGS:
        before = time.process_time()
        d.algorithm.value = name
        heavy_cpu.append((time.process_time() - before) * 1e3)
        heavy.append(d.last_seconds * 1e3)
    print(f"{'all changes':14s} {len(everything):7d} {np.median(everything):6.0f} ms "
          f"{np.percentile(everything, 90):5.0f} ms {max(everything):5.0f} ms "
          f"{np.median(cpu_all):7.0f} ms {max(cpu_all):5.0f} ms")
    print(f"heaviest (E = 10, strength 2), per algorithm: wall median {np.median(heavy):.0f} ms, "
          f"max {max(heavy):.0f} ms; CPU median {np.median(heavy_cpu):.0f} ms, "
          f"max {max(heavy_cpu):.0f} ms")
    print("(CPU = process time of the Python side: what a change costs on an idle machine)")


def main():
    print(f"machine: {describe()}; load average {os.getloadavg()[0]:.1f}\n")
    drift_table()
    widget_latency()
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
