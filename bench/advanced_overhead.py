"""Benchmark: what `watch --advanced` adds to the stream thread, in-process.

`bench/watch_ingest.py` times whole `watch` runs with and without
`--advanced`; on a busy machine their difference drowns in the noise of
the subprocesses and the loopback server. This isolates the part that runs
on the stream thread: `JobView.apply()` of N parsed `training.log` events,
without observers and with `stats.LiveStats.observe` as the loss observer
(what `--advanced` registers), alternated, median of several runs. It also
times what the render thread pays: `LiveStats.summaries()` after k new
points on a series of n (the fold), which the throttle keeps to ~10% of
the time however long the run.

    python bench/advanced_overhead.py            # N=100,000, 7 runs
    python bench/advanced_overhead.py -n 1000000 -r 3
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arkor_cli_studio.model import Event, parse_event  # noqa: E402
from arkor_cli_studio.stats import LiveStats  # noqa: E402
from arkor_cli_studio.watching import JobView  # noqa: E402


def events(n: int) -> list[Event]:
    out = []
    for i in range(1, n + 1):
        data = {
            "type": "training.log",
            "jobId": "j",
            "timestamp": "2026-03-01T12:00:00Z",
            "step": i,
            "loss": 1.0 / i + random.random() * 0.01,
            "learningRate": 2e-4,
            "epoch": i / n,
        }
        if i % 10 == 0:
            data["evalLoss"] = 1.2 / i
        event = parse_event("training.log", str(i), json.dumps(data))
        assert event is not None
        out.append(event)
    return out


def ingest(evs: list[Event], *, advanced: bool) -> float:
    view = JobView("j")
    if advanced:
        view.loss_observers.append(LiveStats().observe)
    apply = view.apply
    started = time.perf_counter()
    for event in evs:
        apply(event)
    return time.perf_counter() - started


def fold_cost(n: int, k: int) -> float:
    live = LiveStats(max_share=1.0)
    for _ in range(n):
        live.observe(random.random(), None)
    live.summaries(fresh=True)
    for _ in range(k):
        live.observe(random.random(), None)
    started = time.perf_counter()
    live.summaries(fresh=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("-r", "--runs", type=int, default=7)
    args = parser.parse_args()
    evs = events(args.n)
    plain: list[float] = []
    observed: list[float] = []
    for _ in range(args.runs):  # alternated, so drifts in machine load hit both
        plain.append(ingest(evs, advanced=False))
        observed.append(ingest(evs, advanced=True))
    a, b = statistics.median(plain), statistics.median(observed)
    print(f"JobView.apply of {args.n:,} training.log events, median of {args.runs} runs")
    print(f"  no observer            {a:7.3f} s  {a / args.n * 1e6:6.2f} µs/event")
    print(f"  LiveStats.observe      {b:7.3f} s  {b / args.n * 1e6:6.2f} µs/event")
    print(f"  added per event        {(b - a) / args.n * 1e6:6.2f} µs  (ratio {b / a:.3f})")
    print("\nLiveStats.summaries() on the render thread after k new points (ms)")
    print(f"  {'n':>9} {'k=10':>8} {'k=100':>8} {'k=2000':>8}")
    for n in (10_000, 100_000, 1_000_000):
        cells = " ".join(f"{fold_cost(n, k) * 1000:8.2f}" for k in (10, 100, 2000))
        print(f"  {n:>9,} {cells}")


if __name__ == "__main__":
    main()
