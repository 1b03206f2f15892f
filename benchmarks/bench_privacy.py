"""Speed of privacy accounting: what a widget or a training loop pays per query.

Run with ``python benchmarks/bench_privacy.py``. Cold calls compute the per-step RDP
curve; warm calls reuse the cached curve (the case of a slider that changes the number
of steps, or a training loop asking for epsilon every round).
"""

from __future__ import annotations

import statistics
import time

from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

from fedlab.privacy import PrivacyAccountant, epsilon, noise_multiplier_for
from fedlab.privacy.renyi import _rdp_one_step

DELTA = 1e-5


def timed(func, *, repeat=5, before=None):
    """Median wall time of ``func()`` in milliseconds, over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        func()
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times)


def main():
    epsilon(
        noise_multiplier=1.0, sample_rate=0.01, steps=10, delta=DELTA, method="pld"
    )  # import dp_accounting before timing
    cold = dict(before=_rdp_one_step.cache_clear)
    rows = [
        (
            "epsilon, RDP, cold (sigma=1, q=0.01, T=1000)",
            timed(
                lambda: epsilon(noise_multiplier=1.0, sample_rate=0.01, steps=1000, delta=DELTA),
                **cold,
            ),
        ),
        (
            "epsilon, RDP, warm (same sigma, q; any T)",
            timed(
                lambda: epsilon(noise_multiplier=1.0, sample_rate=0.01, steps=1000, delta=DELTA),
                repeat=1000,
            ),
        ),
        ("accountant.step + epsilon, warm (per round)", timed(_accountant_round, repeat=1000)),
        (
            "noise_multiplier_for, RDP, cold (eps=2, q=0.01, T=1000)",
            timed(
                lambda: noise_multiplier_for(
                    target_epsilon=2.0, sample_rate=0.01, steps=1000, delta=DELTA
                ),
                **cold,
            ),
        ),
        (
            "epsilon, PLD (sigma=1, q=0.01, T=1000)",
            timed(lambda: _uncached_pld(1.0, 0.01, 1000), repeat=3),
        ),
        (
            "epsilon, PLD (sigma=0.8, q=0.1, T=10000)",
            timed(lambda: _uncached_pld(0.8, 0.1, 10_000), repeat=3),
        ),
        (
            "noise_multiplier_for, PLD, tol=1e-3 (eps=2, q=0.01, T=1000)",
            timed(lambda: _uncached_pld_search(), repeat=1),
        ),
    ]
    print(f"# fedlab.privacy benchmark: {describe()}")
    width = max(len(name) for name, _ in rows)
    print(f"{'operation':<{width}}  {'median ms':>10}")
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:>10.3f}")


_ACCOUNTANT = PrivacyAccountant()


def _accountant_round():
    _ACCOUNTANT.step(noise_multiplier=1.0, sample_rate=0.01, steps=10)
    _ACCOUNTANT.epsilon(DELTA)


def _uncached_pld(sigma, q, steps):
    from fedlab.privacy.accounting import _pld_epsilon

    _pld_epsilon.cache_clear()
    return epsilon(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=DELTA, method="pld")


def _uncached_pld_search():
    from fedlab.privacy.accounting import _pld_epsilon

    _pld_epsilon.cache_clear()
    return noise_multiplier_for(
        target_epsilon=2.0, sample_rate=0.01, steps=1000, delta=DELTA, method="pld", tol=1e-3
    )


if __name__ == "__main__":
    main()
