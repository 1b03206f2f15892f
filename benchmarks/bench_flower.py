"""Lesson 10 on Flower: time to a ready federation, a 3-site 5-round study, where time goes.

Run: ``.venv/bin/python benchmarks/bench_flower.py`` (needs the ``flower`` extra). Starts
one SuperLink and three SuperNodes on localhost (the course's first three hospitals),
runs a train-only FedAvg study of 5 rounds (evaluation none), tears everything down,
and compares with the same study in-process (``federated.run``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe

from fedlab import data, federated
from fedlab.flower import Federation

SEED, ROUNDS = 2026, 5


def main():
    print(describe())
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    hospitals = data.load_hospitals()[:3]
    folder = data.default_data_dir()
    files = {h.name: (folder / f"{h.slug}_train.csv", folder / f"{h.slug}_test.csv")
             for h in hospitals}

    start = time.perf_counter()
    with Federation(files) as federation:
        ready = time.perf_counter() - start
        t0 = time.perf_counter()
        history = federation.run(rounds=ROUNDS, evaluate="none", random_state=SEED)
        study = time.perf_counter() - t0
        t1 = time.perf_counter()
    teardown = time.perf_counter() - t1
    total = time.perf_counter() - start
    per_round = [r.seconds for r in history.rounds[1:]]

    t0 = time.perf_counter()
    in_process = federated.run([federated.Client.from_hospital(h) for h in hospitals],
                               rounds=ROUNDS, random_state=SEED)
    local = time.perf_counter() - t0
    gap = abs(history.params - in_process.params).max()

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import flwr.supernode.cli.flwr_clientapp, "
                    "fedlab.flower.clientapp"], check=True)
    clientapp_imports = time.perf_counter() - t0

    print(f"federation ready (SuperLink + 3 SuperNodes): {ready:.1f} s")
    print(f"study, {ROUNDS} rounds train-only (flwr run -> result): {study:.1f} s; rounds "
          + ", ".join(f"{s:.1f}" for s in per_round) + " s")
    print(f"teardown: {teardown:.1f} s; launch to teardown: {total:.1f} s")
    print(f"the same study in-process (federated.run): {local * 1000:.0f} ms; "
          f"largest parameter difference {gap:.1e}")
    print(f"one ClientApp process's imports (flwr runtime + fedlab app): "
          f"{clientapp_imports:.1f} s")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
