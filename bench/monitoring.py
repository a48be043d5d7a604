"""Monitoring benchmarks (issue 5), each beside a baseline from the same run.

    .venv/bin/python bench/monitoring.py      (part of `make bench`)

Targets: back-calculation with 10,000 Monte Carlo draws for 1,000 samples ≤ 2 s; every detection
method over 1,000 series × 200 points ≤ 5 s in total; the prescription rules over 1,000,000
dispensing records ≤ 30 s. Pure algorithms: no database involved.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitoring.algorithms import pdmp, signals, wbe  # noqa: E402

METHODS = ["ears_c1", "ears_c2", "ears_c3", "cusum", "cdc", "farrington", "farrington_flexible"]


def line(name, value, unit, target, baseline_name, baseline):
    verdict = "ok" if target is None or value <= target else "OVER TARGET"
    target_text = f"≤ {target:g} s" if target is not None else ""
    print(f"{name:<46} {value:>9.2f} {unit:<3} {target_text:<8} {verdict:<11} | {baseline_name:<42} "
          f"{baseline:>9.2f} {unit}", flush=True)


def bench_monte_carlo():
    r = wbe.benchmark(n_samples=1_000, draws=10_000, repeat=3)
    line("WBE back-calc + Monte Carlo, 1,000 × 10,000", r["vectorised_s"], "s", 2,
         "plain-Python loop (1 sample × 1,000)", r["reference_extrapolated_s"])


def bench_signals(n_series=1_000, points=200):
    rng = np.random.default_rng(7)
    history_len = rng.integers(156, 261, n_series)
    data = []
    for i in range(n_series):
        n = int(history_len[i]) + points
        t = np.arange(n)
        mean = 3 + 1.5 * np.sin(2 * np.pi * t / 52)
        y = rng.poisson(mean).astype(float)
        data.append((y[: history_len[i]], y[history_len[i]:]))
    total = 0.0
    for method in METHODS:
        start = time.perf_counter()
        for history, series in data:
            signals.detect(method, history, series)
        elapsed = time.perf_counter() - start
        total += elapsed
        print(f"  {method:<22} {elapsed:6.2f} s", flush=True)
    start = time.perf_counter()
    for history, series in data:
        signals.ears_c1_reference(history, series)
    reference = time.perf_counter() - start
    line(f"all 7 detection methods, {n_series:,} series × {points}", total, "s", 5,
         "EARS C1 as a plain-Python loop (1 method)", reference)


def bench_pdmp():
    r = pdmp.benchmark(n_records=1_000_000, reference_records=20_000)
    assert r["known_flags_exact"] and r["reference_agrees"]
    line(f"P01–P05 over {r['records']:,} dispensing records", r["run_all_s"], "s", 30,
         "P01 alone, plain Python (extrapolated)", r["reference_p01_extrapolated_s"])
    print(f"  data generation {r['generate_s']:.2f} s (not counted); known flagged patients found exactly: "
          f"{r['known_flags_exact']}")


def main():
    print("Monitoring benchmarks (figure, target, verdict | baseline from the same run)")
    bench_monte_carlo()
    bench_signals()
    bench_pdmp()


if __name__ == "__main__":
    main()
