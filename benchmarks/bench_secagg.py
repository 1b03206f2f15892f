"""Benchmark one secure aggregation round (Bonawitz et al. 2017): time and bytes per client.

Run: ``python benchmarks/bench_secagg.py [--clients 100] [--dim 10000] [--dropout 0.1]``.
Default: 100 clients, 10,000 parameters, 10 % dropouts (half before masking,
half after), threshold 2n/3, 32-bit ring. Prints the total time, the time in each
phase, and the bytes each client sends and receives, for the honest-but-curious
version and for the actively secure one (signed keys, ConsistencyCheck).

Then FedAvg on the five shipped hospitals (12 parameters), plain and through
:class:`fedlab.secagg.SecureFedAvg`, ``--rounds`` rounds (default 20): time per run,
bytes per round, and how far apart the two final models are.
"""

import argparse
import time
import warnings

import numpy as np
from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

from fedlab import data, federated
from fedlab.secagg import (
    PublicKeyInfrastructure,
    SecAggClient,
    SecAggServer,
    SecureFedAvg,
    decode_sum,
    encode,
    secure_sum,
)


def run(n_clients=100, dim=10_000, dropout=0.1, threshold=None, bits=32, seed=0,
        authenticated=False):
    """Run one round phase by phase; return timings (s) and per-client bytes."""
    threshold = threshold or -(-2 * n_clients // 3)
    rng = np.random.default_rng(seed)
    vectors = rng.uniform(-1, 1, size=(n_clients, dim))
    n_drop = int(round(dropout * n_clients))
    drop = rng.choice(n_clients, size=n_drop, replace=False)
    before, after = set(drop[: n_drop // 2].tolist()), set(drop[n_drop // 2 :].tolist())
    streams = rng.spawn(n_clients)
    common = dict(n_clients=n_clients, threshold=threshold, dim=dim, bits=bits)
    up, down, times = np.zeros(n_clients, int), np.zeros(n_clients, int), {}

    def send(messages):
        for m in messages:
            up[m.client_id] += len(m.to_bytes())
        return messages

    start = time.perf_counter()
    encoded = encode(vectors, clip_range=1.0, bits=bits, n_clients=n_clients)
    pki = PublicKeyInfrastructure() if authenticated else None
    identity = [dict(pki=pki, signing_key=pki.enroll(u, random_state=streams[u]))
                if authenticated else {} for u in range(n_clients)]
    clients = [SecAggClient(u, random_state=streams[u], **identity[u], **common)
               for u in range(n_clients)]
    server = SecAggServer(pki=pki, **common)
    t = time.perf_counter()
    broadcast = server.receive_keys(send([c.advertise_keys() for c in clients]))
    down += len(broadcast.to_bytes())
    times["0 AdvertiseKeys"] = time.perf_counter() - t
    t = time.perf_counter()
    routed = server.receive_shares(send([c.share_keys(broadcast) for c in clients]))
    for v, msg in routed.items():
        down[v] += len(msg.to_bytes())
    times["1 ShareKeys"] = time.perf_counter() - t
    t = time.perf_counter()
    masked = [clients[u].masked_input(encoded[u], routed[u])
              for u in range(n_clients) if u not in before]
    survivors = server.receive_masked_inputs(send(masked))
    times["2 MaskedInputCollection"] = time.perf_counter() - t
    t = time.perf_counter()
    responders = [u for u in survivors.survivors if u not in after]
    down[responders] += len(survivors.to_bytes())
    if authenticated:
        survivors = server.receive_consistency_checks(
            send([clients[u].consistency_check(survivors) for u in responders]))
        down[responders] += len(survivors.to_bytes())
        times["3 ConsistencyCheck"] = time.perf_counter() - t
        t = time.perf_counter()
    unmask = send([clients[u].unmask(survivors) for u in responders])
    times["4a Unmasking (clients)"] = time.perf_counter() - t
    t = time.perf_counter()
    ring_sum = server.receive_unmask_shares(unmask)
    times["4b Unmasking (server)"] = time.perf_counter() - t
    total = decode_sum(ring_sum, n_summands=len(survivors.survivors), clip_range=1.0,
                       bits=bits, n_clients=n_clients)
    times["total"] = time.perf_counter() - start
    expected = vectors[list(survivors.survivors)].sum(axis=0)
    error = float(np.max(np.abs(total - expected)))
    return dict(times=times, up=up, down=down, error=error, threshold=threshold,
                n_before=len(before), n_after=len(after))


def fedavg_comparison(rounds=20, repeats=3, seed=0):
    """Plain FedAvg vs FedAvg through secure aggregation on the hospitals; times and bytes."""
    hospitals = data.load_hospitals()
    report = {}
    for label, make in (("plain", lambda: "fedavg"), ("secure", SecureFedAvg)):
        times = []
        for _ in range(repeats):
            clients = [federated.Client.from_hospital(h) for h in hospitals]
            strategy = make()
            start = time.perf_counter()
            history = federated.run(clients, rounds=rounds, strategy=strategy,
                                    random_state=seed)
            times.append(time.perf_counter() - start)
        final = federated.run([federated.Client.from_hospital(h) for h in hospitals],
                              rounds=rounds, strategy=make(), test_sets=hospitals,
                              random_state=seed)
        report[label] = dict(seconds=min(times), params=history.params,
                             auc=final.final.pooled["auc"],
                             bytes_up=history.final.bytes_up,
                             bytes_down=(strategy.log[-1]["bytes_down"]
                                         if label == "secure" else None))
    report["max_param_diff"] = float(np.abs(report["secure"]["params"]
                                            - report["plain"]["params"]).max())
    return report



def main():
    """Parse the arguments, run once, print a report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--dim", type=int, default=10_000)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--threshold", type=int, default=None)
    parser.add_argument("--bits", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=20,
                        help="FedAvg rounds of the hospital comparison")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    reports = {}
    for authenticated in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            reports[authenticated] = report = run(args.clients, args.dim, args.dropout,
                                                  args.threshold, args.bits,
                                                  authenticated=authenticated)
        name = "actively secure" if authenticated else "honest-but-curious"
        print(f"{name}: {args.clients} clients x {args.dim} parameters, threshold "
              f"{report['threshold']}, {report['n_before']} dropped before masking, "
              f"{report['n_after']} after, {args.bits}-bit ring")
        for phase, seconds in report["times"].items():
            print(f"  {phase:<26} {seconds:7.3f} s")
        raw = 4 * args.dim if args.bits <= 32 else 8 * args.dim
        for name in ("up", "down"):
            b = report[name][report[name] > 0]
            print(f"  bytes {name:<4} per client: median {np.median(b):,.0f}, max "
                  f"{b.max():,.0f} (the masked vector alone: {raw:,})")
        print(f"  max |secure sum - float sum| = {report['error']:.2e}")
    hbc, active = reports[False], reports[True]
    print(f"active overhead: {active['times']['total'] - hbc['times']['total']:+.3f} s "
          f"({active['times']['total'] / hbc['times']['total'] - 1:+.0%}), "
          f"{np.median(active['up'][active['up'] > 0] - hbc['up'][hbc['up'] > 0]):+,.0f} "
          "bytes up per client (median)")
    vectors = np.random.default_rng(1).uniform(-1, 1, size=(args.clients, args.dim))
    n_drop = int(round(args.dropout * args.clients))
    start = time.perf_counter()
    secure_sum(vectors, threshold=report["threshold"], bits=args.bits, random_state=1,
               dropped_before_masking=range(n_drop // 2), dropped=range(n_drop // 2, n_drop))
    print(f"  secure_sum() end to end, same setting: {time.perf_counter() - start:.3f} s")

    fed = fedavg_comparison(rounds=args.rounds)
    plain, secure = fed["plain"], fed["secure"]
    print(f"FedAvg on the 5 hospitals (12 parameters), {args.rounds} rounds, best of 3:")
    print(f"  plain FedAvg            {plain['seconds']:7.3f} s   "
          f"{plain['bytes_up']:>6,} bytes up per round")
    print(f"  with SecureFedAvg       {secure['seconds']:7.3f} s   "
          f"{secure['bytes_up']:>6,} bytes up, {secure['bytes_down']:,} protocol bytes down "
          f"per round")
    print(f"  per round: {1e3 * (secure['seconds'] - plain['seconds']) / args.rounds:.1f} ms "
          "of secure aggregation")
    print(f"  max |theta_secure - theta_plain| = {fed['max_param_diff']:.1e}; test AUC "
          f"{plain['auc']:.4f} vs {secure['auc']:.4f}")


if __name__ == "__main__":
    main()
