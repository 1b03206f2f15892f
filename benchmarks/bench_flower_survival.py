"""The exact federated Cox model on Flower: the shipped hospitals as real processes.

Run: ``.venv/bin/python benchmarks/bench_flower_survival.py`` (needs the ``flower``
extra). Starts one SuperLink and one SuperNode per shipped hospital (five) on localhost,
fits the exact federated Cox model of ``cvd_time``/``cvd_event`` (Newton's iterations,
one round of ``query.cox_terms`` messages a step, then one evaluation at each site),
tears everything down, and compares with the same fit in-process
(``fedlab.survival.compare_survival``'s ``federated Cox``, i.e. ``train --time``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe

from fedlab import data
from fedlab.flower import Federation
from fedlab.models import CoxPH
from fedlab.survival import CoxSite, compare_survival, fit_federated_cox
from fedlab.survival.study import default_horizon

SEED, L2 = 2026, 1e-3


def main():
    print(describe())
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    hospitals = data.load_hospitals(outcome="survival")
    folder = data.default_data_dir()
    files = {h.name: (folder / f"{h.slug}_train.csv", folder / f"{h.slug}_test.csv")
             for h in hospitals}
    horizon = default_horizon(hospitals)
    features = list(hospitals[0].feature_names)

    start = time.perf_counter()
    with Federation(files) as federation:
        ready = time.perf_counter() - start
        t0 = time.perf_counter()
        history = federation.run(fit="exact-cox", rounds=50, time="cvd_time",
                                 event="cvd_event", features=features, model=CoxPH(),
                                 horizon=horizon, l2=L2, random_state=SEED)
        study = time.perf_counter() - t0
        t1 = time.perf_counter()
    teardown = time.perf_counter() - t1
    total = time.perf_counter() - start

    t0 = time.perf_counter()
    local = compare_survival(hospitals, l2=L2, horizon=horizon)
    in_process = time.perf_counter() - t0
    standardizer = local["fits"]["federated Cox"][1]
    sites = [CoxSite(standardizer.transform(h.X_train), h.time_train, h.y_train)
             for h in hospitals]
    t0 = time.perf_counter()
    fit_federated_cox(sites, l2=L2)
    exact_in_process = time.perf_counter() - t0
    coef = local["fits"]["federated Cox"][0]
    gap = float(np.abs(history.params - coef).max())
    c_flower = history.final.pooled["c_index"]
    c_local = local["methods"]["federated Cox"]["pooled"]["c_index"]

    config = history.config
    rounds = config["message_rounds"]
    print(f"federation ready (SuperLink + {len(files)} SuperNodes): {ready:.1f} s")
    print(f"exact federated Cox on Flower (flwr run -> result): {study:.1f} s; "
          f"{config['n_iter']} Newton steps in {rounds} rounds of messages, then one "
          f"evaluation round ({study / (rounds + 2):.1f} s a round, setup included)")
    print(f"teardown: {teardown:.1f} s; launch to teardown: {total:.1f} s")
    print(f"the same fit in-process (fit_federated_cox): {exact_in_process * 1000:.0f} ms; "
          f"compare_survival (every method train reports): {in_process * 1000:.0f} ms")
    print(f"largest coefficient difference, Flower vs in-process: {gap:.1e}; typical-site "
          f"C-index {c_flower:.6f} vs {c_local:.6f}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
