"""Benchmark: exact federated Cox (6 sites x 1,000 patients x 40 features), federated Kaplan-Meier.

1. ``fedlab.survival.fit_federated_cox`` to convergence (steps <= 1e-10), Breslow and Efron
   ties, on six sites with their own baseline hazards and censoring; checks that the
   coefficients equal statsmodels' stratified ``PHReg`` on the pooled records (when
   statsmodels is installed) and times that reference too. Target: < 0.5 s in-process.
2. ``fedlab.survival.federated_kaplan_meier`` of the shipped hospitals' training records
   (``cvd_time``, ``cvd_event``): exact, and on a yearly grid with and without
   ``min_cell=5`` (rows agreed by the sites, or the secure sum merged).
3. Lesson 11's dashboard (``fedlab.widgets.survival``): the latency of a change, every
   control through its range, each change a new follow-up (nothing cached) at five
   sites. Targets: median <= 250 ms, worst <= 500 ms.

Run: ``.venv/bin/python benchmarks/bench_survival.py``
"""

from __future__ import annotations

import time

import numpy as np
from _machine import describe  # benchmarks/_machine.py: the script folder is on sys.path

from fedlab.survival import CoxSite, federated_kaplan_meier, fit_federated_cox, survival_at

N_SITES, N_PATIENTS, N_FEATURES = 6, 1_000, 40


def make_sites(seed=0):
    """Six sites: Weibull event times with a site-specific scale and shape, uniform censoring."""
    rng = np.random.default_rng(seed)
    beta = rng.normal(0, 0.15, N_FEATURES)
    sites = []
    for k in range(N_SITES):
        X = rng.normal(size=(N_PATIENTS, N_FEATURES))
        shape = 0.8 + 0.1 * k
        event_time = rng.weibull(shape, N_PATIENTS) * (4 + k) * np.exp(-X @ beta / shape)
        censor = rng.uniform(1, 10 + k, N_PATIENTS)
        observed = np.round(np.minimum(event_time, censor), 2)  # days-like ties
        sites.append(CoxSite(X, observed, (event_time <= censor).astype(int), name=f"s{k}"))
    return sites


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), float(np.min(times)), result


def bench_cox(repeats=5):
    sites = make_sites()
    events = sum(int(s.event.sum()) for s in sites)
    print(f"exact federated Cox: {N_SITES} sites x {N_PATIENTS} patients x {N_FEATURES} "
          f"features, {events} events")
    try:
        from statsmodels.duration.hazard_regression import PHReg
    except ImportError:
        PHReg = None
    pooled = (np.concatenate([s.time for s in sites]), np.vstack([s.X for s in sites]),
              np.concatenate([s.event for s in sites]).astype(float),
              np.repeat(np.arange(N_SITES), N_PATIENTS))
    for ties in ("breslow", "efron"):
        median, best, fit = _median_time(lambda t=ties: fit_federated_cox(sites, ties=t),
                                         repeats)
        line = (f"  {ties:8s} median {median:.3f} s (min {best:.3f} s, {repeats} runs), "
                f"{fit.n_iter} Newton steps")
        if PHReg is None:
            print(line + "; statsmodels not installed, no reference")
            continue
        t, X, e, strata = pooled
        start = time.perf_counter()
        ref = PHReg(t, X, status=e, strata=strata, ties=ties).fit()
        ref_time = time.perf_counter() - start
        gap = float(np.max(np.abs(fit.coef - ref.params)))
        print(line + f"; statsmodels PHReg(strata) {ref_time:.3f} s, max |coef gap| {gap:.1e}")


def bench_kaplan_meier(repeats=5):
    from fedlab.data import load_hospitals

    hospitals = load_hospitals(outcome="survival")
    sites = [(h.time_train, h.y_train) for h in hospitals]
    n = sum(len(t) for t, _ in sites)
    print(f"federated Kaplan-Meier of the {len(sites)} shipped hospitals' training records "
          f"({n} patients, {sum(int(e.sum()) for _, e in sites)} CVD events)")
    grid = np.arange(1.0, 16.0)
    runs = {"exact (union of event times)": lambda: federated_kaplan_meier(sites, None,
                                                                           min_cell=None),
            "yearly grid, no min_cell": lambda: federated_kaplan_meier(sites, grid,
                                                                       min_cell=None),
            "yearly grid, min_cell 5, rows agreed by the sites": lambda: federated_kaplan_meier(
                sites, grid, min_cell=5),
            "yearly grid, min_cell 5, secure sum then merged": lambda: federated_kaplan_meier(
                sites, grid, min_cell=5, secure=True, random_state=0)}
    for name, fn in runs.items():
        median, best, km = _median_time(fn, repeats)
        s10 = float(survival_at(km, 10.0)[0])
        print(f"  {name}: median {1000 * median:.1f} ms (min {1000 * best:.1f} ms), "
              f"{len(km.times)} rows, S(10 y) = {s10:.4f}, last row {km.times[-1]:g} y")


def bench_dashboard():
    """Latency of lesson 11's dashboard: every control through its range, uncached."""
    import statistics

    from fedlab.widgets.survival import FULL, METHODS, SurvivalDashboard

    start = time.perf_counter()
    dashboard = SurvivalDashboard()
    print(f"survival dashboard: built in {1e3 * (time.perf_counter() - start):.0f} ms")
    times = {}
    for method in METHODS:  # the heaviest corner: five sites, a new follow-up every change
        dashboard.method.value = method
        for site in dashboard.names:
            dashboard.site.value = site
            for end in (2.0, 4.5, 7.0, 9.5, 12.0, FULL):
                dashboard.end.value = end
                times.setdefault(method, []).append(1e3 * dashboard.last_seconds)
    for n in (1, 2, 3, 4, 5, 3, 1):
        dashboard.n_sites.value = n
        times.setdefault("number of sites", []).append(1e3 * dashboard.last_seconds)
    everything = [t for values in times.values() for t in values]
    for name, values in times.items():
        print(f"  {name:<34} median {statistics.median(values):6.1f} ms, worst "
              f"{max(values):6.1f} ms ({len(values)} changes)")
    print(f"  all {len(everything)} changes: median {statistics.median(everything):.1f} ms, "
          f"worst {max(everything):.1f} ms (targets: 250 and 500 ms)")


def main():
    print(describe())
    bench_cox()
    bench_kaplan_meier()
    bench_dashboard()


if __name__ == "__main__":
    main()
