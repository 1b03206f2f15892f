"""Benchmark: DP-SGD (record level) and DP-FedAvg (client level) on the course's hospitals.

One DP-SGD epoch on the largest hospital (expected batch 32, Poisson sampling, per-record
clipping, noise), against one plain mini-batch SGD epoch on the same records; and 30
rounds of DP-FedAvg over the hospitals' records re-split into 500 clients, through
``fedlab.federated.run`` and through the dashboard's vectorised path.

Run: ``.venv/bin/python benchmarks/bench_dpsgd.py``
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

from fedlab import data, federated
from fedlab.models import logistic
from fedlab.privacy import DPFedAvg, dp_sgd


def timed(func, repeat=7):
    """Median wall time of ``func()`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times)


def main():
    hospitals = data.load_hospitals()
    largest = max(hospitals, key=lambda h: h.n_train)
    scaler = federated.combine([federated.feature_sums(largest.X_train)])
    X, y = scaler.transform(largest.X_train), largest.y_train
    theta = np.zeros(X.shape[1] + 1)
    q = 32 / len(y)

    rows = [
        (f"DP-SGD, 1 epoch, {largest.name} ({len(y)} records, q = 32/{len(y)}, "
         f"{round(1 / q)} steps)",
         timed(lambda: dp_sgd(theta, X, y, noise_multiplier=1.0, clip_norm=1.0, batch_size=32,
                              epochs=1, random_state=0))),
        ("plain mini-batch SGD, 1 epoch, same records (batch 32)",
         timed(lambda: logistic.sgd(theta, X, y, epochs=1, batch_size=32, random_state=0))),
    ]

    pooled = combine_all(hospitals)
    parts = data.partition_iid(len(pooled[1]), 500, random_state=0)
    clients = [federated.Client(pooled[0][p], pooled[1][p], name=str(k))
               for k, p in enumerate(parts)]

    many = [federated.Client(pooled[0][p], pooled[1][p], name=str(k)) for k, p in
            enumerate(data.partition_iid(len(pooled[1]), 1000, random_state=0))]

    def strategy():
        return DPFedAvg(noise_multiplier=1.0, clip_norm=0.5, sample_rate=0.05, n_params=12)

    rows += [
        ("DP-FedAvg, 500 clients, q = 0.05, 30 rounds, federated.run (vectorized clients)",
         timed(lambda: federated.run(clients, rounds=30, strategy=strategy(), batch_size=None,
                                     lr=0.5, standardize=False, random_state=0), repeat=5)),
        ("DP-FedAvg, 1,000 clients, q = 1, 100 rounds (the dashboard's heaviest setting)",
         timed(lambda: federated.run(
             many, rounds=100, batch_size=None, lr=0.5, standardize=False, random_state=0,
             strategy=DPFedAvg(noise_multiplier=1.0, clip_norm=0.5, sample_rate=1.0)),
             repeat=3)),
    ]
    print(f"# fedlab DP training benchmark: {describe()}")
    width = max(len(name) for name, _ in rows)
    print(f"{'operation':<{width}}  {'median ms':>10}")
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:>10.2f}")


def combine_all(hospitals):
    """Every hospital's training records, standardized together, pooled."""
    scaler = federated.combine([federated.feature_sums(h.X_train) for h in hospitals])
    return (np.vstack([scaler.transform(h.X_train) for h in hospitals]),
            np.concatenate([h.y_train for h in hospitals]))



if __name__ == "__main__":
    main()
