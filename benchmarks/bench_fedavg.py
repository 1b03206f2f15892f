"""Benchmark: FedAvg simulation, 20 clients x 1,000 records x 20 features, 50 rounds.

One local epoch of mini-batch SGD per round (batch 32, lr 0.1), every client every round.
Times ``fedlab.federated.run`` (training only, no evaluation) and checks that its accuracy
equals that of a plain reference loop written without fedlab; then times the whole
process in a fresh interpreter (start, ``import fedlab``, build the clients, train, score),
which is what Flower 1.42's simulation of the same workload (about 18 s on this machine,
issue 17) compares with. Prints the machine and the load average it ran under (other
work on the machine slows every figure: compare runs at the same load).
Targets: training <= 0.3 s, whole process <= 0.35 s at load < 1.

Run: ``.venv/bin/python benchmarks/bench_fedavg.py`` (it times the checkout it sits in)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's fedlab, whatever the venv's editable install

from fedlab import federated  # noqa: E402
from fedlab.metrics import evaluate  # noqa: E402

N_CLIENTS, N_RECORDS, N_FEATURES, ROUNDS, BATCH, LR = 20, 1_000, 20, 50, 32, 0.1
FLOWER_SECONDS = 18  # Flower 1.42's simulation of this workload here (issue 17)


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
    print(f"machine: {describe()}; load average {_load()}")
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


def whole_process(repeats=9):
    """Wall time of a fresh interpreter that imports fedlab, builds, trains and scores."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    times, loads = [], []
    for _ in range(repeats):
        loads.append(os.getloadavg()[0])
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", WHOLE], check=True, capture_output=True,
                       env=env, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    print(f"whole process (python start, import, build, train, score): median "
          f"{np.median(times):.3f} s (min {min(times):.3f} s, max {max(times):.3f} s, "
          f"{repeats} runs, load average {min(loads):.2f}-{max(loads):.2f}); Flower 1.42 "
          f"simulation of the same workload: about {FLOWER_SECONDS} s here, so "
          f"{FLOWER_SECONDS / np.median(times):.0f}x")


def _load():
    """The 1, 5 and 15 minute load averages, as one string."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"


if __name__ == "__main__":
    main()
    whole_process()
    print(f"load average at the end: {_load()}")
