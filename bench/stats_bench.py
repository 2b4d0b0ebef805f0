"""Loss statistics over 1,000,000 points: ours vs numpy, same data, same run.

    /work/venv/bin/python bench/stats_bench.py [--n 1000000] [--reps 7]

What is timed, each as the median of --reps runs (after one warm-up):

- batch: `stats.summarize(array('d'))` (one sort, exact-rounded moments)
  vs numpy (`mean`, `var(ddof=1)`, `std(ddof=1)`, `percentile([90, 95])`)
  on an ndarray of the same values;
- feed: `LossSeries.add()` point by point and one `summary()` (what the
  live panel does), vs numpy building the ndarray from a list and the same
  calls;
- live: a 1,000,000-point series gets 10 new points, then `summary()`
  (insertion into the sorted copy + a pairwise moment update), vs numpy
  recomputing from scratch.

Two data shapes: a noisy decreasing loss curve (what training produces:
long runs for the sort) and i.i.d. lognormal noise (the sort's worst case).
Every result is checked against numpy to 1e-9 relative before timing.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from array import array
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchlib

from arkor_cli_studio.stats import LossSeries, SeriesStats, summarize


def numpy_summary(values: np.ndarray) -> tuple[float, ...]:
    n = len(values)
    mean = float(values.mean())
    var = float(values.var(ddof=1))
    std = float(values.std(ddof=1))
    p90, p95 = np.percentile(values, [90, 95])
    return (mean, 1.96 * std / math.sqrt(n), std, var, float(p90), float(p95))


def ours_tuple(stats: SeriesStats) -> tuple[float, ...]:
    values = (stats.mean, stats.ci95_half_width, stats.stddev, stats.variance, stats.p90, stats.p95)
    assert all(v is not None for v in values)
    return tuple(float(v) for v in values if v is not None)


def check(ours: SeriesStats, values: np.ndarray) -> None:
    for a, b in zip(ours_tuple(ours), numpy_summary(values), strict=True):
        assert math.isclose(a, b, rel_tol=1e-9), (a, b)


def median_time(
    fn: Callable[[], object], reps: int, setup: Callable[[], None] | None = None
) -> float:
    if setup:
        setup()
    fn()  # warm-up
    times = []
    for _ in range(reps):
        if setup:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def datasets(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    steps = np.arange(1, n + 1)
    curve = 0.4 + 2.0 * np.exp(-steps / (n / 5)) + rng.normal(0, 0.05, n)
    return {
        "loss curve": curve,
        "iid lognormal": rng.lognormal(0.0, 0.5, n),
    }


def row(name: str, ours: float, theirs: float) -> str:
    return f"| {name} | {ours * 1000:,.1f} ms | {theirs * 1000:,.1f} ms | {ours / theirs:,.1f}x |"


def bench_shape(shape: str, values: np.ndarray, reps: int) -> None:
    n = len(values)
    as_array = array("d", values.tolist())
    as_list = values.tolist()
    check(summarize(as_array), values)

    ours = median_time(lambda: summarize(as_array), reps)
    theirs = median_time(lambda: numpy_summary(values), reps)
    print(row(f"{shape}: batch summary", ours, theirs))

    def feed() -> SeriesStats:
        series = LossSeries()
        add = series.add
        for point in as_list:
            add(point)
        return series.summary()

    check(feed(), values)
    ours = median_time(feed, reps)
    theirs = median_time(lambda: numpy_summary(np.array(as_list)), reps)
    print(row(f"{shape}: add() each point + summary", ours, theirs))

    head, tail = as_list[:-10], as_list[-10:]
    live: dict[str, LossSeries] = {}

    def live_setup() -> None:  # untimed: a series whose summary is up to date
        live["series"] = LossSeries(head)
        live["series"].summary()

    def live_update() -> SeriesStats:
        series = live["series"]
        for point in tail:
            series.add(point)
        return series.summary()

    live_setup()
    check(live_update(), values)
    ours = median_time(live_update, reps, setup=live_setup)
    theirs = median_time(lambda: numpy_summary(values), reps)
    print(row(f"{shape}: 10 new points on {n - 10:,}, summary", ours, theirs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--seed", type=int, default=20261129)
    args = parser.parse_args()
    benchlib.banner()

    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, n = {args.n:,}, "
        f"median of {args.reps} runs\n"
    )
    print("| what | ours | numpy | ours / numpy |")
    print("| --- | ---: | ---: | ---: |")
    for shape, values in datasets(args.n, args.seed).items():
        bench_shape(shape, values, args.reps)
    print(f"\n# {benchlib.load()} at end (no target: the issue asks for the comparison)")


if __name__ == "__main__":
    main()
