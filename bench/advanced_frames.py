"""`watch --advanced` on long runs: the longest gap between frames and memory per event.

    python bench/advanced_frames.py                      # N = 10k, 1M, 3M; 3 runs (~8 min)
    python bench/advanced_frames.py -n 10000 -n 300000 --runs 2
    python bench/advanced_frames.py --before REF         # + that commit's --advanced

For each N, a completed job of N `training.log` events is replayed from a
loopback server (64 KiB chunks) into the live view under a pseudo-terminal
(120x40), with and without `--advanced` (the same-run baseline), interleaved,
`--runs` times. Per run: the longest time between two redraws reaching the
terminal (from the first frame to the last; target at 3M events with
`--advanced`: <= 250 ms), and the exec'd process's peak RSS (VmHWM, sampled
every few ms). Memory per event is the peak's growth from the smallest N to
each N, over the events added (target at 3M: <= 16 B an event).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import benchlib
from watch_ingest import run_pty


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, action="append", help="events (repeatable)")
    parser.add_argument("-r", "--runs", type=int, default=3)
    parser.add_argument("--before", metavar="REF", help="also run this commit's --advanced")
    args = parser.parse_args()
    sizes = sorted({10_000, *(args.n or [1_000_000, 3_000_000])})
    benchlib.banner()
    py = sys.executable
    gaps: dict[tuple[str, int], list[float]] = {}
    peaks: dict[tuple[str, int], list[int]] = {}
    secs: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, benchlib.ReplayServer(ping_interval=60) as server:
        home, project = benchlib.make_project(Path(tmp), server.url)
        env = benchlib.clean_env(
            HOME=str(home), PYTHONPATH=str(benchlib.ROOT), TZ="UTC", LANG="C.UTF-8"
        )
        envs = {"ours": env}
        if args.before:
            tree = benchlib.export_tree(args.before, Path(tmp) / "before")
            envs["before"] = {**env, "PYTHONPATH": str(tree)}
        for n in sizes:
            benchlib.fill_training(server, f"job{n}", n)
            server.encoded(f"job{n}")
        cli = [py, "-m", "arkor_cli_studio", "-C", str(project), "--api-url", server.url]
        for n in sizes:
            job = f"job{n}"
            cases = {
                "watch (live)": (env, [*cli, "watch", job, "--no-notify"]),
                "watch --advanced": (env, [*cli, "watch", job, "--no-notify", "--advanced"]),
            }
            if args.before:
                cases["before: --advanced"] = (envs["before"], cases["watch --advanced"][1])

            def one(name: str, n: int = n, cases: dict = cases) -> None:
                case_env, argv = cases[name]
                run = run_pty(argv, case_env)
                gaps.setdefault((name, n), []).append(run.max_gap)
                peaks.setdefault((name, n), []).append(run.peak_kib)
                secs.setdefault((name, n), []).append(run.seconds)

            benchlib.interleaved(
                {name: (lambda name=name: one(name)) for name in cases},
                args.runs,
                warmup=0,
            )
            print(f"# N={n:,} done ({benchlib.load()})", flush=True)

    names = list(dict.fromkeys(name for name, _ in gaps))
    low, high = sizes[0], sizes[-1]
    print(f"\n## longest gap between frames, ms (median of {args.runs} runs; max in brackets)\n")
    print(f"{'command':22} " + " ".join(f"{f'{n:,} ev':>18}" for n in sizes))
    for name in names:
        cells = []
        for n in sizes:
            values = gaps[(name, n)]
            cells.append(f"{statistics.median(values) * 1000:8.0f} [{max(values) * 1000:5.0f}]")
        print(f"{name:22} " + " ".join(f"{c:>18}" for c in cells))
    print("\n## run time, s (median)\n")
    for name in names:
        cells = " ".join(f"{statistics.median(secs[(name, n)]):18.2f}" for n in sizes)
        print(f"{name:22} {cells}")
    print(f"\n## peak RSS, MiB (max of runs), and bytes per event added since {low:,}\n")
    for name in names:
        cells = []
        for n in sizes:
            peak = max(peaks[(name, n)])
            per = (peak - max(peaks[(name, low)])) * 1024 / (n - low) if n > low else 0.0
            cells.append(f"{peak / 1024:7.1f} {per:6.1f} B/ev")
        print(f"{name:22} " + " ".join(f"{c:>18}" for c in cells))
    gap = statistics.median(gaps[("watch --advanced", high)])
    per = (max(peaks[("watch --advanced", high)]) - max(peaks[("watch --advanced", low)])) * 1024
    per /= high - low
    print(
        f"\n--advanced at {high:,} events: longest gap {gap * 1000:.0f} ms (<= 250), "
        f"{per:.1f} B/event (<= 16)"
    )
    benchlib.closing(gap <= 0.25 and per <= 16, "frame gap <= 250 ms, <= 16 B/event")
    return 0


if __name__ == "__main__":
    sys.exit(main())
