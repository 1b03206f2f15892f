"""Benchmark lesson 12: private set intersection, vertical training, Paillier-encrypted residuals.

Run: ``python benchmarks/bench_vertical.py [--sizes 10000 100000] [--repeats 3]
[--key-bits 2048] [--batch 50]``.

1. ECDH-PSI (OpenMined, exact: the server's blinded set sent raw) between two parties of
   ``n`` identifiers each, half of them shared: wall time (median of ``--repeats``) and
   the bytes of the three messages, with the CPU time of this process (what a loaded
   machine does not inflate). Targets: <= 5 s at 10,000, <= 40 s at 100,000.
2. Vertical logistic regression on the five shipped hospitals cut into a hospital (nine
   columns) and a registry (smoker, diabetes and the outcome), full-batch gradient
   descent to a gradient norm below 1e-6: time, steps, bytes, and the test AUC against
   the same descent on the joined table; FedAvg's bytes a round for comparison.
3. The encrypted variant (residuals under a coordinator's ``--key-bits`` Paillier key):
   one step on a batch of ``--batch`` patients, timed by part, checked against the plain
   step, and what a full-batch step and the whole run of (2) would cost.
"""

import argparse
import statistics
import time

import numpy as np
from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

from fedlab import data, vertical
from fedlab.metrics import roc_auc

REGISTRY = ("smoker", "diabetes")


def bench_psi(n, repeats):
    shared = n // 2
    client = [f"patient-{i:07d}" for i in range(n)]
    server = [f"patient-{i:07d}" for i in range(n - shared, 2 * n - shared)]
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = vertical.private_intersection(client, server)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    assert result.size == shared
    return statistics.median(times), statistics.median(cpu), result.nbytes


def shipped_study():
    hospitals = data.load_hospitals()
    names = list(hospitals[0].feature_names)
    reg = [names.index(c) for c in REGISTRY]
    hosp = [j for j in range(len(names)) if j not in reg]

    def cut(split):
        X = np.vstack([getattr(h, f"X_{split}") for h in hospitals])
        y = np.concatenate([getattr(h, f"y_{split}") for h in hospitals])
        return {"hospital": X[:, hosp], "registry": X[:, reg]}, y

    (train, y), (test, y_test) = cut("train"), cut("test")
    parties = [vertical.Party("hospital", train["hospital"], [names[j] for j in hosp]),
               vertical.Party("registry", train["registry"], list(REGISTRY), y=y)]
    return parties, test, y_test, len(names)


def bench_training(parties, test, y_test, n_features):
    start = time.perf_counter()
    fitted = vertical.train(parties, steps=20_000, lr=1.0, tol=1e-6)
    seconds = time.perf_counter() - start
    joined = np.column_stack([p.X for p in parties])
    theta = vertical.gradient_descent(joined, parties[1].y, steps=fitted.steps, lr=1.0)
    auc = roc_auc(y_test, fitted.decision_function(test))
    gap = float(np.abs(fitted.params - theta).max())
    fedavg_round = 2 * 5 * (n_features + 1) * vertical.FLOAT_BYTES  # 5 sites, up and down
    return fitted, seconds, auc, gap, fedavg_round


def bench_encrypted(parties, fitted_steps, key_bits, batch):
    start = time.perf_counter()
    coordinator = vertical.Coordinator(key_bits=key_bits)
    keygen = time.perf_counter() - start
    small = [vertical.Party(p.name, p.X[:batch], p.feature_names,
                            y=None if p.y is None else p.y[:batch]) for p in parties]
    plain = vertical.train(small, steps=1)
    residual = np.random.default_rng(0).uniform(-1, 1, batch)
    start = time.perf_counter()
    encrypted = coordinator.public_key_encrypt(residual)
    encrypt = (time.perf_counter() - start) / batch
    block = np.random.default_rng(1).normal(size=(batch, len(parties[0].feature_names)))
    start = time.perf_counter()
    vertical.encrypted_block_gradient(coordinator, block, encrypted)
    gradient = time.perf_counter() - start  # products, sums, masks, decryptions
    start = time.perf_counter()
    step = vertical.train(small, steps=1, coordinator=coordinator)
    whole_step = time.perf_counter() - start
    gap = float(np.abs(step.params - plain.params).max())
    n, d = parties[0].n_patients, len(parties[0].feature_names)
    per_value_gradient = gradient / (batch * d)
    full_step = n * encrypt + n * d * per_value_gradient
    return {"keygen": keygen, "encrypt": encrypt, "gradient": gradient,
            "whole_step": whole_step, "gap": gap, "bytes": step.nbytes_per_step[0],
            "plain_bytes": plain.nbytes_per_step[0], "full_step": full_step,
            "full_run": full_step * fitted_steps, "n": n, "d": d}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3,
                        help="PSI runs per size below 100,000 (one at 100,000 and above)")
    parser.add_argument("--key-bits", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    print(describe())
    import os

    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    for n in args.sizes:
        seconds, cpu, nbytes = bench_psi(n, args.repeats if n < 100_000 else 1)
        print(f"PSI {n:,} x {n:,} ({n // 2:,} shared): {seconds:.2f} s wall, {cpu:.2f} s CPU "
              f"of this process; bytes setup "
              f"{nbytes['setup']:,}, request {nbytes['request']:,}, "
              f"response {nbytes['response']:,}")
    parties, test, y_test, n_features = shipped_study()
    fitted, seconds, auc, gap, fedavg_round = bench_training(parties, test, y_test,
                                                             n_features)
    print(f"vertical training, {parties[0].n_patients:,} linked patients: {fitted.steps} "
          f"steps in {seconds:.3f} s; test AUC {auc:.4f}; largest difference from "
          f"centralized descent {gap:.1e}")
    print(f"  bytes a step {fitted.nbytes_per_step[0]:,}, in all "
          f"{sum(fitted.nbytes_per_step):,}; FedAvg on the five hospitals: "
          f"{fedavg_round:,} bytes a round")
    cost = bench_encrypted(parties, fitted.steps, args.key_bits, args.batch)
    print(f"Paillier {args.key_bits}-bit: key generation {cost['keygen']:.2f} s; "
          f"encryption {1000 * cost['encrypt']:.2f} ms a value")
    print(f"  one party's gradient on {args.batch} encrypted residuals x {cost['d']} "
          f"columns (products, masks, decryptions): {cost['gradient']:.2f} s")
    print(f"  a whole encrypted step on {args.batch} patients: {cost['whole_step']:.2f} s, "
          f"{cost['bytes']:,} bytes (plain {cost['plain_bytes']:,}); largest difference "
          f"from the plain step {cost['gap']:.1e}")
    print(f"  estimated full-batch step on {cost['n']:,} patients: "
          f"{cost['full_step']:.0f} s; the {fitted.steps}-step run: "
          f"{cost['full_run'] / 3600:.1f} hours")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
