"""Benchmark: FedAvg simulation, 20 clients x 1,000 records x 20 features, 50 rounds.

One local epoch of mini-batch SGD per round (batch 32, lr 0.1), every client every round.
Times ``fedlab.federated.run`` (training only, no evaluation) and checks that its accuracy
equals that of a plain reference loop written without fedlab; then times the whole
process in a fresh interpreter (start, ``import fedlab``, build the clients, train, score),
which is what Flower's 37 s for the same workload on this machine compares with.
Targets: training <= 0.3 s, whole process <= 0.7 s.

Run: ``.venv/bin/python benchmarks/bench_fedavg.py``
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

from fedlab import federated
from fedlab.metrics import evaluate

N_CLIENTS, N_RECORDS, N_FEATURES, ROUNDS, BATCH, LR = 20, 1_000, 20, 50, 32, 0.1


def make_clients(n_clients=N_CLIENTS, seed=0):
    """Equal-sized clients drawn from one logistic model (the first draw of ``w`` is shared)."""
    w = np.random.default_rng(0).normal(size=N_FEATURES)
    rng = np.random.default_rng(seed + 1)
    data = []
    for _ in range(n_clients):
        X = rng.normal(size=(N_RECORDS, N_FEATURES))
        y = (rng.random(N_RECORDS) < 1 / (1 + np.exp(-(X @ w)))).astype(int)
        data.append((X, y))
    return data


def reference_fedavg(data, seed):
    """Textbook FedAvg written out plainly, as a learner would."""
    rng = np.random.default_rng(seed)
    theta = np.zeros(N_FEATURES + 1)
    for _ in range(ROUNDS):
        new = []
        for X, y in data:
            local = theta.copy()
            order = rng.permutation(len(y))
            for start in range(0, len(y), BATCH):
                idx = order[start:start + BATCH]
                p = 1 / (1 + np.exp(-(X[idx] @ local[:-1] + local[-1])))
                local[:-1] -= LR * X[idx].T @ (p - y[idx]) / len(idx)
                local[-1] -= LR * np.mean(p - y[idx])
            new.append(local)
        theta = np.mean(new, axis=0)  # equal sizes: weighted mean = plain mean
    return theta


def main(repeats=5):
    data = make_clients()
    test_X, test_y = make_clients(n_clients=1, seed=99)[0]
    times = []
    for r in range(repeats):
        clients = [federated.Client(X, y, name=f"c{k}") for k, (X, y) in enumerate(data)]
        t0 = time.perf_counter()
        history = federated.run(clients, rounds=ROUNDS, local_epochs=1, batch_size=BATCH,
                                lr=LR, standardize=False, random_state=r)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    ref = reference_fedavg(data, seed=0)
    ref_time = time.perf_counter() - t0
    ours, theirs = evaluate(history.params, test_X, test_y), evaluate(ref, test_X, test_y)
    print(f"machine: {describe()}")
    print(f"fedlab FedAvg, {N_CLIENTS} clients x {N_RECORDS} records x {N_FEATURES} features, "
          f"{ROUNDS} rounds: median {np.median(times):.3f} s (min {min(times):.3f} s, "
          f"{repeats} runs)")
    print(f"plain reference loop: {ref_time:.3f} s")
    print(f"test accuracy: fedlab {ours['accuracy']:.4f}, reference {theirs['accuracy']:.4f}; "
          f"AUC fedlab {ours['auc']:.4f}, reference {theirs['auc']:.4f}")


WHOLE = f"""
import numpy as np
from fedlab import federated
from fedlab.metrics import evaluate
w = np.random.default_rng(0).normal(size={N_FEATURES})
rng = np.random.default_rng(1)
clients = []
for k in range({N_CLIENTS} + 1):
    X = rng.normal(size=({N_RECORDS}, {N_FEATURES}))
    y = (rng.random({N_RECORDS}) < 1 / (1 + np.exp(-(X @ w)))).astype(int)
    clients.append(federated.Client(X, y, name=str(k)))
test = clients.pop()
history = federated.run(clients, rounds={ROUNDS}, batch_size={BATCH}, lr={LR},
                        standardize=False, random_state=0)
print(evaluate(history.params, test._X_raw, test._y)["auc"])
"""


def whole_process(repeats=5):
    """Wall time of a fresh interpreter that imports fedlab, builds, trains and scores."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", WHOLE], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    print(f"whole process (python start, import, build, train, score): median "
          f"{np.median(times):.3f} s (min {min(times):.3f} s, {repeats} runs); Flower 1.42 "
          f"simulation of the same workload: 37 s here, so {37 / np.median(times):.0f}x")


if __name__ == "__main__":
    main()
    whole_process()
